// survey-bench: reading speed and memory of the Survey module on a generated survey.
//
//   swift build -c release --product survey-gen --product survey-bench
//   .build/release/survey-bench --households 1000000 [--dir bench/work/survey-1m] [--batch 4096]
//
// Generates the survey with survey-gen (next to this binary) when DIR has none, then reads it
// with SurveyReader (order check + typed, validated, joined batches) and prints MB/s, rows/s and
// peak memory (VmHWM from /proc/self/status). A second line times the bare CSV scan.
import Dispatch
import Survey
#if canImport(Glibc)
import Glibc
#endif

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func cpuTime() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
}

func status(_ key: String) -> String {
    guard let f = fopen("/proc/self/status", "r") else { return "?" }
    defer { fclose(f) }
    var line = [CChar](repeating: 0, count: 512)
    while fgets(&line, 512, f) != nil {
        let s = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if s.hasPrefix(key + ":") { return s.dropFirst(key.count + 1).split(separator: " ").joined(separator: " ").replacingOccurrences("\n", "") }
    }
    return "?"
}

extension String {
    func replacingOccurrences(_ a: Character, _ b: String) -> String { String(self.filter { $0 != a }) }
}

func fileSize(_ path: String) -> Int {
    var st = stat()
    return stat(path, &st) == 0 ? Int(st.st_size) : -1
}

var households = 1_000_000
var dir: String?
var batch = 4096
var threads = 1
var layoutOnly = false
if let i = CommandLine.arguments.firstIndex(of: "--layout-only") { layoutOnly = true; _ = i }
var args = Array(CommandLine.arguments.dropFirst().filter { $0 != "--layout-only" })
while args.count >= 2 {
    let (k, v) = (args.removeFirst(), args.removeFirst())
    switch k {
    case "--households": households = Int(v)!
    case "--dir": dir = v
    case "--batch": batch = Int(v)!
    case "--threads": threads = max(1, Int(v)!)
    default: print("unknown option \(k)"); exit(2)
    }
}
let binDir = CommandLine.arguments[0].split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
let work = dir ?? "bench/work/survey-\(households)"
let hPath = work + "/households.csv", mPath = work + "/members.csv"
if fileSize(hPath) < 0 || fileSize(mPath) < 0 {
    mkdir("bench", 0o755); mkdir("bench/work", 0o755)
    let gen = (binDir.isEmpty ? "." : binDir) + "/survey-gen"
    let cmd = "\(gen) --households \(households) --seed 7 --out \(work)"
    print("generating: \(cmd)")
    let t0 = now()
    guard system(cmd) == 0 else { print("survey-gen failed"); exit(2) }
    print("generated in \(Int(now() - t0)) s")
}
let bytes = fileSize(hPath) + fileSize(mPath)
let rulesRoot = CommandLine.arguments.contains("--rules") ? "Rules" : "Rules"
let schema: SurveySchema
do { schema = try SurveySchema.shipped(rulesRoot: rulesRoot) } catch { print(error); exit(2) }

