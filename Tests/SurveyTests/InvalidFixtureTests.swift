import Testing
import Diagnostics
@testable import Survey
#if canImport(Glibc)
import Glibc
#endif

/// Every problem a survey folder gives, as the report prints it, with paths relative to the folder.
func problemsText(_ dir: String) throws -> String {
    let schema = try shippedSchema()
    var lines: [String] = []
    do {
        let reader = try SurveyReader.open(householdsPath: dir + "/households.csv", membersPath: dir + "/members.csv",
                                           schema: schema, mapping: nil)
        while try reader.next(maxHouseholds: 1) != nil {}
        lines = reader.sortedProblems.map(\.diagnostic.description)
        let c = reader.counts
        #expect(c.householdsRead == c.householdsAccepted + c.householdsRejected)
        #expect(c.membersRead == c.membersAccepted + c.membersRejected)
    } catch let error as DiagnosticList {
        lines = error.diagnostics.map(\.description)
    }
    return lines.joined(separator: "\n").replacing(dir + "/", with: "")
}

func readText(_ path: String) -> String? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = fread(&buf, 1, 4096, f)
        if n <= 0 { break }
        out += buf[0..<n]
    }
    return String(decoding: out, as: UTF8.self)
}

func listDirectory(_ path: String) -> [String] {
    guard let d = opendir(path) else { return [] }
    defer { closedir(d) }
    var out: [String] = []
    while let e = readdir(d) {
        let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if !name.hasPrefix(".") { out.append(name) }
    }
    return out.sorted()
}

let invalidRoot = root + "/Fixtures/surveys-invalid"

@Suite struct InvalidFixtureTests {
    @Test(arguments: listDirectory(invalidRoot))
    func givesExpectedMessage(_ name: String) throws {
        let dir = invalidRoot + "/" + name
        let actual = try problemsText(dir)
        if getenv("SURVEY_WRITE_EXPECTED") != nil, let f = fopen(dir + "/expected.txt", "wb") {
            fputs(actual + "\n", f)
            fclose(f)
        }
        guard let expected = readText(dir + "/expected.txt") else {
            Issue.record("no expected.txt in \(name); actual:\n\(actual)")
            return
        }
        #expect(actual == expected.trimmingTrailingNewlines(), "\(name)")
    }
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var s = self
        while s.hasSuffix("\n") || s.hasSuffix("\r") { s.removeLast() }
        return s
    }
}
