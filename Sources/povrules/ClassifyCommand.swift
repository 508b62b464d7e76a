import ArgumentParser
import Diagnostics
import Engine
import Output
import RuleModel
import Survey

struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Classify every household of a survey: status, the deprivations, newly escaped.",
        discussion: """
        Writes one row per household in input order (CSV, or JSONL with the reasons). A summary
        goes to standard error: households read, classified and rejected, and the count per class.
        Exit 0 when every household was classified, 2 when some rows were rejected (each is listed).

        Example:
          povrules classify Fixtures/thach-ha-2024 > classes.csv
          povrules classify Fixtures/thach-ha-2024 --format jsonl --as-of 2024-10-01
        """
    )

    @OptionGroup var survey: SurveyOptions
    @OptionGroup var rulesOptions: RulesOptions
    @Option(help: "Reference date YYYY-MM-DD for every household (default: its review_date, else today).")
    var asOf: String?
    @Option(help: "csv or jsonl.")
    var format: ClassificationWriter.Format = .csv
    @Option(name: .shortAndLong, help: "Write here instead of standard output.")
    var output: String?
    @Option(help: "Worker threads (default: all cores); the output is the same for any number.")
    var threads: Int?

    func run() throws {
        let rules = try LoadedRules.load(rulesOptions.resolve())
        // Output to a file can be taken back: the survey may then be read assuming it sorted,
        // and is read again, the file emptied, when it was not.
        KeptUntilExit.keep(rules)
        let run = try makeRun(rules, assumingSorted: OutputSink.canTakeBack(output))
        let sink = try OutputSink(path: output)
        if try classify(run, into: sink) { return }
        sink.takeBack()
        _ = try classify(try makeRun(rules, assumingSorted: false), into: sink)
    }

    private func makeRun(_ rules: LoadedRules, assumingSorted: Bool) throws -> SurveyRun {
        let run = try SurveyRun(survey: survey, rules: rules, asOf: asOf, threads: threads, outputCanBeTakenBack: assumingSorted)
        run.withReasons = format == .jsonl
        KeptUntilExit.keep(run)
        return run
    }

    /// Classifies the survey into `sink`, then prints the summary; false, with the summary not
    /// printed and the output to be taken back, when the survey was read assuming it sorted and
    /// was not (`SurveyRun.mustReadAgain`).
    private func classify(_ run: SurveyRun, into sink: OutputSink) throws -> Bool {
        var writer = ClassificationWriter(format: format)
        var mismatched: Set<String> = []
        let format = self.format
        // Each worker formats its batch's rows with the columns of the batch's first household;
        // when those are the output's columns (the first household's overall, nearly always)
        // the bytes are the same as formatting here, so they are written as they are.
        try run.forEachClassified(prepare: { batch in
            var own = ClassificationWriter(format: format)
            var bytes: [UInt8] = []  // appendRows makes its storage (an empty array is replaced)
            own.appendRows(batch, to: &bytes)
            return FormattedRows(bytes: bytes, columns: own.indicatorIDs, mismatched: own.mismatchedRuleSets)
        }) { batch, rows in
            guard rows.columns != nil else { return }  // no household of the batch was classified
            if writer.indicatorIDs == nil, let rules = batch.firstClassifiedRules, let h = writer.header(for: rules) { sink.write(h) }
            if rows.columns == writer.indicatorIDs {
                sink.write(bytes: rows.bytes)
                mismatched.formUnion(rows.mismatched)
            } else {
                sink.append { out in writer.appendRows(batch, to: &out) }
            }
        }
        if run.mustReadAgain() { return false }
        sink.close()
        mismatched.formUnion(writer.mismatchedRuleSets)
        if !mismatched.isEmpty {
            Report.printErr("warning: households classified under \(mismatched.sorted().joined(separator: ", ")) have other indicators than the output columns; give --as-of or split the survey by rule period")
        }
        try run.finish()
        return true
    }
}

extension ClassificationWriter.Format: ExpressibleByArgument {}

/// One batch's rows, formatted on the worker that classified it.
private struct FormattedRows {
    var bytes: [UInt8]
    var columns: [String]?
    var mismatched: Set<String>
}
