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
    /// Households classified per status, in the order the statuses were first seen: a few
    /// statuses, compared in place (cheaper than hashing each household's status).
    private var statusTally: [(status: String, count: Int)] = []
    var classCounts: [String: Int] {
        var counts: [String: Int] = [:]
        for (s, n) in statusTally { counts[s, default: 0] += n }
        return counts
    }
    private(set) var classOrder: [String] = []
    private(set) var classified = 0
    private(set) var engineRejected: [RejectedHousehold] = []
    /// Render each household's explanation texts (`HouseholdResult.reasons`); commands whose
    /// output does not show them (CSV classification) turn this off: it is most of the cost.
    var withReasons = true {
        didSet { for w in workers { w.withReasons = withReasons } }
    }

    /// `outputCanBeTakenBack`: the caller can take back everything it made of the run (output
    /// to a file it can write again from the start). The survey is then read assuming it sorted
    /// (`SurveyReader.open`'s `assumeSorted`: no pass over members.csv before the parts, none at
    /// all with one worker); when it is not, `mustReadAgain()` says so after the batches, and the
    /// caller takes its output back and runs again without this.
    init(survey: SurveyOptions, rules: LoadedRules, asOf: String?, threads: Int? = nil, outputCanBeTakenBack: Bool = false) throws {
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
        let n = max(1, threads ?? SurveyRun.cores())
        reader = try survey.openReader(schema: rules.schema, asOf: date, assumeSorted: outputCanBeTakenBack, inParts: n > 1)
        let policy = ReferencePolicy(asOf: date)
        let labels = rules.codeLabels
        classifier = Classifier(library: rules.compiled, policy: policy, codeLabels: labels)
        workers = [classifier] + (1..<n).map { _ in Classifier(library: rules.compiled, policy: policy, codeLabels: labels) }
        for set in rules.library.ruleSets {
            for c in set.classes where !classOrder.contains(c.id) { classOrder.append(c.id) }
        }
    }

    /// Households per batch: as many as a part of a streaming survey holds, so that each part is
    /// classified in one go and the classifier's per-batch costs (groups, mask leaves, column
    /// set-up) are paid once per part. Measured at 1M households on two threads, alternated nine
    /// times: 4.5 % less CPU than 4,096 for 5 MB more peak memory; 1,024 cost more.
    static let batchHouseholds = SurveyReader.largestPart

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

    /// Like `forEachOutcome`, a batch at a time, with a step that runs on the worker right after
    /// the batch is classified (formatting its output, say), so that this thread only writes.
    /// The batches are as the classifier gives them: the households decided over columns are
    /// not made into outcomes (`ClassifiedBatch`), for output that reads them from the columns.
    func forEachClassified<P>(prepare: @escaping (ClassifiedBatch) -> P, _ body: (ClassifiedBatch, P) throws -> Void) throws {
        try inParallel({ worker, batch in
            let classified = worker.classifyBatch(batch)
            return (classified, prepare(classified))
        }) { _, done in
            let classified = done.0
            for case .rejected(let r) in classified.scalarOutcomes { engineRejected.append(r) }
            for (status, n) in classified.statusCounts() { count(status: status, n) }
            try body(classified, done.1)
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
        case .classified(let r): count(status: r.status, 1)
        case .rejected(let r): engineRejected.append(r)
        }
    }

    /// `n` more households classified with `status`.
    private func count(status: String, _ n: Int) {
        classified += n
        for i in 0..<statusTally.count where statusTally[i].status == status {
            statusTally[i].count += n
            return
        }
        if !classOrder.contains(status) { classOrder.append(status) }
        statusTally.append((status, n))
    }

    /// Classifies batch by batch, for commands that also read the survey rows of the households
    /// (aggregates, targets), with a step that runs on the worker right after the batch is
    /// classified: `prepare` gets the worker's own state (made by `state`, one per worker, so
    /// it needs no lock), the batch and its outcomes; `body` gets what it returns, in input
    /// order, on this thread. Work that need not be in order moves off the writing thread.
    func forEachClassifiedBatch<S, P>(state: () -> S,
                                      prepare: @escaping (S, SurveyBatch, [HouseholdOutcome]) -> P,
                                      _ body: (P) throws -> Void) throws {
        let states = WorkerStates(workers: workers, states: workers.map { _ in state() })
        try inParallel({ worker, batch in
            let outcomes = worker.classify(batch)
            return (outcomes, prepare(states.state(of: worker), batch, outcomes))
        }) { _, done in
            for outcome in done.0 { count(outcome) }
            try body(done.1)
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

    /// The parallel path of every command. When the two files are in the same order (review
    /// exports are), the survey is cut into parts at household boundaries and each worker reads
    /// and classifies whole parts on its own thread, with its own part reader and classifier;
    /// otherwise one reader thread feeds the workers batch by batch. Either way `body` gets each
    /// batch with its results on this thread, in input order, and the parts' problems and counts
    /// are added in part order, so the output is the same whatever the number of threads. A
    /// bounded number of parts (or batches) is in flight: memory does not grow with the survey.
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
        if reader.streaming && reader.parts.count > 1 {
            try inParts(work, body)
        } else {
            try batchByBatch(work, body)
        }
    }

    private func inParts<T>(_ work: @escaping (Classifier, SurveyBatch) -> T,
                            _ body: (SurveyBatch, T) throws -> Void) throws {
        let n = workers.count
        let parts = reader.parts
        var partReaders: [SurveyReader] = []
        do {
            for _ in 0..<n { partReaders.append(try reader.makePartReader()) }
        } catch {
            Report.errors(error.diagnostics)
            throw ExitStatus.badInput
        }
        let window = 2 * n
        let ring = PartRing<T>(depth: window, count: parts.count)
        let job = PartWork(readers: partReaders, workers: workers, work: work, parts: parts, ring: ring)
        for w in 0..<n {
            DispatchQueue(label: "povrules.worker.\(w)").async {
                let reader = job.readers[w], classifier = job.workers[w]
                while let k = job.ring.claim() {
                    reader.read(part: job.parts[k])
                    var items: [(SurveyBatch, T)] = []
                    do {
                        while let batch = try reader.next(maxHouseholds: SurveyRun.batchHouseholds) {
                            items.append((batch, job.work(classifier, batch)))
                        }
                        job.ring.put(k, .done(items, reader.takeReport()))
                    } catch {
                        job.ring.put(k, .failed(error))
                    }
                }
            }
        }
        for k in 0..<parts.count {
            switch ring.take(k) {
            case .failed(let error):
                ring.stop()
                if let d = error as? Diagnostic { Report.errors([d]) }
                throw ExitStatus.badInput
            case .done(let items, let report):
                do {
                    for (batch, result) in items { try body(batch, result) }
                } catch {
                    ring.stop()
                    throw error
                }
                reader.absorb(report)
            }
            ring.release()
            if reader.sortedAssumptionFailed {
                // The rest is read again (see `init`).
                ring.stop()
                return
            }
            progress.update(households: classified + engineRejected.count)
        }
        ring.finish()
    }

    private func batchByBatch<T>(_ work: @escaping (Classifier, SurveyBatch) -> T,
                                 _ body: (SurveyBatch, T) throws -> Void) throws {
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
            return try reader.next(maxHouseholds: SurveyRun.batchHouseholds)
        } catch {
            Report.errors([error])
            throw ExitStatus.badInput
        }
    }

    private let progress = Progress()

    /// True when the survey was read assuming it sorted and it was not (see `init`): the
    /// batches ended early, and what was made of them must be taken back.
    func mustReadAgain() -> Bool {
        guard reader.sortedAssumptionFailed else { return false }
        progress.clear()
        return true
    }

    /// Prints the problems and the accounting to standard error; exits 2 when rows (of either
    /// file) were rejected.
    func finish() throws {
        progress.clear()
        let problems = reader.problems.map(\.diagnostic) + engineRejected.map(\.problem.diagnostic)
        Report.errors(problems)
        let c = reader.counts
        let rejected = c.householdsRejected + engineRejected.count
        let classCounts = self.classCounts
        let perClass = classOrder.filter { classCounts[$0] != nil }.map { "\($0) \(classCounts[$0]!)" }.joined(separator: ", ")
        Report.printErr("households: read \(c.householdsRead), classified \(classified), rejected \(rejected); members: read \(c.membersRead), accepted \(c.membersAccepted), rejected \(c.membersRejected)")
        if !perClass.isEmpty { Report.printErr("classes: \(perClass)") }
        // For measuring the column path: how many households it sent back to the scalar path.
        if getenv("POVRULES_COLUMN_STATS") != nil {
            let viaColumns = workers.map(\.columnHouseholds).reduce(0, +), scalar = workers.map(\.scalarHouseholds).reduce(0, +)
            Report.printErr("column path: \(viaColumns) households in column batches, \(scalar) of them classified one by one")
        }
        // A member row that joins no household is bad input too, though every household is classified.
        if rejected > 0 || c.membersRejected > 0 { throw ExitStatus.badInput }
    }
}

