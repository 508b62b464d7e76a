import ArgumentParser
import Audit
import Diagnostics
import Engine
import RuleModel

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate rule files without data: schema, references, dates and every expression's types.",
        discussion: """
        Beyond loading and type-checking every expression, check reports:
          - a parameter no rule uses (a warning; an error with --strict);
          - days between consecutive rule sets of one standard that no rule set covers, unless the
            earlier one declares `gap_after: "reason"` in its ruleset;
          - household classes that overlap or leave a case out, found by evaluating the class rules
            over every combination of area, income test, deprivation count and income figure;
          - with --against git:REV[:PATH]: a rule set whose rule files changed since REV without a
            new `version`, or without a changelog entry for it.

        Exit 0 when the rules are clean, 2 when they cannot be used (each problem is printed as
        FILE:LINE:COLUMN: error: …), 1 when only the version discipline of --against fails.

        Example:
          povrules check Rules
          povrules check Rules --against git:origin/main:Rules
          povrules check Fixtures/rules-invalid/unknown-key
        """
    )

    @Argument(help: "Rules folder (default: the shipped Rules/).")
    var rules: String?
    @Flag(help: "Treat warnings (an unused parameter) as errors.")
    var strict = false
    @Option(help: "Compare with the rules at a git revision (git:REV[:PATH]) for the version discipline.")
    var against: String?

    func run() throws {
        let root = rules ?? RulesLocator.shipped()
        let loaded = try LoadedRules.load(root)
        let audit = AuditRules(root: root, label: root, library: loaded.library, schema: loaded.schema, compiled: loaded.compiled)
        let deeper = RuleChecks.all(audit, strict: strict)
        Report.errors(deeper)
        if deeper.contains(where: { $0.severity == .error }) { throw ExitStatus.badInput }
        if let against {
            let src: RulesSource
            let old: RuleLibrary
            do {
                src = try RulesSource.resolve(against)
            } catch {
                Report.errors(error.diagnostics)
                throw ExitStatus.badInput
            }
            defer { src.cleanUp() }
            do { old = try RuleLoader.load(root: src.root) } catch {
                Report.errors(error.diagnostics)
                Report.printErr("error: the rules at \(against) cannot be loaded, so the version discipline cannot be checked")
                throw ExitStatus.badInput
            }
            let problems = RuleChecks.versionDiscipline(current: audit, old: old, oldRoot: src.root, revision: against)
            Report.errors(problems)
            if !problems.isEmpty { throw ExitStatus.found }
        }
        let sets = loaded.library.ruleSets
        let periods = sets.map { "\($0.reference) \($0.period)" }.joined(separator: "; ")
        let indicators = sets.reduce(0) { $0 + $1.indicators.count }
        let programmes = sets.reduce(0) { $0 + $1.programmes.count }
        let tests = sets.reduce(0) { $0 + $1.tests.count }
        let warnings = deeper.filter { $0.severity == .warning }.count
        print("ok: \(sets.count) rule sets (\(periods)), \(indicators) indicators, \(programmes) programmes, \(tests) test cases"
              + (warnings > 0 ? ", \(warnings) warning\(warnings == 1 ? "" : "s")" : "")
              + (against.map { "; versions consistent with \($0)" } ?? ""))
    }
}