/// A survey sorted by household id is read with no layout pass on one thread, and with only
/// households.csv's on more (`assumeSorted`, checked as it is read), as `povrules classify -o
/// FILE` reads it; when it is not sorted, it is read again after the full pass.
var assumeSorted = !layoutOnly
@MainActor func openReader(assumeSorted: Bool) -> SurveyReader {
    do {
        return try SurveyReader.open(householdsPath: hPath, membersPath: mPath, schema: schema, mapping: nil,
                                     assumeSorted: assumeSorted, inParts: threads > 1)
    } catch { print(error); exit(2) }
}
let t0 = now()
let cpu0 = cpuTime()
var reader = openReader(assumeSorted: assumeSorted)
var layoutTime = now() - t0
var layoutCPU = cpuTime() - cpu0
if layoutOnly {
    print("layout pass (order, parts, duplicate ids): \(layoutTime) s, \(layoutCPU) s CPU, \(reader.parts.count) parts")
    exit(0)
}
var batches = 0
var checksum = 0
/// Reads parts on `threads` threads, each with its own part reader; reports are absorbed in part
/// order, as `povrules` does.
final class PartQueue: @unchecked Sendable {
    let parts: [SurveyPart]
    var next = 0
    var reports: [SurveyPartReport?]
    var batches = 0, checksum = 0
    var failure: String?
    var readers: [SurveyReader] = []
    private var mutex = pthread_mutex_t()
    init(_ parts: [SurveyPart]) { self.parts = parts; reports = Array(repeating: nil, count: parts.count); pthread_mutex_init(&mutex, nil) }
    func locked<R>(_ body: () -> R) -> R { pthread_mutex_lock(&mutex); defer { pthread_mutex_unlock(&mutex) }; return body() }
}
@MainActor func readInParts() {
    let q = PartQueue(reader.parts)
    var partReaders: [SurveyReader] = []
    do { for _ in 0..<threads { partReaders.append(try reader.makePartReader()) } } catch { print(error); exit(2) }
    q.readers = partReaders
    let group = DispatchGroup()
    let size = batch
    for w in 0..<threads {
        DispatchQueue.global().async(group: group) {
            let r = q.readers[w]
            var b = 0, sum = 0
            while true {
                let k: Int = q.locked { defer { q.next += 1 }; return q.next }
                if k >= q.parts.count { break }
                r.read(part: q.parts[k])
                do {
                    while let x = try r.next(maxHouseholds: size) { b += 1; sum &+= x.members.count &+ Int(x.ageMonths.last ?? 0) }
                } catch { q.locked { q.failure = "\(error)" } }
                let report = r.takeReport()
                q.locked { q.reports[k] = report }
            }
            q.locked { q.batches += b; q.checksum &+= sum }
        }
    }
    group.wait()
    if let f = q.failure { print(f); exit(2) }
    for r in q.reports { reader.absorb(r!) }
    batches = q.batches
    checksum = q.checksum
}
@MainActor func readWhole() {
    batches = 0
    checksum = 0
    do {
        while let b = try reader.next(maxHouseholds: batch) {
            batches += 1
            checksum &+= b.members.count &+ Int(b.ageMonths.last ?? 0)
        }
    } catch { print(error); exit(2) }
}
@MainActor func read() { if threads > 1 && reader.streaming { readInParts() } else { readWhole() } }
read()
if reader.sortedAssumptionFailed {
    print("not sorted by household id: read again after the layout pass")
    assumeSorted = false
    let l0 = now(), lc0 = cpuTime()
    reader = openReader(assumeSorted: false)
    (layoutTime, layoutCPU) = (now() - l0, cpuTime() - lc0)
    read()
}
let dt = now() - t0
let cpu = cpuTime() - cpu0
let c = reader.counts
let rows = c.householdsRead + c.membersRead
func fmt(_ x: Double, _ d: Int = 1) -> String {
    var p = 1.0; for _ in 0..<d { p *= 10 }
    let v = (x * p).rounded() / p
    return "\(v)"
}
print("survey: \(work) (\(fmt(Double(bytes) / 1e6)) MB, \(c.householdsRead) households, \(c.membersRead) members, streaming: \(reader.streaming))")
print("read:   \(fmt(dt, 3)) s  \(fmt(Double(bytes) / 1e6 / dt)) MB/s  \(fmt(Double(rows) / dt / 1e6, 2)) M rows/s  (\(batches) batches, \(reader.problems.count) problems, check \(checksum % 1000))")
print("layout pass (order, parts, duplicate ids): \(fmt(layoutTime, 3)) s, \(fmt(layoutCPU, 3)) s CPU, \(reader.parts.count) parts; threads: \(threads)\(assumeSorted ? "; survey assumed sorted, checked while reading" : "")")
print("per core: \(fmt(cpu, 3)) s CPU  \(fmt(Double(bytes) / 1e6 / cpu)) MB/s  \(fmt(Double(rows) / cpu / 1e6, 2)) M rows/s")
let s0 = now(), sc0 = cpuTime()
var scanned = 0
do {
    scanned += try CSVScan.count(path: hPath).fields
    scanned += try CSVScan.count(path: mPath).fields
} catch { print(error); exit(2) }
let scpu = cpuTime() - sc0
print("bare CSV scan (no typing): \(fmt(now() - s0, 3)) s, \(fmt(Double(bytes) / 1e6 / scpu)) MB/s per core, \(scanned) fields")
print("peak memory (VmHWM): \(status("VmHWM"))")
