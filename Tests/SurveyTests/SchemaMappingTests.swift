import Testing
import Diagnostics
@testable import Survey

/// A survey schema loads its default mapping with itself (`SurveySchema.defaultMapping`), and
/// the readers, explanations and rule tests take that one: it must be the mapping
/// `HeaderMapping.load` gives for the path, or the same problems, which a reader reports as
/// when it loaded the file itself.
@Suite struct SchemaMappingTests {
    private static func summary(_ m: HeaderMapping) -> String {
        let headers = m.headers.sorted { $0.key < $1.key }.map { "\($0.key): " + $0.value.map { "\($0.target)=\($0.spelling)@\($0.location)" }.joined(separator: ",") }
        let codes = m.codes.sorted { $0.key < $1.key }.map { table in
            table.value.sorted { $0.key < $1.key }.map { "\(table.key).\($0.key): " + $0.value.map { "\($0.target)=\($0.spelling)" }.joined(separator: ",") }.joined(separator: ";")
        }
        return (headers + codes + [m.trueSpellings.map(\.spelling).joined(separator: ","), m.falseSpellings.map(\.spelling).joined(separator: ",")]).joined(separator: "\n")
    }

    @Test func theShippedSchemaHoldsItsMappingAsLoaded() throws {
        let schema = try shippedSchema()
        let path = try #require(schema.defaultMappingPath)
        let held = try #require(try schema.defaultMapping?.get())
        #expect(Self.summary(held) == Self.summary(try HeaderMapping.load(path)))
        #expect(!held.headers.isEmpty)
    }

    @Test func aBrokenMappingIsHeldAsItsProblemsAndReportedByTheReader() throws {
        let dir = tempDir("schema-mapping")
        let schemaText = readText(root + "/Rules/survey/schema.yaml")!
            .split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("default_mapping:") ? "default_mapping: broken.yaml" : String($0) }.joined(separator: "\n")
        write(dir + "/schema.yaml", schemaText)
        write(dir + "/broken.yaml", "households:\n  headres: {}\n")
        let schema = try SurveySchema.load(dir + "/schema.yaml")
        var expected: [Diagnostic] = []
        do { _ = try HeaderMapping.load(dir + "/broken.yaml") } catch { expected = error.diagnostics }
        #expect(!expected.isEmpty)
        guard case .failure(let held)? = schema.defaultMapping else {
            Issue.record("the broken mapping was not held as its problems")
            return
        }
        #expect(held.diagnostics.map(\.description) == expected.map(\.description))
        let survey = root + "/Fixtures/thach-ha-2024"
        var reported: [Diagnostic] = []
        do {
            _ = try SurveyReader.open(householdsPath: survey + "/households.csv", membersPath: survey + "/members.csv", schema: schema, mapping: nil)
        } catch {
            reported = error.diagnostics
        }
        #expect(reported.map(\.description) == expected.map(\.description))
    }
}
