import ArgumentParser
import Diagnostics
import Engine
import Output
import RuleModel
import Survey

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Aggregates of a classified survey: official rates, Alkire–Foster measures, transitions, by village.",
        discussion: """
        Rates of poor, near-poor (multidimensional = poor + near-poor) and average households,
        household and people counts; the share of households deprived on each indicator among all,
        poor and near-poor households; Alkire–Foster H, A, M0, censored and uncensored headcounts
        and contributions, in the pure (score ≥ k) and national (class poor) variants; transitions
        from prior_status. Weighted by the survey's weight column when it has one. Every figure and
        its formula: docs/reports.md.

        Example:
          povrules report Fixtures/thach-ha-2024
          povrules report Fixtures/thach-ha-2024 --by area --format csv --lang en
        """
    )

    @OptionGroup var survey: SurveyOptions
    @OptionGroup var rulesOptions: RulesOptions
    @Option(help: "Reference date YYYY-MM-DD for every household (default: its review_date, else today).")
    var asOf: String?
    @Option(help: "Group by these household fields, comma-separated (village, area, commune, …, status, ruleset), or none.")
    var by: String = "village"
    @Option(help: "AF cut-off k in indicators (default: the rule set's poor_min_deprivations, 3).")
    var cutoff: Int?
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
        let groupBy = try GroupFields.parse(by, schema: rules.schema)
        let run = try SurveyRun(survey: survey, rules: rules, asOf: asOf, threads: threads)
        // Nothing here shows the indicators' explanation sentences; rendering them costs more than classifying.
        run.withReasons = false
        // Rows are made on the workers and summed here in input order, then dropped: memory
        // holds one running sum per group, not a row per household.
        var accumulator: AggregateAccumulator?
        var sets: [String: [String]] = [:]
        try run.forEachClassifiedBatch(state: { () }, prepare: { _, batch, outcomes in
            outcomes.enumerated().compactMap { h, outcome -> (AggregateHousehold, HouseholdResult)? in
                guard case .classified(let r) = outcome else { return nil }
                return (AggregateHousehold.make(r, batch: batch, household: h, groupBy: groupBy), r)
            }
        }) { rows in
            for (row, r) in rows {
                if accumulator == nil {
                    accumulator = AggregateAccumulator(frame: IndicatorFrame(r.rules, on: r.referenceDate, cutoffCount: cutoff),
                                                       groupBy: groupBy)
                }
                if sets[r.rules.ruleSet.reference] == nil { sets[r.rules.ruleSet.reference] = r.rules.ruleSet.indicators.map(\.id) }
                accumulator!.add(row)
            }
        }
        if Set(sets.values).count > 1 {
            Report.printErr("error: \(AggregateError.mixedRuleSets(sets.keys.sorted()))")
            throw ExitStatus.badInput
        }
        let frame = accumulator?.frame
        if let cutoff, let f = frame, cutoff < 1 || cutoff > f.ids.count {
            Report.printErr("error: --cutoff must be between 1 and \(f.ids.count)")
            throw ExitStatus.badInput
        }
        if let accumulator {
            let report = accumulator.report(statusOrder: run.classOrderForReports)
            var labels: [String: Bilingual] = [:]
            for set in rules.library.ruleSets { for c in set.classes where labels[c.id] == nil { labels[c.id] = c.label } }
            let sink = try OutputSink(path: output)
            sink.write(ReportRenderer(report: report, language: lang, statusLabels: labels).render(format))
            sink.close()
        } else {
            Report.printErr("warning: no household was classified; nothing to report")
        }
        try run.finish()
    }
}

extension ReportFormat: ExpressibleByArgument {}

extension SurveyRun {
    /// Class codes in the rules' order, for report columns.
    var classOrderForReports: [String] {
        var order = classOrder
        for c in ["poor", "near_poor", "average", "other", "undetermined"] where !order.contains(c) { order.append(c) }
        return order
    }
}

/// `--by`: household fields of the survey schema, checked with did-you-mean.
enum GroupFields {
    static func parse(_ text: String, schema: SurveySchema) throws -> [String] {
        if text == "none" || text.isEmpty { return [] }
        let allowed = schema.households.filter { !$0.personal }.map(\.name) + ["status", "ruleset"]
        var out: [String] = []
        for part in text.split(separator: ",") {
            let name = String(part).trimmingCharacters(in: " ")
            guard allowed.contains(name) else {
                let hint = Suggestion.didYouMean(name, in: allowed) ?? "one of: \(allowed.joined(separator: ", "))"
                Report.printErr("error: --by: unknown household field '\(name)'\n  hint: \(hint)")
                throw ExitStatus.badInput
            }
            out.append(name)
        }
        return out
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}
