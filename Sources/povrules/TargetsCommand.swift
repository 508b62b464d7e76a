import ArgumentParser
import Diagnostics
import Engine
import Output
import RuleModel
import Survey

struct TargetsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "targets",
        abstract: "Progress against a plan's targets: goal, numerator, denominator, rate, met or not, gap, by village.",
        discussion: """
        A plan (Rules/plans/*.yaml) lists targets, each with its population and condition as
        expressions over households (h, members, status, newly_escaped, deprived, …) or members
        (m as well). Targets the survey cannot measure show a reported figure or 'not measurable'.
        --list names the households or members still short (ids only, unless --with-names).
        Exit 1 with --fail-on-miss when a target is missed. See docs/reports.md.

        Example:
          povrules targets Fixtures/thach-ha-2024 --plan Rules/plans/thach-ha-2024.yaml
          povrules targets Fixtures/thach-ha-2024 --plan Rules/plans/thach-ha-2024.yaml --list --format csv
        """
    )

    @OptionGroup var survey: SurveyOptions
    @OptionGroup var rulesOptions: RulesOptions
    @Option(help: "The plan file (YAML).")
    var plan: String
    @Option(help: "Reference date YYYY-MM-DD for every household (default: its review_date, else today).")
    var asOf: String?
    @Flag(help: "List the households or members still short of each target.")
    var list = false
    @Flag(help: "With --list: add members' full names (personal data).")
    var withNames = false
    @Flag(help: "Exit 1 when a target is missed.")
    var failOnMiss = false
    @Option(help: "table, csv, json or markdown.")
    var format: ReportFormat = .table
    @Option(help: "vi or en.")
    var lang: Language = .vi
    @Option(name: .shortAndLong, help: "Write here instead of standard output.")
    var output: String?
    @Option(help: "Worker threads (default: all cores); the output is the same for any number.")
    var threads: Int?

    func run() throws {
        let rules = try LoadedRules.load(rulesOptions.resolve())
        let compiled: CompiledPlan
        do {
            compiled = try CompiledPlan.compile(try PlanLoader.load(plan), rules: rules.compiled)
        } catch {
            Report.errors(error.diagnostics)
            throw ExitStatus.badInput
        }
        if withNames && !list {
            Report.printErr("error: --with-names goes with --list")
            throw ExitStatus.badInput
        }
        let run = try SurveyRun(survey: survey, rules: rules, asOf: asOf, threads: threads)
        // Nothing here shows the indicators' explanation sentences; rendering them costs more than classifying.
        run.withReasons = false
        if withNames { run.reader.keepPersonalData = true }
        // Each worker counts its own batches (the plan's expressions are evaluated there); the
        // counts are added here in input order, so the short lists keep it.
        let counter = TargetCounter(plan: compiled, keepLists: list, withNames: withNames)
        let list = list, withNames = withNames
        try run.forEachClassifiedBatch(state: { TargetCounter(plan: compiled, keepLists: list, withNames: withNames) },
                                       prepare: { worker, batch, outcomes in
            for (h, outcome) in outcomes.enumerated() {
                if case .classified(let r) = outcome { worker.add(r, batch: batch, household: h) }
            }
            return worker.takeCounts()
        }) { counter.add($0) }
        let renderer = TargetsRenderer(plan: compiled.plan, overall: counter.overall, byVillage: counter.byVillage,
                                       lists: list ? counter.short : nil, language: lang, withNames: withNames)
        let sink = try OutputSink(path: output)
        sink.write(renderer.render(format))
        sink.close()
        if counter.outsidePlan > 0 {
            Report.printErr("warning: \(counter.outsidePlan) households were classified under a rule set not in force in the plan's year and are not counted; give --as-of")
        }
        let missed = renderer.missed
        if !missed.isEmpty {
            Report.printErr("targets missed: \(missed.map(\.id).joined(separator: ", "))")
        }
        try run.finish()
        if failOnMiss && !missed.isEmpty { throw ExitStatus.found }
    }
}
