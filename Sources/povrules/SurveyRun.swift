import ArgumentParser
import Diagnostics
import Engine
import RuleModel
import Survey

/// One pass over a survey with the engine: reading, classifying, and the accounting every
/// command prints (read = classified + rejected), with each rejected row and its reason.
final class SurveyRun {
    let reader: SurveyReader
    let classifier: Classifier
    private(set) var classCounts: [String: Int] = [:]
    private(set) var classOrder: [String] = []
    private(set) var classified = 0
    private(set) var engineRejected: [RejectedHousehold] = []

    init(survey: SurveyOptions, rules: LoadedRules, asOf: String?) throws {
        var date: CivilDate?
        if let asOf {
            guard let d = CivilDate(asOf) else {
                Report.printErr("error: --as-of '\(asOf)' is not a date YYYY-MM-DD")
                throw ExitStatus.badInput
            }
            date = d
        }
        reader = try survey.openReader(schema: rules.schema, asOf: date)
        classifier = Classifier(library: rules.compiled, policy: ReferencePolicy(asOf: date))
        for set in rules.library.ruleSets {
            for c in set.classes where !classOrder.contains(c.id) { classOrder.append(c.id) }
        }
    }

    /// Classifies batch by batch and hands each outcome, in input order, to `body`.
    func forEachOutcome(_ body: (HouseholdOutcome) throws -> Void) throws {
        while let batch = try nextBatch() {
            for outcome in classifier.classify(batch) {
                switch outcome {
                case .classified(let r):
                    classified += 1
                    if classCounts[r.status] == nil, !classOrder.contains(r.status) { classOrder.append(r.status) }
                    classCounts[r.status, default: 0] += 1
                case .rejected(let r):
                    engineRejected.append(r)
                }
                try body(outcome)
            }
        }
    }

    func nextBatch() throws -> SurveyBatch? {
        do {
            return try reader.next(maxHouseholds: 4096)
        } catch let d as Diagnostic {
            Report.errors([d])
            throw ExitStatus.badInput
        }
    }

    /// Prints the problems and the accounting to standard error; exits 2 when rows were rejected.
    func finish() throws {
        let problems = reader.problems.map(\.diagnostic) + engineRejected.map(\.problem.diagnostic)
        Report.errors(problems)
        let c = reader.counts
        let rejected = c.householdsRejected + engineRejected.count
        let perClass = classOrder.filter { classCounts[$0] != nil }.map { "\($0) \(classCounts[$0]!)" }.joined(separator: ", ")
        Report.printErr("households: read \(c.householdsRead), classified \(classified), rejected \(rejected); members: read \(c.membersRead), accepted \(c.membersAccepted), rejected \(c.membersRejected)")
        if !perClass.isEmpty { Report.printErr("classes: \(perClass)") }
        if rejected > 0 { throw ExitStatus.badInput }
    }
}
