import Testing
import Diagnostics
@testable import Survey

/// The package root, found from this file's path.
let root: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

func shippedSchema() throws -> SurveySchema {
    do { return try SurveySchema.shipped(rulesRoot: root + "/Rules") } catch { Issue.record("\(error)"); throw error }
}

/// Reads a whole survey: the batches' records as comparable text, and the reader.
func readAll(_ households: String, _ members: String, mapping: HeaderMapping? = nil, batch: Int = 100) throws -> ([String], SurveyReader) {
    let schema = try shippedSchema()
    let reader = try SurveyReader(householdsPath: households, membersPath: members, schema: schema, mapping: mapping)
    var rows: [String] = []
    while let b = try reader.next(maxHouseholds: batch) {
        for h in 0..<b.households.count {
            rows.append(render(b.households, h))
            for m in b.memberRanges[h] { rows.append("  " + render(b.members, m) + " age=\(b.ageMonths[m])") }
        }
    }
    return (rows, reader)
}

func render(_ t: RecordTable, _ r: Int) -> String {
    var out: [String] = []
    for (f, spec) in t.fields.enumerated() {
        guard t.isPresent(f, r) else { continue }
        let v: String
        switch spec.type {
        case .text: v = t.text(f, r)!
        case .bool: v = "\(t.bool(f, r)!)"
        case .int: v = "\(t.int(f, r)!)"
        case .decimal: v = "\(t.decimal(f, r)!)"
        case .date, .birthDate: v = "\(t.date(f, r)!)"
        case .code: v = "#\(t.code(f, r)!)"
        case .codeSet: v = "set\(t.codeSet(f, r)!)"
        }
        out.append("\(spec.name)=\(v)")
    }
    return out.joined(separator: " ")
}

@Suite struct FixtureTests {
    @Test func thachHaReadsClean() throws {
        let dir = root + "/Fixtures/thach-ha-2024"
        let (rows, reader) = try readAll(dir + "/households.csv", dir + "/members.csv")
        for p in reader.problems.prefix(5) { Issue.record("\(p.diagnostic)") }
        #expect(reader.problems.isEmpty)
        #expect(reader.streaming)
        let c = reader.counts
        #expect(c.householdsRead == 2000)
        #expect(c.householdsAccepted == 2000)
        #expect(c.membersRead == c.membersAccepted)
        #expect(c.membersRead > 6000)
        #expect(rows.count == c.householdsRead + c.membersRead)
    }
}
