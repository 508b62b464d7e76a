import ArgumentParser
import Audit
import Diagnostics
#if canImport(Glibc)
import Glibc
#endif

struct TestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run the rule sets' own YAML test cases.",
        discussion: """
        Exit 0 when every case passes, 1 when one fails (expected versus actual, and the rule that
        decided), 2 when the rules cannot be loaded.

        --update re-records the expectations of failing cases (status, deprivation_count, deprived,
        income_below_line, newly_escaped, ruleset) from what the rules now decide, rewriting only
        those values in the YAML files, so a reviewer reads the change in `git diff`. Expectations
        it cannot rewrite (reason texts, rejections, eligibility, block lists) are listed.

        --junit FILE writes JUnit XML for CI test reports.

        Example:
          povrules test Rules
          povrules test Rules --junit test-results.xml
          povrules test Rules --update && git diff Rules
        """
    )

    @Argument(help: "Rules folder (default: the shipped Rules/).")
    var rules: String?
    @Flag(help: "Re-record the expectations of failing cases in place.")
    var update = false
    @Option(help: "Write JUnit XML here.")
    var junit: String?

    func run() throws {
        let loaded = try LoadedRules.load(rules ?? RulesLocator.shipped())
        let runner = RuleTestRunner(rules: loaded.compiled, schema: loaded.schema)
        if update {
            let recorder = TestRecorder(runner: runner)
            var outcome = recorder.plan()
            recorder.apply(&outcome)
            for e in outcome.edits { print("updated \(e.location): '\(e.test)' \(e.key): \(e.replacement)") }
            for s in outcome.skipped { print("not updated: \(s)") }
            print("\(outcome.edits.count) expectation\(outcome.edits.count == 1 ? "" : "s") re-recorded in \(outcome.filesChanged.count) file\(outcome.filesChanged.count == 1 ? "" : "s")")
            // Run again from the rewritten files, so the exit status tells whether anything is left.
            let reloaded = try LoadedRules.load(rules ?? RulesLocator.shipped())
            try report(RuleTestRunner(rules: reloaded.compiled, schema: reloaded.schema).runAll())
            return
        }
        try report(runner.runAll())
    }

    func report(_ results: [RuleTestResult]) throws {
        var failed = 0
        for r in results where !r.passed {
            failed += 1
            print("FAIL \(r.ruleSet) \(r.name) (\(r.location))")
            for f in r.failures { print("  " + f) }
        }
        print("\(results.count - failed) passed, \(failed) failed")
        if let junit {
            let xml = JUnit.xml(results)
            guard let f = fopen(junit, "wb") else {
                Report.printErr("\(junit): error: cannot write the JUnit report")
                throw ExitStatus.badInput
            }
            let bytes = Array(xml.utf8)
            fwrite(bytes, 1, bytes.count, f)
            fclose(f)
        }
        if failed > 0 { throw ExitStatus.found }
    }
}
