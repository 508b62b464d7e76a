import ArgumentParser
import Engine
import RuleModel

struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Why a household got its status, indicator by indicator, with each rule's citation.",
        discussion: """
        Example:
          povrules explain Fixtures/thach-ha-2024 TH-0001
          povrules explain Fixtures/thach-ha-2024 TH-0001 --lang en
        """
    )

    @OptionGroup var survey: SurveyOptions
    @Argument(help: "The household_id to explain.")
    var householdID: String
    @OptionGroup var rulesOptions: RulesOptions
    @Option(help: "Reference date YYYY-MM-DD (default: the household's review_date, else today).")
    var asOf: String?
    @Option(help: "vi (default) or en.")
    var lang: Language = .vi

    func run() throws {
        let rules = try LoadedRules.load(rulesOptions.resolve())
        let run = try SurveyRun(survey: survey, rules: rules, asOf: asOf)
        var found: HouseholdOutcome?
        while let batch = try run.nextBatch() {
            let table = batch.households
            guard let idField = table.fieldIndex("household_id") else { break }
            if let h = (0..<table.count).first(where: { table.text(idField, $0) == householdID }) {
                found = run.classifier.classify(household: h, of: batch)
                break
            }
        }
        switch found {
        case .classified(let r)?:
            print(Explanation.render(r, language: lang), terminator: "")
        case .rejected(let r)?:
            Report.errors([r.problem.diagnostic])
            throw ExitStatus.badInput
        case nil:
            if let p = run.reader.problems.first(where: { $0.householdID == householdID }) {
                Report.errors([p.diagnostic])
            } else {
                Report.printErr("error: household '\(householdID)' is not in the survey")
            }
            throw ExitStatus.badInput
        }
    }
}

extension Language: ExpressibleByArgument {}