/// One state per worker, found by the worker's classifier: each is touched by one thread only.
private struct WorkerStates<S>: @unchecked Sendable {
    let workers: [Classifier]
    let states: [S]
    func state(of worker: Classifier) -> S {
        states[workers.firstIndex { $0 === worker }!]
    }
}

/// Each worker works on its own batches: the classifiers are never shared between threads.
private struct Work<T>: @unchecked Sendable {
    let run: SurveyRun
    let workers: [Classifier]
    let work: (Classifier, SurveyBatch) -> T
}

/// Each worker reads and classifies its own parts with its own reader and classifier.
private struct PartWork<T>: @unchecked Sendable {
    let readers: [SurveyReader]
    let workers: [Classifier]
    let work: (Classifier, SurveyBatch) -> T
    let parts: [SurveyPart]
    let ring: PartRing<T>
}

/// The parts in flight between the workers and the consumer. A worker claims the next part
/// only while fewer than `depth` parts are claimed and not yet handed on, and puts its result in
/// slot `part mod depth`; the consumer takes the parts in order and releases each slot. After
/// `stop()` no part is claimed any more; `finish()` waits until the workers have let go.
private final class PartRing<T>: @unchecked Sendable {
    enum Item {
        case done([(SurveyBatch, T)], SurveyPartReport)
        case failed(Error)
    }
    let depth: Int
    let count: Int
    private let lock = PthreadMutex()
    private let free: DispatchSemaphore
    private var slots: [Item?]
    private let ready: [DispatchSemaphore]
    private var nextPart = 0
    private var stopped = false
    private let idle = DispatchGroup()

