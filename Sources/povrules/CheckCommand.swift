import ArgumentParser
import Diagnostics
import Engine
import RuleModel

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate rule files without data: schema, references, dates and every expression's types.",
        discussion: """
        Exit 0 when the rules are clean, 2 otherwise; each problem is printed as FILE:LINE:COLUMN: error: …

        Example:
          povrules check Rules
          povrules check Fixtures/rules-invalid/unknown-key
        """
    )

    @Argument(help: "Rules folder (default: the shipped Rules/).")
    var rules: String?

    func run() throws {
        let root = rules ?? RulesLocator.shipped()
        let loaded = try LoadedRules.load(root)
        let sets = loaded.library.ruleSets
        let periods = sets.map { "\($0.reference) \($0.period)" }.joined(separator: "; ")
        let indicators = sets.reduce(0) { $0 + $1.indicators.count }
        let programmes = sets.reduce(0) { $0 + $1.programmes.count }
        let tests = sets.reduce(0) { $0 + $1.tests.count }
        print("ok: \(sets.count) rule sets (\(periods)), \(indicators) indicators, \(programmes) programmes, \(tests) test cases")
    }
}
