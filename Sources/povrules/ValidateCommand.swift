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
        var date: CivilDate?
        if let asOf {
            guard let d = CivilDate(asOf) else {
                Report.printErr("error: --as-of '\(asOf)' is not a date YYYY-MM-DD")
                throw ExitStatus.badInput
            }
            date = d
        }
        let root = rulesOptions.resolve()
        let schema: SurveySchema
        do {
            let schemaRoot = FileSystem.exists(root + "/survey/schema.yaml") ? root : RulesLocator.shipped()
            schema = try SurveySchema.shipped(rulesRoot: schemaRoot)
        } catch let list {
            Report.errors(list.diagnostics)
            throw ExitStatus.badInput
        }
        let reader = try survey.openReader(schema: schema, asOf: date)
        do {
            while try reader.next(maxHouseholds: 4096) != nil {}
        } catch {
            Report.errors([error])
            throw ExitStatus.badInput
        }
        fputs(ValidateCommand.report(reader), standardOutput)
        fflush(standardOutput)
        Report.printErr("povrules: " + reader.counts.summary)
        let c = reader.counts
        if !reader.problemCounts.isEmpty || c.householdsRejected > 0 || c.membersRejected > 0 {
            throw ExitStatus.badInput
        }
    }

    /// The data-quality report: accounting, counts by problem, then each problem in file order.
    static func report(_ reader: SurveyReader) -> String {
        let c = reader.counts
        var out = "Data-quality report\n"
        out += "  households: \(reader.householdsPath)\n  members:    \(reader.membersPath)\n"
        out += "  join: \(reader.streaming ? "streaming (same household order, members contiguous)" : "indexed (members in another order)")\n\n"
        out += "households: \(c.householdsRead) read, \(c.householdsAccepted) accepted, \(c.householdsRejected) rejected\n"
        out += "members:    \(c.membersRead) read, \(c.membersAccepted) accepted, \(c.membersRejected) rejected\n"
        if c.blankRows > 0 { out += "blank rows skipped: \(c.blankRows)\n" }
        let total = reader.problemCounts.values.reduce(0, +)
        if total == 0 {
            out += "\nno problems: the survey is clean\n"
            return out
        }
        out += "\nproblems by kind (\(total)):\n"
        let kinds = reader.problemCounts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        let width = kinds.map(\.key.count).max() ?? 0
        for (k, n) in kinds {
            out += "  " + k + String(repeating: " ", count: width - k.count) + "  \(n)\n"
        }
        out += "\nproblems:\n"
        for p in reader.sortedProblems { out += p.diagnostic.description + "\n" }
        if reader.problems.count < total {
            out += "(\(total - reader.problems.count) more problems not listed; the counts above include them)\n"
        }
        return out
    }
}
