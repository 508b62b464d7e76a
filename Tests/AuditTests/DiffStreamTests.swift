@testable import Audit
import Diagnostics
import Engine
import Foundation
import RuleModel
import Survey
import Testing

/// A diff reads both sides at once, each on its own thread, and matches households as they come.
@Suite struct DiffStreamTests {
    static let repo = #filePath.components(separatedBy: "/Tests/")[0]
    static let thachHa = DiffSurvey(folder: repo + "/Fixtures/thach-ha-2024")

    static func side(asOf: String? = nil) throws -> DiffSide {
        DiffSide(rules: try AuditRules.load(root: repo + "/Rules", label: "Rules"), asOf: asOf.flatMap(CivilDate.init))
    }

    /// The stream gives every household of one side's pass, in the pass's order.
    @Test func streamGivesThePassInOrder() throws {
        let side = try Self.side()
        let diff = RuleDiff(base: side, head: side, surveys: [Self.thachHa])
        var direct: [(String, String)] = []
        try diff.pass(side, Self.thachHa) { id, snap, _, _ in direct.append((id, snap.status)) }
        let stream = SideStream(diff, side, Self.thachHa, chunkSize: 7, depth: 2)
        defer { stream.stop() }
        var streamed: [(String, String)] = []
        while let (id, snap) = try stream.next() { streamed.append((id, snap.status)) }
        #expect(direct.count == 2000)
        #expect(streamed.map(\.0) == direct.map(\.0) && streamed.map(\.1) == direct.map(\.1))
        // The end stays the end.
        #expect(try stream.next() == nil)
    }

    /// A survey that cannot be read fails on the stream's first household, with the reader's error.
    @Test func unreadableSurveyThrows() throws {
        let side = try Self.side()
        let missing = DiffSurvey(folder: "/nonexistent/povrules-survey")
        let diff = RuleDiff(base: side, head: side, surveys: [missing])
        let stream = SideStream(diff, side, missing)
        defer { stream.stop() }
        #expect(throws: DiagnosticList.self) { _ = try stream.next() }
        #expect(throws: DiagnosticList.self) { try diff.run() }
    }

    /// Stopping a stream that is blocked on a full queue ends its thread; nothing traps or hangs.
    @Test func stopEndsABlockedPass() throws {
        let side = try Self.side()
        let diff = RuleDiff(base: side, head: side, surveys: [Self.thachHa])
        for taken in [0, 1, 1500] {
            let stream = SideStream(diff, side, Self.thachHa, chunkSize: 16, depth: 2)
            for _ in 0..<taken { _ = try stream.next() }
            // Let the pass fill the queue and block.
            usleep(200_000)
            stream.stop()
        }
    }

    /// Matching as households come gives the figures of two whole passes: Thạch Hạ read twice,
    /// under the standard of 2022 and of 2027.
    @Test func matchedTwoSurveysLikeTwoPasses() throws {
        let base = try Self.side(asOf: "2026-12-31"), head = try Self.side(asOf: "2027-01-01")
        let report = try RuleDiff(base: base, head: head, surveys: [Self.thachHa, Self.thachHa], sampleSize: 3).run()
        #expect(report.households == 2 * 2000)
        var statuses: [String: Int] = [:], headStatuses: [String: Int] = [:]
        for s in [base, head] {
            let diff = RuleDiff(base: s, head: s, surveys: [Self.thachHa])
            try diff.pass(s, Self.thachHa) { _, snap, _, _ in
                if s.asOf == base.asOf { statuses[snap.status, default: 0] += 2 } else { headStatuses[snap.status, default: 0] += 2 }
            }
        }
        for (c, n) in statuses { #expect(report.baseCount(c) == n) }
        for (c, n) in headStatuses { #expect(report.headCount(c) == n) }
        #expect(report.statusChanged > 0 && report.sample.count == 3)
    }

    /// A household the reader rejected a row of (a member row, a repeated id) is handed on once:
    /// classified if it was, else as rejected, on every broken survey.
    @Test func everyHouseholdOnceOnBrokenSurveys() throws {
        let side = try Self.side()
        let root = Self.repo + "/Fixtures/surveys-invalid"
        var sawDuplicate = false
        for name in try FileManager.default.contentsOfDirectory(atPath: root).sorted() {
            let survey = DiffSurvey(folder: root + "/" + name)
            let diff = RuleDiff(base: side, head: side, surveys: [survey])
            var ids: [String] = []
            var statuses: [String: String] = [:]
            do {
                try diff.pass(side, survey) { id, snap, _, _ in ids.append(id); statuses[id] = snap.status }
            } catch { continue }  // a survey that cannot be read at all
            #expect(Set(ids).count == ids.count, "\(name): \(ids)")
            if name == "duplicate-household" {
                sawDuplicate = true
                // The first row of the repeated id is kept and classified, not also handed on as rejected.
                #expect(statuses.values.contains { $0 != "rejected" })
            }
        }
        #expect(sawDuplicate)
    }
}
