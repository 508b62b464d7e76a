import ArgumentParser
import Audit
import Diagnostics

struct TestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run the rule sets' own YAML test cases.",
        discussion: """
        Exit 0 when every case passes, 1 when one fails (expected versus actual, and the rule that
        decided), 2 when the rules cannot be loaded.

        Example:
          povrules test Rules
        """
    )

    @Argument(help: "Rules folder (default: the shipped Rules/).")
    var rules: String?

    func run() throws {
        let loaded = try LoadedRules.load(rules ?? RulesLocator.shipped())
        let results = RuleTestRunner(rules: loaded.compiled, schema: loaded.schema).runAll()
        var failed = 0
        for r in results where !r.passed {
            failed += 1
            print("FAIL \(r.ruleSet) \(r.name) (\(r.location))")
            for f in r.failures { print("  " + f) }
        }
        print("\(results.count - failed) passed, \(failed) failed")
        if failed > 0 { throw ExitStatus.found }
    }
}
