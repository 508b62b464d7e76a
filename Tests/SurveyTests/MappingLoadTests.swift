import Testing
import Diagnostics
@testable import Survey

/// A mapping loaded again from the same bytes (`LoadedMappings`) is the mapping parsed from
/// them; once the file changes, the new bytes are parsed; a file with problems is never kept.
@Test func aMappingLoadedAgainIsTheOneParsedFromItsBytes() throws {
    let path = tempDir("mapping-load") + "/vi.yaml"
    func summary(_ m: HeaderMapping) -> String {
        let headers = m.headers.sorted { $0.key < $1.key }.map { "\($0.key): " + $0.value.map { "\($0.target)=\($0.spelling)@\($0.location)" }.joined(separator: ",") }
        let codes = m.codes.sorted { $0.key < $1.key }.map { table in
            table.value.sorted { $0.key < $1.key }.map { "\(table.key).\($0.key): " + $0.value.map { "\($0.target)=\($0.spelling)" }.joined(separator: ",") }.joined(separator: ";")
        }
        return (headers + codes + [m.trueSpellings.map(\.spelling).joined(separator: ","), m.falseSpellings.map(\.spelling).joined(separator: ",")]).joined(separator: "\n")
    }
    let first = "households:\n  headers:\n    household_id: [Mã hộ, Mã HGĐ]\n  codes:\n    area: {rural: [nông thôn], urban: thành thị}\nbooleans: {true: [có, x], false: [không]}\n"
    let second = "households:\n  headers:\n    household_id: Mã hộ gia đình\nbooleans: {true: [có], false: [không, k]}\n"
    for text in [first, first, second, second, first] {
        write(path, text)
        let loaded = try HeaderMapping.load(path)
        let parsed = try HeaderMapping.parse(Array(text.utf8), path: path)
        #expect(summary(loaded) == summary(parsed))
    }
    write(path, "households:\n  headres: {}\n")
    for _ in 0..<2 {
        #expect(throws: DiagnosticList.self) { try HeaderMapping.load(path) }
    }
}
