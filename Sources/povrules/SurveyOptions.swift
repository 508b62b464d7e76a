import ArgumentParser
import Diagnostics
import RuleModel
import Survey

/// Where a survey is: a folder with households.csv and members.csv, or the two files named.
struct SurveyOptions: ParsableArguments {
    @Argument(help: "Survey folder holding households.csv and members.csv.")
    var survey: String?
    @Option(help: "households.csv, when not in a survey folder.")
    var households: String?
    @Option(help: "members.csv, when not in a survey folder.")
    var members: String?
    @Option(help: "A YAML file mapping your headers and codes onto the contract's (default: the shipped Vietnamese mapping is recognised).")
    var mapping: String?

    func paths() throws -> (households: String, members: String) {
        if let households, let members { return (households, members) }
        guard let survey else {
            Report.printErr("error: give a survey folder, or --households FILE --members FILE")
            throw ExitStatus.badInput
        }
        return (households ?? survey + "/households.csv", members ?? survey + "/members.csv")
    }

    /// `assumeSorted`, `inParts`: see `SurveyReader.open`.
    func openReader(schema: SurveySchema, asOf: CivilDate? = nil, assumeSorted: Bool = false, inParts: Bool = true) throws -> SurveyReader {
        let (h, m) = try paths()
        do {
            let map = try mapping.map { path throws(DiagnosticList) in try HeaderMapping.load(path) }
            return try SurveyReader.open(householdsPath: h, membersPath: m, schema: schema, mapping: map, asOf: asOf,
                                         assumeSorted: assumeSorted, inParts: inParts)
        } catch {
            Report.errors(error.diagnostics)
            throw ExitStatus.badInput
        }
    }
}
