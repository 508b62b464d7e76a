import ArgumentParser
import Diagnostics
import RuleModel
import Survey
#if canImport(Glibc)
import Glibc
#endif

/// `povrules validate SURVEY`: reads a survey strictly and prints its data-quality report.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a survey against the data contract and print its data-quality report.",
        discussion: """
        Every row is read and checked: column count and quoting, UTF-8, headers (contract or \
        Vietnamese, or your --mapping), types, code lists, impossible values, duplicate ids, and \
        the join of members to households. The report gives counts by problem, then each problem \
        with file, line, column and value. Exit status 0 when the survey is clean, 2 otherwise.

        Example:
          povrules validate Fixtures/thach-ha-2024
          povrules validate --households hh.csv --members tv.csv --mapping my-headers.yaml
        """
    )

    @OptionGroup var survey: SurveyOptions
    @OptionGroup var rulesOptions: RulesOptions

    @Option(name: .customLong("as-of"), help: "Reference date YYYY-MM-DD for ages (default: each household's review_date, else today).")
    var asOf: String?

    func run() throws {
        // The rules take part: some fields are required only by age or by another field
        // (`required_when` in the schema, e.g. employment for working age), which needs the
        // rule set in force on each household's reference date.
        let rules = try LoadedRules.load(rulesOptions.resolve())
        let run = try SurveyRun(survey: survey, rules: rules, asOf: asOf)
        // Nothing here shows the indicators' explanation sentences; rendering them costs more than classifying.
        run.withReasons = false
        try run.forEachOutcome { _ in }
        let engineProblems = run.engineRejected.map(\.problem)
        fputs(ValidateCommand.report(run.reader, engineProblems: engineProblems), standardOutput)
        fflush(standardOutput)
        let c = run.reader.counts
        let rejected = c.householdsRejected + engineProblems.count
        Report.printErr("households: read \(c.householdsRead), accepted \(c.householdsRead - rejected), rejected \(rejected); members: read \(c.membersRead), accepted \(c.membersAccepted), rejected \(c.membersRejected)")
        if !run.reader.problemCounts.isEmpty || rejected > 0 || c.membersRejected > 0 {
            throw ExitStatus.badInput
        }
    }

    /// The data-quality report: accounting, counts by problem, then each problem in file order.
    static func report(_ reader: SurveyReader, engineProblems: [DataProblem] = []) -> String {
        let c = reader.counts
        var out = "Data-quality report\n"
        out += "  households: \(reader.householdsPath)\n  members:    \(reader.membersPath)\n"
        out += "  join: \(reader.streaming ? "streaming (same household order, members contiguous)" : "indexed (members in another order)")\n\n"
        let rejected = c.householdsRejected + engineProblems.count
        out += "households: \(c.householdsRead) read, \(c.householdsRead - rejected) accepted, \(rejected) rejected\n"
        out += "members:    \(c.membersRead) read, \(c.membersAccepted) accepted, \(c.membersRejected) rejected\n"
        if c.blankRows > 0 { out += "blank rows skipped: \(c.blankRows)\n" }
        var counts = reader.problemCounts
        for p in engineProblems { counts[p.kind, default: 0] += 1 }
        let total = counts.values.reduce(0, +)
        if total == 0 {
            out += "\nno problems: the survey is clean\n"
            return out
        }
        out += "\nproblems by kind (\(total)):\n"
        let kinds = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        let width = kinds.map(\.key.count).max() ?? 0
        for (k, n) in kinds {
            out += "  " + k + String(repeating: " ", count: width - k.count) + "  \(n)\n"
        }
        out += "\nproblems:\n"
        let listed = (reader.sortedProblems + engineProblems).sorted { a, b in
            guard let x = a.diagnostic.location, let y = b.diagnostic.location else { return a.diagnostic.location == nil && b.diagnostic.location != nil }
            return x < y
        }
        for p in listed { out += p.diagnostic.description + "\n" }
        if listed.count < total {
            out += "(\(total - listed.count) more problems not listed; the counts above include them)\n"
        }
        return out
    }
}
