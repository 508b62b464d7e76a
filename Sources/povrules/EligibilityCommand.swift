import ArgumentParser
import Audit
import Diagnostics
import Engine
import Output
import RuleModel
import Survey

struct EligibilityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eligibility",
        abstract: "Who is eligible for which programme; with --check, validate a submitted beneficiary list.",
        discussion: """
        Without --check: one row per person and programme that applies (the person is in the
        programme's scope: working age for P2 and P3.1, and for P4 from 2025-02-24; under 16 for
        P3.2), in input order of households and members, then programme order (a household-level
        programme such as P5 comes first in its household, with an empty member_id). Columns:
        household_id, member_id, program, eligible (1/0), priority, band, reason. Exit 0, or 2 when
        survey rows were rejected. The output is the same for any --threads.

        With --check LIST: reports people on the list who are not eligible (and why not), eligible
        people left out, priority people left out while non-priority people are listed, duplicates,
        ids not in the survey and unreadable rows, each with its reason. Exit 1 when anything is
        wrong, 0 when the list is clean, 2 when the input cannot be used. Rejected survey rows
        are stated on standard error, with the accounting (a listed person of a rejected
        household is reported as 'unclassified').

        Examples:
          povrules eligibility Fixtures/thach-ha-2024 > eligibility.csv
          povrules eligibility Fixtures/thach-ha-2024 --program P3.2 --lang en
          povrules eligibility Fixtures/thach-ha-2024 --check Fixtures/thach-ha-2024/beneficiaries.csv
          povrules eligibility Fixtures/thach-ha-2024 --check Fixtures/thach-ha-2024/beneficiaries.csv --format markdown
        """
    )

    @OptionGroup var survey: SurveyOptions
    @OptionGroup var rulesOptions: RulesOptions
    @Option(help: "Reference date YYYY-MM-DD for every household (default: its review_date, else today).")
    var asOf: String?
    @Option(help: "Only this programme (e.g. P2, P3.1, P3.2, P4, P5).")
    var program: String?
    @Option(help: ArgumentHelp("Validate this beneficiary list (household_id, member_id, program, date).", valueName: "beneficiaries.csv"))
    var check: String?
    @Option(help: "Listing: csv (default) or jsonl. With --check: text (default), csv, json or markdown.")
    var format: String?
    @Option(help: "Language of the reasons: vi (default) or en.")
    var lang: Language = .vi
    @Option(name: .shortAndLong, help: "Write here instead of standard output.")
    var output: String?
    @Option(help: "Worker threads (default: all cores); the output is the same for any number.")
    var threads: Int?

    func run() throws {
        let rules = try LoadedRules.load(rulesOptions.resolve())
        let allProgrammes = rules.compiled.flatMap { $0.ruleSet.programmes.map(\.id) }
        if let program, !allProgrammes.contains(program) {
            let hint = Suggestion.didYouMean(program, in: allProgrammes).map { " (\($0))" } ?? ""
            Report.printErr("error: --program '\(program)' is not a programme of the rules; they have: \(Self.unique(allProgrammes).joined(separator: ", "))\(hint)")
            throw ExitStatus.badInput
        }
        var listFormat = EligibilityWriter.Format.csv
        var reportFormat = ListCheckReport.Format.text
        if let format {
            if check == nil {
                guard let f = EligibilityWriter.Format(rawValue: format) else {
                    Report.printErr("error: --format '\(format)': expected csv or jsonl (text, json and markdown are for --check)")
                    throw ExitStatus.badInput
                }
                listFormat = f
            } else {
                guard let f = ListCheckReport.Format(rawValue: format) else {
                    Report.printErr("error: --format '\(format)': expected text, csv, json or markdown")
                    throw ExitStatus.badInput
                }
                reportFormat = f
            }
        }
        var list: BeneficiaryList?
        if let check {
            do { list = try BeneficiaryList.read(path: check) } catch {
                Report.errors([error])
                throw ExitStatus.badInput
            }
        }

        let run = try SurveyRun(survey: survey, rules: rules, asOf: asOf, threads: threads)
        // Nothing here shows the indicators' explanation sentences; rendering them costs more than classifying.
        run.withReasons = false
        let options = EligibilityOptions(programmes: program.map { [$0] }, language: lang)
        let sink = list == nil ? try OutputSink(path: output) : nil
        let writer = EligibilityWriter(format: listFormat)
        if let h = writer.header() { sink?.write(h) }
        var gathered = SurveyEligibility()
        var classified = 0
        var engineRejected: [RejectedHousehold] = []
        var ruleSets: [String] = []
        // Classified and evaluated on every worker at once, handed on in input order.
        try run.forEachEligibility(options) { outcome, results in
            switch outcome {
            case .classified(let r):
                classified += 1
                if !ruleSets.contains(r.rules.ruleSet.reference) { ruleSets.append(r.rules.ruleSet.reference) }
                if let sink {
                    sink.write(writer.rows(results))
                } else {
                    gathered.add(householdID: r.householdID, memberIDs: r.memberIDs, results: results)
                }
            case .rejected(let r):
                engineRejected.append(r)
                gathered.rejected[r.householdID] = r.problem.diagnostic.message
            }
        }
        for p in run.reader.problems {
            if let id = p.householdID, gathered.rejected[id] == nil { gathered.rejected[id] = p.diagnostic.message }
        }

        var exit: ExitCode?
        if let list {
            let programmes = rules.compiled.filter { ruleSets.contains($0.ruleSet.reference) }.flatMap(\.ruleSet.programmes)
            let result = BeneficiaryCheck(programmes: programmes.isEmpty ? rules.compiled.flatMap(\.ruleSet.programmes) : programmes,
                                          language: lang).check(list, against: gathered, only: program)
            let out = try OutputSink(path: output)
            out.write(ListCheckReport.render(result, format: reportFormat, language: lang))
            out.close()
            if !result.isClean { exit = ExitStatus.found }
        } else {
            sink?.close()
        }

        // The accounting, as classify states it.
        Report.errors(run.reader.problems.map(\.diagnostic) + engineRejected.map(\.problem.diagnostic))
        let c = run.reader.counts
        let rejected = c.householdsRejected + engineRejected.count
        Report.printErr("households: read \(c.householdsRead), classified \(classified), rejected \(rejected); members: read \(c.membersRead), accepted \(c.membersAccepted), rejected \(c.membersRejected)")
        // With --check the status is the list's (0 clean, 1 problems); a listed person of a
        // rejected household is itself a problem ('unclassified'). The listing exits as classify.
        if let exit { throw exit }
        if list == nil && rejected > 0 { throw ExitStatus.badInput }
    }

    static func unique(_ ids: [String]) -> [String] {
        var out: [String] = []
        for id in ids where !out.contains(id) { out.append(id) }
        return out
    }
}
