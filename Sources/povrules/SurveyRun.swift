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
    /// Render each household's explanation texts (`HouseholdResult.reasons`); commands whose
    /// output does not show them (CSV classification) turn this off: it is most of the cost.
    var withReasons = true {
        didSet { for w in workers { w.withReasons = withReasons } }
    }

    init(survey: SurveyOptions, rules: LoadedRules, asOf: String?, threads: Int? = nil) throws {
        var date: CivilDate?
        if let asOf {
            guard let d = CivilDate(asOf) else {
                Report.printErr("error: --as-of '\(asOf)' is not a date YYYY-MM-DD")
                throw ExitStatus.badInput
            }
            date = d
        }
        if let threads, threads < 1 {
            Report.printErr("error: --threads must be at least 1, found \(threads)")
            throw ExitStatus.badInput
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
        try inParallel({ worker, batch in worker.classify(batch) }) { _, outcomes in
            try emit(outcomes, body)
        }
    }

    private func emit(_ outcomes: [HouseholdOutcome], _ body: (HouseholdOutcome) throws -> Void) throws {
        for outcome in outcomes {
            count(outcome)
            try body(outcome)
        }
    }

    private func count(_ outcome: HouseholdOutcome) {
        switch outcome {
        case .classified(let r):
            classified += 1
            if classCounts[r.status] == nil, !classOrder.contains(r.status) { classOrder.append(r.status) }
            classCounts[r.status, default: 0] += 1
        case .rejected(let r):
            engineRejected.append(r)
        }
    }

    /// Like `forEachOutcome`, for commands that also read the survey row of each classified
    /// household (aggregates, targets): `body` gets the batch, the household's index in it and
    /// the result. Classified on all workers at once, handed on in input order.
    func forEachClassified(_ body: (SurveyBatch, Int, HouseholdResult) throws -> Void) throws {
        try inParallel({ worker, batch in worker.classify(batch) }) { batch, outcomes in
            for (h, outcome) in outcomes.enumerated() {
                count(outcome)
                if case .classified(let r) = outcome { try body(batch, h, r) }
            }
        }
    }

    /// Classifies every household and evaluates the programmes for it (`povrules eligibility`),
    /// on all workers at once; `body` gets each household's outcome and results in input order.
    func forEachEligibility(_ options: EligibilityOptions,
                            _ body: (HouseholdOutcome, [EligibilityResult]) throws -> Void) throws {
        try inParallel({ worker, batch in
            (0..<batch.households.count).map { worker.classifyWithEligibility(household: $0, of: batch, options: options) }
        }) { _, pairs in
            for (outcome, results) in pairs {
                count(outcome)
                try body(outcome, results)
            }
        }
    }

    /// The parallel path of every command. A reader thread reads batches in order while the
    /// workers classify the batches already read (batch i goes to worker i mod n, and a
    /// classifier is never shared between threads); `body` gets each batch with its results on
    /// this thread, in input order. So the output is the same whatever the number of threads,
    /// and at most `2 × workers` batches are in flight: memory does not grow with the survey.
    /// With one worker, everything runs on this thread, one batch after the other.
    private func inParallel<T>(_ work: @escaping (Classifier, SurveyBatch) -> T,
                               _ body: (SurveyBatch, T) throws -> Void) throws {
        if workers.count == 1 {
            while let batch = try nextBatch() {
                try body(batch, work(workers[0], batch))
                progress.update(households: classified + engineRejected.count)
            }
            return
        }
        let n = workers.count
        let pipe = Pipeline<T>(depth: 2 * n)
        let job = Work(run: self, workers: workers, work: work)
        let queues = (0..<n).map { DispatchQueue(label: "povrules.worker.\($0)") }
        DispatchQueue(label: "povrules.reader").async {
            var seq = 0
            while true {
                pipe.free.wait()
                if pipe.stopped { pipe.end(seq, nil); return }
                let batch: SurveyBatch?
                do { batch = try job.run.nextBatch() } catch { pipe.end(seq, error); return }
                guard let batch else { pipe.end(seq, nil); return }
                let s = seq, w = seq % n
                queues[w].async { pipe.put(s, batch, job.work(job.workers[w], batch)) }
                seq += 1
            }
        }
        var seq = 0
        while true {
            switch pipe.take(seq) {
            case .end(let error):
                pipe.free.signal()  // every permit back: a semaphore must end at its initial value
                if let error { throw error }
                return
            case .done(let batch, let result):
                do {
                    try body(batch, result)
                } catch {
                    // Stop the reader and let the batches in flight finish before unwinding.
                    pipe.stopped = true
                    pipe.free.signal()
                    seq += 1
                    while case .done = pipe.take(seq) { pipe.free.signal(); seq += 1 }
                    pipe.free.signal()
                    throw error
                }
            }
            pipe.free.signal()
            seq += 1
            progress.update(households: classified + engineRejected.count)
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

/// Each worker works on its own batches: the classifiers are never shared between threads.
private struct Work<T>: @unchecked Sendable {
    let run: SurveyRun
    let workers: [Classifier]
    let work: (Classifier, SurveyBatch) -> T
}

/// The batches in flight between the reader, the workers and the consumer: a ring of `depth`
/// slots, slot `seq mod depth` for batch `seq`. The reader takes a `free` permit before reading a
/// batch, the consumer gives it back after handing the batch on, so a slot is never reused
/// before it was taken.
private final class Pipeline<T>: @unchecked Sendable {
    enum Item {
        case done(SurveyBatch, T)
        case end(Error?)
    }
    let depth: Int
    let free: DispatchSemaphore
    private var slots: [Item?]
    private let ready: [DispatchSemaphore]
    /// Set by the consumer when it stops early; read by the reader after each permit.
    var stopped = false

    init(depth: Int) {
        self.depth = depth
        free = DispatchSemaphore(value: depth)
        slots = Array(repeating: nil, count: depth)
        ready = (0..<depth).map { _ in DispatchSemaphore(value: 0) }
    }

    func put(_ seq: Int, _ batch: SurveyBatch, _ result: T) { store(seq, .done(batch, result)) }
    func end(_ seq: Int, _ error: Error?) { store(seq, .end(error)) }

    private func store(_ seq: Int, _ item: Item) {
        let i = seq % depth
        slots.withUnsafeMutableBufferPointer { $0[i] = item }
        ready[i].signal()
    }

    func take(_ seq: Int) -> Item {
        let i = seq % depth
        ready[i].wait()
        return slots.withUnsafeMutableBufferPointer { b in
            let item = b[i]!
            b[i] = nil
            return item
        }
    }
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
