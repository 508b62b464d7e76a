import ArgumentParser
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import Diagnostics
import Engine
import RuleModel
import Survey

/// One pass over a survey with the engine: reading, classifying, and the accounting every
/// command prints (read = classified + rejected), with each rejected row and its reason.
final class SurveyRun {
    let reader: SurveyReader
    let classifier: Classifier
    /// One classifier per worker: a classifier caches per-thread state.
    private let workers: [Classifier]
    private(set) var classCounts: [String: Int] = [:]
    private(set) var classOrder: [String] = []
    private(set) var classified = 0
    private(set) var engineRejected: [RejectedHousehold] = []

    init(survey: SurveyOptions, rules: LoadedRules, asOf: String?, threads: Int? = nil) throws {
        var date: CivilDate?
        if let asOf {
            guard let d = CivilDate(asOf) else {
                Report.printErr("error: --as-of '\(asOf)' is not a date YYYY-MM-DD")
                throw ExitStatus.badInput
            }
            date = d
        }
        reader = try survey.openReader(schema: rules.schema, asOf: date)
        let policy = ReferencePolicy(asOf: date)
        let labels = rules.codeLabels
        classifier = Classifier(library: rules.compiled, policy: policy, codeLabels: labels)
        let n = max(1, threads ?? SurveyRun.cores())
        workers = [classifier] + (1..<n).map { _ in Classifier(library: rules.compiled, policy: policy, codeLabels: labels) }
        for set in rules.library.ruleSets {
            for c in set.classes where !classOrder.contains(c.id) { classOrder.append(c.id) }
        }
    }

    static func cores() -> Int {
        #if canImport(Glibc)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 1
        #endif
    }

    /// Classifies batch by batch and hands each outcome, in input order, to `body`. Batches are
    /// read in order, classified on all workers at once, and handed on in input order, so the
    /// output is the same whatever the number of threads.
    func forEachOutcome(_ body: (HouseholdOutcome) throws -> Void) throws {
        while true {
            var group: [SurveyBatch] = []
            while group.count < workers.count, let batch = try nextBatch() { group.append(batch) }
            if group.isEmpty { break }
            let results = ResultSlots(count: group.count)
            let work = Work(workers: workers, batches: group)
            DispatchQueue.concurrentPerform(iterations: group.count) { i in
                results.set(i, work.workers[i].classify(work.batches[i]))
            }
            for outcomes in results.all {
                try emit(outcomes, body)
            }
            progress.update(households: classified + engineRejected.count)
        }
    }

    private func emit(_ outcomes: [HouseholdOutcome], _ body: (HouseholdOutcome) throws -> Void) throws {
        for outcome in outcomes {
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

    /// Like `forEachOutcome`, for commands that also read the survey row of each classified
    /// household (aggregates, targets): `body` gets the batch, the household's index in it and
    /// the result.
    func forEachClassified(_ body: (SurveyBatch, Int, HouseholdResult) throws -> Void) throws {
        while let batch = try nextBatch() {
            for (h, outcome) in classifier.classify(batch).enumerated() {
                switch outcome {
                case .classified(let r):
                    classified += 1
                    if classCounts[r.status] == nil, !classOrder.contains(r.status) { classOrder.append(r.status) }
                    classCounts[r.status, default: 0] += 1
                    try body(batch, h, r)
                case .rejected(let r):
                    engineRejected.append(r)
                }
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

    private let progress = Progress()

    /// Prints the problems and the accounting to standard error; exits 2 when rows were rejected.
    func finish() throws {
        progress.clear()
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

/// Results of concurrently classified batches, one slot per batch; each slot is written by one
/// worker only.
private final class ResultSlots: @unchecked Sendable {
    private var slots: [[HouseholdOutcome]]
    init(count: Int) { slots = Array(repeating: [], count: count) }
    func set(_ i: Int, _ value: [HouseholdOutcome]) {
        slots.withUnsafeMutableBufferPointer { $0[i] = value }
    }
    var all: [[HouseholdOutcome]] { slots }
}

/// Each worker classifies its own batch: the classifiers are never shared between threads.
private struct Work: @unchecked Sendable {
    let workers: [Classifier]
    let batches: [SurveyBatch]
}

/// Progress on standard error for work that lasts more than a second, only when standard error
/// is a terminal (never in logs or pipes).
final class Progress {
    private let enabled = isatty(2) == 1
    private let start = Progress.now()
    private var last = 0.0
    private var shown = false

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    func update(households: Int) {
        guard enabled else { return }
        let t = Progress.now()
        let elapsed = t - start
        guard elapsed > 1, t - last > 0.25 else { return }
        last = t
        shown = true
        let rate = Double(households) / elapsed
        fputs("\r\u{1B}[K\(households) households, \(Int(rate)) households/s, \(Int(elapsed)) s", standardError)
        fflush(standardError)
    }

    func clear() {
        guard shown else { return }
        fputs("\r\u{1B}[K", standardError)
        fflush(standardError)
    }
}
