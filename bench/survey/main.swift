// survey-bench: reading speed and memory of the Survey module on a generated survey.
//
//   swift build -c release --product survey-gen --product survey-bench
//   .build/release/survey-bench --households 1000000 [--dir bench/work/survey-1m] [--batch 4096]
//
// Generates the survey with survey-gen (next to this binary) when DIR has none, then reads it
// with SurveyReader (order check + typed, validated, joined batches) and prints MB/s, rows/s and
// peak memory (VmHWM from /proc/self/status). A second line times the bare CSV scan.
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
        let s = String(cString: line)
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
var args = Array(CommandLine.arguments.dropFirst())
while args.count >= 2 {
    let (k, v) = (args.removeFirst(), args.removeFirst())
    switch k {
    case "--households": households = Int(v)!
    case "--dir": dir = v
    case "--batch": batch = Int(v)!
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

let t0 = now()
let cpu0 = cpuTime()
let reader: SurveyReader
do { reader = try SurveyReader(householdsPath: hPath, membersPath: mPath, schema: schema, mapping: nil) } catch { print(error); exit(2) }
var batches = 0
var checksum = 0
do {
    while let b = try reader.next(maxHouseholds: batch) {
        batches += 1
        checksum &+= b.members.count &+ Int(b.ageMonths.last ?? 0)
    }
} catch { print(error); exit(2) }
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