    init(depth: Int, count: Int) {
        self.depth = depth
        self.count = count
        free = DispatchSemaphore(value: depth)
        slots = Array(repeating: nil, count: depth)
        ready = (0..<depth).map { _ in DispatchSemaphore(value: 0) }
    }

    /// The next part to read, or nil when all are claimed or the consumer stopped.
    func claim() -> Int? {
        free.wait()
        let k: Int? = lock.withLock {
            guard !stopped, nextPart < count else { return nil }
            defer { nextPart += 1 }
            idle.enter()
            return nextPart
        }
        if k == nil { free.signal() }
        return k
    }

    func put(_ k: Int, _ item: Item) {
        let i = k % depth
        lock.withLock { slots[i] = item }
        idle.leave()
        ready[i].signal()
    }

    func take(_ k: Int) -> Item {
        let i = k % depth
        ready[i].wait()
        return lock.withLock {
            let item = slots[i]!
            slots[i] = nil
            return item
        }
    }

    /// The consumer is done with a part: one more may be claimed.
    func release() { free.signal() }

    /// No more parts are claimed; waits for the parts being read to end.
    func stop() {
        lock.withLock { stopped = true }
        free.signal()
        idle.wait()
        // Every permit back (and more): a semaphore must not end below its initial value.
        for _ in 0...depth { free.signal() }
    }

    /// After the last part: lets every waiting worker see that nothing is left.
    func finish() {
        for _ in 0..<depth { free.signal() }
        idle.wait()
    }
}

/// A mutex (pthread), for the few shared counters of the pipeline.
private final class PthreadMutex: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }
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
