import CSplit
import Diagnostics
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A slice of a survey that can be read on its own: a run of households.csv and the members.csv
/// rows of exactly those households. Parts start at a household whose members start the member
/// part, so reading the parts one after the other reads the same rows, in the same order, with
/// the same results, as reading the files whole.
public struct SurveyPart: Sendable, Equatable {
    /// File offset and line of the part's first households.csv row, and the offset it ends at;
    /// the line is 0 for parts whose lines are counted from their start (`SurveyLayout.partLines`).
    public var householdsStart: Int, householdsLine: Int, householdsEnd: Int
    /// The same for members.csv.
    public var membersStart: Int, membersLine: Int, membersEnd: Int
}

/// What one quick pass over the household-id columns of both files finds before the survey is
/// read: whether the files can be joined by streaming, where they split into parts, and which
/// household rows repeat an earlier row's id.
///
/// Duplicate ids are found here, once for the whole survey, so that parts read on different
/// threads still reject exactly the rows a single reader rejects (the later ones, naming the
/// first). While the ids ascend (a survey sorted by id, the usual export) none can repeat and
/// nothing is kept; from the first id that does not, the pass keeps one 16-byte fingerprint per
/// household; for large surveys the fingerprints go to temporary files by hash range and each
/// range is checked alone, so memory stays bounded whatever the number of households.
struct SurveyLayout {
    /// True when every run of members belongs to a household that comes later in households.csv
    /// than the previous run's: the files can be merged in one streaming pass.
    var inOrder: Bool
    /// The parts, in file order (one part when the files are not in order).
    var parts: [SurveyPart]
    /// Line of a repeated household row → line of the first row with its id.
    var duplicateOf: [Int32: Int32]
    /// True for a layout taken without the pass (`assumingSorted`, `cutAssumingSorted`), which
    /// the readers check as they read.
    var assumed = false
    /// For parts cut at guessed places (`cutAssumingSorted`): where each part's lines start in
    /// both files, known only once the parts before it are read. Each part's rows are read from
    /// line 0 and moved to their lines before the part is handed on.
    var partLines: PartLineChain?
    /// For parts cut at guessed places: the household id each part starts with (none for the
    /// first part), as the cut read it.
    var partFirstIDs: [[UInt8]] = []

    /// Households per part: small enough that the parts in flight take little memory, large
    /// enough that each costs little to start.
    static let defaultPartSize = 8192
    /// Fingerprints kept in memory at once: beyond this the check spills to temporary files.
    static let fingerprintsInMemory = 1 << 20

    /// The layout of a survey taken to be sorted by household id, as review exports are, made
    /// without reading either file: in order, one part (the files from the given offsets and
    /// lines, after their headers), no repeated id. A reader of it checks, as it reads the
    /// files from the start, what the pass would have found (`SurveyReader.sortedAssumptionFailed`):
    /// a survey sorted by id is read once instead of twice.
    static func assumingSorted(households: (offset: Int, line: Int), members: (offset: Int, line: Int)) -> SurveyLayout {
        freeAReaderBuffer()
        return SurveyLayout(inOrder: true, parts: [SurveyPart(householdsStart: households.offset, householdsLine: households.line, householdsEnd: Int.max,
                                                       membersStart: members.offset, membersLine: members.line, membersEnd: Int.max)],
                     duplicateOf: [:], assumed: true)
    }

    /// Allocates and frees a block as large as a reader's buffer, as the pass does with its
    /// readers' buffers. glibc maps a block above its threshold afresh at each allocation and
    /// raises the threshold to the largest mapped block freed: without this, with no pass, the
    /// threshold stays low and every batch's arrays are mapped and unmapped, a page fault per
    /// page (134,000 page faults instead of 9,000 reading 1M households, +0.4 s of system time;
    /// in parts, +0.3 s).
    private static func freeAReaderBuffer() {
        UnsafeMutablePointer<UInt8>.allocate(capacity: CSVReader.defaultBufferSize + 64).deallocate()
    }

    /// The layout of a survey taken to be sorted by household id, in parts, for readers of the
    /// parts that check as they read what the pass would have found (`SurveyReader.sortedAssumptionFailed`).
    /// Neither file is read: both are cut by a few small reads at guessed places (`SortedRows`).
    /// households.csv is cut about every `partSize` households or a little less (from the
    /// length of its first rows), at the first line start past each place whose id cell reads
    /// plainly; the cuts' ids must ascend (else nil: the full pass is needed). Each part's slice
    /// of members.csv starts at the first row whose id sorts at or after the part's first
    /// household id, found by a search. Every cut is a guess: the reader of the part before
    /// checks it by ending there on a record's end, with its ids before the next part's first
    /// (`partFirstIDs`), and the reader of the part checks that its households start with that
    /// id. The parts' lines are counted from the start of their slices (`partLines`).
    static func cutAssumingSorted(_ hPath: String, _ hCol: Int, _ mPath: String, _ mCol: Int,
                                  households: (offset: Int, line: Int), members: (offset: Int, line: Int),
                                  partSize: Int) throws(Diagnostic) -> SurveyLayout? {
        freeAReaderBuffer()
        let hFile = try SortedRows(path: hPath, column: hCol, from: households.offset)
        // A little under `partSize` households: a part is then read in one batch of `partSize`
        // even where its rows are a little shorter than the first ones.
        let step = max(1, partSize * hFile.averageRowLength() * 15 / 16)
        var cuts: [(start: Int, id: [UInt8])] = []
        var at = households.offset + step
        while at < hFile.size, let cut = hFile.firstLineWithID(from: hFile.lineStart(atOrAfter: at)) {
            if let last = cuts.last, KeyScan.order(last.id, last.id.count, cut.id, cut.id.count) >= 0 { return nil }
            cuts.append(cut)
            at = cut.start + step
        }
        let mFile = try SortedRows(path: mPath, column: mCol, from: members.offset)
        var parts: [SurveyPart] = []
        var start = households.offset, membersStart = members.offset
        for (k, cut) in cuts.enumerated() {
            let next = mFile.first(atLeast: cut.id, from: membersStart, share: 1.0 / Double(cuts.count + 1 - k))
            parts.append(SurveyPart(householdsStart: start, householdsLine: 0, householdsEnd: cut.start,
                                    membersStart: membersStart, membersLine: 0, membersEnd: next))
            start = cut.start
            membersStart = next
        }
        parts.append(SurveyPart(householdsStart: start, householdsLine: 0, householdsEnd: Int.max,
                                membersStart: membersStart, membersLine: 0, membersEnd: Int.max))
        var layout = SurveyLayout(inOrder: true, parts: parts, duplicateOf: [:], assumed: true)
        layout.partLines = PartLineChain(parts: parts.count, firstLines: (households.line, members.line))
        layout.partFirstIDs = [[]] + cuts.map(\.id)
        return layout
    }

    /// `expectedHouseholds` (an estimate) sizes the duplicate check. `plain` makes the pass
    /// without its shortcuts (`memchr` per row, every id in the fingerprint table): tests check
    /// that both find the same layout, also with a small `bufferSize` (many refills).
    /// `splitMembersFrom`: the smallest members.csv scanned by two threads (`MemberRuns`).
    static func scan(_ hPath: String, _ hCol: Int, _ mPath: String, _ mCol: Int,
                     expectedHouseholds: Int, partSize: Int = defaultPartSize, plain: Bool = false,
                     bufferSize: Int = 4 << 20, splitMembersFrom: Int = MemberRuns.splitMinimum) throws(Diagnostic) -> SurveyLayout {
        let h = try CSVReader(path: hPath, bufferSize: bufferSize), m = try CSVReader(path: mPath, bufferSize: bufferSize)
        _ = h.next()
        _ = m.next()
        let hFirst = (h.nextRecordFileOffset, h.line), mFirst = (m.nextRecordFileOffset, m.line)
        let quick = !plain
        let ids = DuplicateFinder(expected: expectedHouseholds, ascendingShortcut: quick)
        var households = 0

        /// Gives the duplicate check every household row before file offset `end` again, once
        /// it has left its ascending shortcut and needs them in its table: read anew (nothing was
        /// kept), exactly as the first time.
        func addEarlierHouseholds(upTo end: Int) throws(Diagnostic) {
            let r = try CSVReader(path: hPath, bufferSize: bufferSize)
            r.restrict(from: hFirst.0, line: hFirst.1, to: end)
            while r.nextKeyFields(column: hCol, quick: quick) {
                guard let (p, n) = key(r, hCol) else { continue }
                let added = ids.add(p, n, line: r.recordLine)
                assert(added)
            }
        }

        /// The next household row with an id (rows without one are skipped, as the reader
        /// rejects them for their own reasons).
        func nextHousehold() throws(Diagnostic) -> (UnsafePointer<UInt8>, Int)? {
            while h.nextKeyFields(column: hCol, quick: quick) {
                guard let (p, n) = key(h, hCol) else { continue }
                households += 1
                if !ids.add(p, n, line: h.recordLine) {
                    try addEarlierHouseholds(upTo: h.recordFileOffset)
                    let added = ids.add(p, n, line: h.recordLine)
                    assert(added)
                }
                return (p, n)
            }
            return nil
        }

        // members.csv is scanned on another thread, which hands on the start of each run of
        // members (its household id, offset and line) in chunks; this thread matches each run to
        // its household and checks the ids. The two files are read at once.
        let runs = try MemberRuns(m, column: mCol, quick: quick, splitFrom: splitMembersFrom, bufferSize: bufferSize)
        runs.start()
        var splits: [(Int, Int, Int, Int)] = []
        var lastSplit = 0
        var inOrder = true
        do throws(Diagnostic) {
            scanning: while let chunk = runs.next() {
                for r in chunk.first..<chunk.count {
                    let (p, n) = chunk.id(r)
                    var found = false
                    while let (q, k) = try nextHousehold() {
                        if k == n && (quick ? KeyScan.equal(q, p, n) : memcmp(q, p, n) == 0) { found = true; break }
                    }
                    if !found { inOrder = false; break scanning }
                    if households - lastSplit >= partSize {
                        splits.append((h.recordFileOffset, h.recordLine, chunk.offsets[r], chunk.line(r)))
                        lastSplit = households - 1
                    }
                }
            }
        } catch {
            runs.stop()
            throw error
        }
        runs.stop()
        // The rest of households.csv, for duplicate ids.
        while try nextHousehold() != nil {}
        let duplicates = ids.duplicates()

        guard inOrder else {
            return SurveyLayout(inOrder: false, parts: [SurveyPart(householdsStart: hFirst.0, householdsLine: hFirst.1, householdsEnd: Int.max,
                                                                  membersStart: mFirst.0, membersLine: mFirst.1, membersEnd: Int.max)],
                                duplicateOf: duplicates)
        }
        var parts: [SurveyPart] = []
        var start = (hFirst.0, hFirst.1, mFirst.0, mFirst.1)
        for s in splits {
            parts.append(SurveyPart(householdsStart: start.0, householdsLine: start.1, householdsEnd: s.0,
                                    membersStart: start.2, membersLine: start.3, membersEnd: s.2))
            start = s
        }
        parts.append(SurveyPart(householdsStart: start.0, householdsLine: start.1, householdsEnd: Int.max,
                                membersStart: start.2, membersLine: start.3, membersEnd: Int.max))
        return SurveyLayout(inOrder: true, parts: parts, duplicateOf: duplicates)
    }

    /// The id cell of the current record, trimmed and unescaped as the reader reads it; nil when
    /// the row has none.
    private static func key(_ r: CSVReader, _ c: Int) -> (UnsafePointer<UInt8>, Int)? {
        guard c < r.fieldCount else { return nil }
        let (p, n) = r.trimmedField(c)
        return n > 0 ? (p, n) : nil
    }
}

/// Where the rows of a household id start in a file sorted by household id (either of a
/// survey's), found with a few small reads instead of a pass over the file. Lines are taken to start after a line
/// feed and a row's id is read from its line, which is a guess: a line feed inside quotes ends
/// no record. A line whose id cell holds a quote, or that has no id, is passed over.
final class SortedRows {
    private let fd: Int32
    /// The file's size, and where its rows start (after the header).
    let size: Int, start: Int
    private let column: Int
    /// A window of the file: `window[0..<windowCount]` are the bytes from `windowOffset`. A few
    /// rows long: a search reads a window at each of a few dozen places per part.
    private var window = [UInt8](repeating: 0, count: SortedRows.scanBelow)
    private var windowOffset = 0, windowCount = 0

    init(path: String, column: Int, from start: Int) throws(Diagnostic) {
        fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw Diagnostic.error(at: nil, "\(path): cannot open file: \(String(cString: strerror(errno)))") }
        var st = stat()
        size = fstat(fd, &st) == 0 ? Int(st.st_size) : 0
        self.start = start
        self.column = column
    }

    deinit { close(fd) }

    /// The first line at or after `from` (a line start) with an id at or after `id` in byte
    /// order, or the file size when there is none. `share` is about the part of the rest of the
    /// file before it: the search probes there first, then halves the range it is in.
    func first(atLeast id: [UInt8], from: Int, share: Double) -> Int {
        /// True when `line` has an id that sorts before `id`.
        func before(_ line: (start: Int, id: [UInt8])?) -> Bool {
            guard let line else { return false }
            return KeyScan.order(line.id, line.id.count, id, id.count) < 0
        }
        let first = firstLineWithID(from: from)
        guard before(first) else { return first?.start ?? size }
        /// `before` for the first line with an id from the first line start at or after `offset`.
        func beforeAt(_ offset: Int) -> Bool { before(firstLineWithID(from: lineStart(atOrAfter: offset))) }
        // The first line with an id from `lo` on sorts before `id`, the one from `hi` on does
        // not. From the guess, steps growing by half until past it, then halving.
        var lo = from, hi = size
        var step = max(SortedRows.scanBelow, Int(Double(size - from) * share) / 2)
        var probe = from + 2 * step
        while probe < hi {
            if !beforeAt(probe) { hi = probe; break }
            lo = probe
            probe += step
            step += step / 2
        }
        while hi - lo > SortedRows.scanBelow {
            let mid = lo + (hi - lo) / 2
            if beforeAt(mid) { lo = mid } else { hi = mid }
        }
        // Line by line from the last place known to sort before.
        var at = lineStart(atOrAfter: lo)
        while let line = firstLineWithID(from: at) {
            if !before(line) { return line.start }
            at = lineStart(atOrAfter: line.start + 1)
        }
        return size
    }

    /// Ranges this short are read line by line.
    static let scanBelow = 4096

    /// About how long a row is, in bytes, from the lines of the first 64 KB after the header
    /// (the rest of the file when it holds no line end there).
    func averageRowLength() -> Int {
        var sample = [UInt8](repeating: 0, count: 1 << 16)
        let n = sample.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(start)) }
        let lines = n > 0 ? sample[..<n].reduce(0) { $1 == 0x0A ? $0 + 1 : $0 } : 0
        return lines > 0 ? max(1, n / lines) : max(1, size - start)
    }

    /// The first line start at or after `offset`: `offset` itself when it is the start or
    /// follows a line feed; the size when there is none.
    func lineStart(atOrAfter offset: Int) -> Int {
        if offset <= start { return start }
        var at = offset - 1
        while at < size {
            guard let b = bytes(at) else { return size }
            if let i = b.firstIndex(of: 0x0A) { return at + (i - b.startIndex) + 1 }
            at += b.count
        }
        return size
    }

    /// The first line from the line start `from` on whose id cell is readable, with that id.
    func firstLineWithID(from: Int) -> (start: Int, id: [UInt8])? {
        var at = from
        while at < size {
            guard let (id, next) = line(at) else { return nil }
            if let id { return (at, id) }
            at = next
        }
        return nil
    }

    /// The id cell of the line starting at `at` (trimmed; nil when it is empty, the line is
    /// short, or the cell holds a quote) and where the next line starts.
    private func line(_ at: Int) -> ([UInt8]?, Int)? {
        var cell: [UInt8] = [], k = 0, unreadable = false
        var i = at
        while i < size {
            guard let b = bytes(i) else { return nil }
            for (j, c) in b.enumerated() {
                if c == 0x0A {
                    return (k >= column && !unreadable ? SortedRows.trimmed(cell) : nil, i + j + 1)
                }
                if k == column {
                    if c == 0x2C || c == 0x0D { k += 1 } else if c == 0x22 { unreadable = true } else { cell.append(c) }
                } else if c == 0x2C {
                    k += 1
                } else if c == 0x22 && k < column {
                    unreadable = true
                }
            }
            i += b.count
        }
        return (k >= column && !unreadable ? SortedRows.trimmed(cell) : nil, size)
    }

    private static func trimmed(_ cell: [UInt8]) -> [UInt8]? {
        cell.withUnsafeBufferPointer { c in
            guard let base = c.baseAddress else { return nil }
            let (p, n) = SurveyText.trimmingBlanks(base, c.count)
            return n > 0 ? Array(UnsafeBufferPointer(start: p, count: n)) : nil
        }
    }

    /// The bytes of the file from `offset` on that the window holds, reading it there when it
    /// does not; nil past the end.
    private func bytes(_ offset: Int) -> ArraySlice<UInt8>? {
        if offset < windowOffset || offset >= windowOffset + windowCount {
            let n = window.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
            guard n > 0 else { return nil }
            windowOffset = offset
            windowCount = n
        }
        return window[(offset - windowOffset)..<windowCount]
    }
}

/// The first lines of each part's rows in both files, for parts cut at guessed places
/// (`SurveyLayout.cutAssumingSorted`): part k's are part k-1's plus the lines part k-1 spans, which
/// its reader gives once it has read the part. Readers wait for the lines of the parts before
/// theirs (read at the same time on other threads, and claimed before theirs, so the wait is
/// short and always ends); a reader that gives up (the survey is not sorted) ends every wait.
final class PartLineChain: @unchecked Sendable {
    typealias Lines = (households: Int, members: Int)
    private var firstLines: [Lines?]
    private var failed = false
    private var lock = pthread_mutex_t()
    private var changed = pthread_cond_t()

    init(parts: Int, firstLines first: Lines) {
        firstLines = Array(repeating: nil, count: parts + 1)
        firstLines[0] = first
        pthread_mutex_init(&lock, nil)
        pthread_cond_init(&changed, nil)
    }

    deinit {
        pthread_mutex_destroy(&lock)
        pthread_cond_destroy(&changed)
    }

    /// The first lines of part `k`, once known; nil when a reader gave up.
    func firstLines(of k: Int) -> Lines? {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        while firstLines[k] == nil && !failed { pthread_cond_wait(&changed, &lock) }
        return failed ? nil : firstLines[k]
    }

    /// Part `k`'s rows span `lines` lines of each file.
    func part(_ k: Int, spans lines: Lines, from first: Lines) {
        pthread_mutex_lock(&lock)
        firstLines[k + 1] = (first.households + lines.households, first.members + lines.members)
        pthread_cond_broadcast(&changed)
        pthread_mutex_unlock(&lock)
    }

    /// A reader found the survey not sorted: every wait ends.
    func giveUp() {
        pthread_mutex_lock(&lock)
        failed = true
        pthread_cond_broadcast(&changed)
        pthread_mutex_unlock(&lock)
    }
}

/// The runs of members.csv (rows with the same household id, one after the other), found on
/// threads of their own and handed on in chunks through short queues.
///
/// members.csv, the larger file, sets the pass's time, so from `splitMinimum` bytes on two
/// threads scan it: the first from the start, the second from the first line start past the
/// middle. That place is a guess (a line break inside quotes ends no record), so the second
/// thread's runs count only once the first reaches exactly that place as a record's start; until
/// then the second reads no record with a quote (read from a wrong place, one could run on to
/// the end of the file) and holds at most `aheadChunks` chunks. When the first thread passes over
/// the place, or the second meets a quote first, the first scans on to the end alone.
final class MemberRuns: @unchecked Sendable {
    /// Runs in file order: ids end to end in `bytes`, with where each run starts.
    final class Chunk {
        private(set) var bytes: UnsafeMutablePointer<UInt8>
        private var capacity: Int
        private var used = 0
        let ends = UnsafeMutablePointer<Int>.allocate(capacity: MemberRuns.runsPerChunk)
        let offsets = UnsafeMutablePointer<Int>.allocate(capacity: MemberRuns.runsPerChunk)
        private let lines = UnsafeMutablePointer<Int>.allocate(capacity: MemberRuns.runsPerChunk)
        private(set) var count = 0
        /// The first run to use: 1 when the first run continues the previous scanner's last.
        fileprivate(set) var first = 0
        /// Added to the lines the second scanner counted from its start.
        fileprivate var lineBase = 0

        init() {
            capacity = 16 * MemberRuns.runsPerChunk
            bytes = .allocate(capacity: capacity)
        }

        deinit {
            bytes.deallocate()
            ends.deallocate()
            offsets.deallocate()
            lines.deallocate()
        }

        var isFull: Bool { count == MemberRuns.runsPerChunk }

        /// Inlined in the scan: a run costs a few stores, not a call.
        @inline(__always) func append(_ p: UnsafePointer<UInt8>, _ n: Int, offset: Int, line: Int) {
            if used + n > capacity {
                capacity = max(capacity * 2, used + n)
                let nb = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
                nb.update(from: bytes, count: used)
                bytes.deallocate()
                bytes = nb
            }
            KeyScan.copy(p, n, to: bytes + used)
            used += n
            ends[count] = used
            offsets[count] = offset
            lines[count] = line
            count += 1
        }

        /// Appends the runs that start in the rows `clayout_member_runs` walks from `m`'s place,
        /// up to a full chunk; `prefix` follows the last run. Returns why the walk stopped.
        fileprivate func appendRuns(walking m: CSVReader, prefix: inout RunPrefix, before limit: Int) -> CLayoutStop {
            var walk = CLayoutRuns()
            walk.prefix = prefix.bytes
            // A prefix not to compare raw matches no row: every row then has another id.
            walk.prefixLength = prefix.comparesRaw ? prefix.count : 0
            walk.prefixCapacity = prefix.capacity
            walk.ids = bytes
            walk.idsUsed = used
            walk.idsCapacity = capacity
            walk.idEnds = ends
            walk.offsets = offsets
            walk.lines = lines
            walk.runs = count
            walk.runLimit = MemberRuns.runsPerChunk
            let why = m.walkMemberRuns(&walk, before: limit)
            if walk.runs > count {
                used = walk.idsUsed
                count = walk.runs
                prefix.count = walk.prefixLength
                prefix.comparesRaw = true
            }
            return why
        }

        func id(_ r: Int) -> (UnsafePointer<UInt8>, Int) {
            let s = r == 0 ? 0 : ends[r - 1]
            return (UnsafePointer(bytes + s), ends[r] - s)
        }

        /// Line of run `r`'s first row.
        func line(_ r: Int) -> Int { lines[r] + lineBase }
    }

    /// A short queue of chunks from one scanning thread to the matching one.
    private final class RunQueue: @unchecked Sendable {
        private let capacity: Int
        private let free: DispatchSemaphore
        private let ready = DispatchSemaphore(value: 0)
        private var chunks: [Chunk?] = []
        private var lock = pthread_mutex_t()
        private var stopped = false

        init(capacity: Int) {
            self.capacity = capacity
            free = DispatchSemaphore(value: capacity)
            pthread_mutex_init(&lock, nil)
        }

        deinit { pthread_mutex_destroy(&lock) }

        /// Queues a chunk (nil after the last); false, queueing nothing, once stopped.
        func push(_ c: Chunk?) -> Bool {
            free.wait()
            pthread_mutex_lock(&lock)
            let go = !stopped
            if go { chunks.append(c) }
            pthread_mutex_unlock(&lock)
            if go { ready.signal() } else { free.signal() }
            return go
        }

        func pop() -> Chunk? {
            ready.wait()
            pthread_mutex_lock(&lock)
            let c = chunks.removeFirst()
            pthread_mutex_unlock(&lock)
            free.signal()
            return c
        }

        /// Makes every later `push` fail (and wakes one waiting).
        func stop() {
            pthread_mutex_lock(&lock)
            stopped = true
            pthread_mutex_unlock(&lock)
            free.signal()
        }

        /// After the scanner ended: `free` back to at least its first value, as libdispatch
        /// requires of a semaphore that goes.
        func release() { for _ in 0...capacity { free.signal() } }
    }

    static let runsPerChunk = 4096
    /// Chunks the second scanner may hold before its start is confirmed: about 20 MB, the second
    /// half of a million households' members.
    static let aheadChunks = 128
    /// Smallest members.csv scanned by two threads: below, starting a thread costs more than it saves.
    static let splitMinimum = 16 << 20

    private let reader: CSVReader
    private let column: Int
    private let quick: Bool
    private let firstRuns = RunQueue(capacity: 4), secondRuns = RunQueue(capacity: MemberRuns.aheadChunks)
    /// The second scanner, on its own reader from `secondStart` (nil: one scanner).
    private let second: CSVReader?
    private let secondStart: Int
    private let done = DispatchGroup()
    private var current: Chunk?

    /// Whether the second scanner's start is a record start: open until the first scanner
    /// reaches it (confirmed) or one of them finds it is not (dropped). Under `lock`.
    private enum Guess { case open, confirmed, dropped }
    private var guess = Guess.open
    private var lock = pthread_mutex_t()
    /// Set by the first scanner when it confirms: the line of the second scanner's start and
    /// the id of its own last run; read after its last chunk.
    private var secondLine = 0
    private var lastID: [UInt8] = []
    /// The matching thread's side: reading the second scanner's chunks, and whether the first
    /// was checked against the first scanner's last run.
    private var onSecond = false, stitched = false

    /// `splitFrom`: the smallest file scanned by two threads.
    init(_ reader: CSVReader, column: Int, quick: Bool = true, splitFrom: Int = MemberRuns.splitMinimum,
         bufferSize: Int = 4 << 20) throws(Diagnostic) {
        self.reader = reader
        self.column = column
        self.quick = quick
        pthread_mutex_init(&lock, nil)
        if quick, let start = MemberRuns.lineStart(pastMiddleOf: reader.path, minimumSize: splitFrom),
           start > reader.nextRecordFileOffset {
            let r = try CSVReader(path: reader.path, bufferSize: bufferSize)
            r.restrict(from: start, line: 0, to: Int.max)
            second = r
            secondStart = start
        } else {
            second = nil
            secondStart = Int.max
        }
    }

    deinit { pthread_mutex_destroy(&lock) }

    /// True when two threads scan the file.
    var scansInTwo: Bool { second != nil }

    /// The offset just after the first line feed past the middle of the file at `path`, when the
    /// file holds at least `minimumSize` bytes and there is one before its end.
    private static func lineStart(pastMiddleOf path: String, minimumSize: Int) -> Int? {
        guard let file = try? SortedRows(path: path, column: 0, from: 0), file.size >= minimumSize else { return nil }
        let start = file.lineStart(atOrAfter: file.size / 2 + 1)
        return start < file.size ? start : nil
    }

    func start() {
        done.enter()
        DispatchQueue(label: "member-runs").async { self.produce(self.reader, into: self.firstRuns, isSecond: false); self.done.leave() }
        if second != nil {
            done.enter()
            DispatchQueue(label: "member-runs-2").async { self.produce(self.second!, into: self.secondRuns, isSecond: true); self.done.leave() }
        }
    }

    /// The next chunk of runs, nil after the last. The previous chunk's ids stay valid until then.
    func next() -> Chunk? {
        if !onSecond {
            if let c = firstRuns.pop() {
                current = c
                return c
            }
            pthread_mutex_lock(&lock)
            let confirmed = guess == .confirmed
            pthread_mutex_unlock(&lock)
            guard confirmed else { return nil }
            onSecond = true
        }
        guard let c = secondRuns.pop() else { return nil }
        c.lineBase = secondLine
        if !stitched {
            stitched = true
            let (p, n) = c.id(0)
            if n == lastID.count && lastID.withUnsafeBufferPointer({ memcmp($0.baseAddress!, p, n) == 0 }) { c.first = 1 }
        }
        current = c
        return c
    }

    /// Ends the scan early (or after the last chunk) and waits for the threads to end.
    func stop() {
        firstRuns.stop()
        secondRuns.stop()
        done.wait()
        firstRuns.release()
        secondRuns.release()
    }

    /// Moves the guess from open to `settled`; false when it was settled already.
    private func settle(_ settled: Guess) -> Bool {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        guard guess == .open else { return false }
        guess = settled
        return true
    }

    /// Scans `m` from its place to the end of the file (the first scanner: or to the second's
    /// start, once confirmed), queueing its runs on `q`.
    private func produce(_ m: CSVReader, into q: RunQueue, isSecond: Bool) {
        let mCol = column, quick = quick
        var limit = isSecond ? Int.max : secondStart
        var unconfirmed = isSecond
        var chunk = Chunk()
        var prefix = RunPrefix()
        defer { prefix.bytes.deallocate() }
        while true {
            // When the id is the first column (as in review exports), the layout kernel walks
            // the rows: a run's rows are compared with its prefix, not split into fields, and
            // the rows that start runs go straight into the chunk. It stops at a row it leaves
            // to the steps below (a quote, an id with blanks, the end of the buffer, the limit).
            if mCol == 0 && quick {
                _ = chunk.appendRuns(walking: m, prefix: &prefix, before: limit)
                if chunk.isFull {
                    guard q.push(chunk) else { return }
                    chunk = Chunk()
                    continue
                }
            }
            if mCol == 0 && prefix.count > 0 {
                _ = m.skipRecords(startingWith: UnsafeBufferPointer(start: prefix.bytes, count: prefix.count), quick: quick, before: limit)
            }
            if m.nextRecordFileOffset >= limit {
                if m.nextRecordFileOffset == limit && settle(.confirmed) {
                    secondLine = m.line
                    lastID = Array(UnsafeBufferPointer(start: prefix.bytes, count: max(0, prefix.count - 1)))
                    break
                }
                // Not a record start, or the second scanner gave up: scan on alone.
                _ = settle(.dropped)
                secondRuns.stop()
                limit = Int.max
            }
            // One row when the layout kernel walks on after it.
            guard m.nextKeyFields(column: mCol, quick: quick, unquotedOnly: unconfirmed, rowsAhead: mCol == 0 ? 1 : CSVReader.KeyRows.capacity) else {
                guard unconfirmed && !m.atEnd else { break }
                // A record with a quote before the start is confirmed: give up, unless it was.
                if settle(.dropped) { return }
                unconfirmed = false
                continue
            }
            guard mCol < m.fieldCount else { continue }
            let (p, n) = m.trimmedField(mCol)
            guard n > 0 else { continue }
            if prefix.count > 0, n == prefix.count - 1, quick ? KeyScan.equal(prefix.bytes, p, n) : memcmp(prefix.bytes, p, n) == 0 { continue }
            prefix.set(p, n)
            chunk.append(p, n, offset: m.recordFileOffset, line: m.recordLine)
            if chunk.isFull {
                guard q.push(chunk) else { return }
                chunk = Chunk()
            }
        }
        if chunk.count > 0 { guard q.push(chunk) else { return } }
        _ = q.push(nil)
    }
}

/// The current run's household id followed by a comma: the rows of the run start with it
/// (reused from run to run: no allocation per run).
private struct RunPrefix {
    var bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
    var capacity = 256
    var count = 0
    /// Whether rows may be compared with it as raw bytes (`CSVReader.runsMayBeSkipped`).
    var comparesRaw = true

    mutating func set(_ p: UnsafePointer<UInt8>, _ n: Int) {
        if n + 1 > capacity {
            bytes.deallocate()
            capacity = n + 1
            bytes = .allocate(capacity: capacity)
        }
        KeyScan.copy(p, n, to: bytes)
        bytes[n] = UInt8(ascii: ",")
        count = n + 1
        comparesRaw = CSVReader.runsMayBeSkipped(by: UnsafeBufferPointer(start: bytes, count: count))
    }
}

/// Finds household rows whose id an earlier row already gave, by the same fingerprints (two
/// 64-bit hashes of the NFC id) the reader used to keep.
///
/// With `ascendingShortcut`, it keeps nothing while the ids are ASCII and each sorts after the
/// one before (byte order): such ids all differ, so none repeats an earlier one, and a survey
/// sorted by id costs one comparison a row instead of a cache miss in a large table. The first
/// id that breaks the run makes the table; the caller then adds the earlier rows again.
///
/// Fingerprints are kept by hash range and each range is checked alone, at the end: every copy
/// of an id lands in the same range, in file order, so the first row of each id is found exactly
/// as in one table, with a table as large as one range's share. Up to
/// `SurveyLayout.fingerprintsInMemory` households the ranges are in memory, small enough that a
/// range's table stays in the cache (one table of all ids would miss it at almost every id).
/// Beyond that each range is a temporary file.
final class DuplicateFinder {
    /// In memory: range b's fingerprints in `ranges[b][0..<rangeUsed[b]]`, as pairs of words
    /// (first hash, value), in file order.
    @exclusivity(unchecked) private var ranges: [UnsafeMutablePointer<UInt64>] = []
    @exclusivity(unchecked) private var rangeUsed: [Int] = [], rangeCapacity: [Int] = []
    /// Ids per in-memory range: its table (16 bytes a slot, at most 3/4 full) then takes about
    /// 256 KB, which the L2 cache holds.
    static let idsPerRange = 8192
    private var spills: [UnsafeMutablePointer<FILE>] = []
    @exclusivity(unchecked) private var spillBuffers: [[UInt64]] = []
    @exclusivity(unchecked) private var shift: UInt64 = 0
    @exclusivity(unchecked) private var count = 0
    private let expected: Int, inMemoryLimit: Int
    /// True while every id so far is ASCII and after the one before, with no table made yet.
    @exclusivity(unchecked) private(set) var ascending: Bool
    /// The ids added while `ascending`.
    private let order = AscendingIDs()

    init(expected: Int, inMemoryLimit: Int = SurveyLayout.fingerprintsInMemory, ascendingShortcut: Bool = false) {
        self.expected = expected
        self.inMemoryLimit = inMemoryLimit
        ascending = ascendingShortcut
        if !ascending { makeTable() }
    }

    /// The ranges in memory, or temporary files for ranges too large to keep.
    private func makeTable() {
        if expected <= inMemoryLimit {
            makeRanges()
            return
        }
        var p = 2
        while p * inMemoryLimit < expected { p *= 2 }
        var files: [UnsafeMutablePointer<FILE>] = []
        for _ in 0..<p {
            guard let f = tmpfile() else {
                // No temporary files: check in memory rather than not at all.
                for f in files { fclose(f) }
                makeRanges()
                return
            }
            files.append(f)
        }
        spills = files
        spillBuffers = Array(repeating: [], count: p)
        shift = UInt64(64 - p.trailingZeroBitCount)
    }

    private func makeRanges() {
        var p = 1
        while p * DuplicateFinder.idsPerRange < expected { p *= 2 }
        // Room for the expected share and a quarter more (hashes spread ids about evenly).
        let words = 2 * (expected / p + expected / p / 4 + 16)
        ranges = (0..<p).map { _ in .allocate(capacity: words) }
        rangeUsed = Array(repeating: 0, count: p)
        rangeCapacity = Array(repeating: words, count: p)
        // One range takes every hash (a shift by 64 gives 0).
        shift = UInt64(64 - p.trailingZeroBitCount)
    }

    deinit {
        for f in spills { fclose(f) }
        for r in ranges { r.deallocate() }
    }

    @exclusivity(unchecked) private var found: [Int32: Int32] = [:]

    /// Adds the id of a household row (rows in file order). Returns false, adding nothing, at the
    /// first id that ends the ascending run: the finder then has its table, and the caller adds
    /// every earlier row again, then this one.
    func add(_ p: UnsafePointer<UInt8>, _ n: Int, line: Int) -> Bool {
        if ascending {
            if order.take(p, n) { return true }
            ascending = false
            makeTable()
            return false
        }
        insert(p, n, line: line)
        return true
    }

    private func insert(_ p: UnsafePointer<UInt8>, _ n: Int, line: Int) {
        var f1: UInt64, f2: UInt64
        if SurveyText.isASCII(p, n) {
            f1 = hashBytes(p, n)
            f2 = hashBytes(p, n, seed: 0x2545_F491_4F6C_DD1D)
        } else {
            var s = SurveyText.nfc(String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self))
            (f1, f2) = s.withUTF8 { b in
                (hashBytes(b.baseAddress!, b.count), hashBytes(b.baseAddress!, b.count, seed: 0x2545_F491_4F6C_DD1D))
            }
        }
        let value = ((f2 >> 32) << 32) | UInt64(UInt32(truncatingIfNeeded: line))
        count += 1
        let b = Int(f1 >> shift)
        if !ranges.isEmpty {
            let used = rangeUsed[b]
            if used + 2 > rangeCapacity[b] {
                let grown = UnsafeMutablePointer<UInt64>.allocate(capacity: 2 * rangeCapacity[b])
                grown.update(from: ranges[b], count: used)
                ranges[b].deallocate()
                ranges[b] = grown
                rangeCapacity[b] *= 2
            }
            let r = ranges[b]
            r[used] = f1
            r[used + 1] = value
            rangeUsed[b] = used + 2
            return
        }
        spillBuffers[b].append(f1)
        spillBuffers[b].append(value)
        if spillBuffers[b].count >= 8192 { flush(b) }
    }

    private func flush(_ b: Int) {
        spillBuffers[b].withUnsafeBufferPointer { p in _ = fwrite(p.baseAddress, 8, p.count, spills[b]) }
        spillBuffers[b].removeAll(keepingCapacity: true)
    }

    /// Line of each repeated row → line of the first row with its id.
    func duplicates() -> [Int32: Int32] {
        if ascending { return [:] }
        if !ranges.isEmpty {
            for b in ranges.indices {
                let r = ranges[b], n = rangeUsed[b]
                let t = FingerprintTable(expected: n / 2)
                var i = 0
                while i + 1 < n {
                    if let prior = t.checkAndInsert(r[i], r[i + 1]) {
                        found[Int32(truncatingIfNeeded: r[i + 1] & 0xFFFF_FFFF)] = Int32(truncatingIfNeeded: prior & 0xFFFF_FFFF)
                    }
                    i += 2
                }
                r.deallocate()
            }
            ranges = []
            return found
        }
        var chunk = [UInt64](repeating: 0, count: 16384)
        for b in spills.indices {
            flush(b)
            spillBuffers[b] = []
            let f = spills[b]
            let size = ftell(f)
            rewind(f)
            let t = FingerprintTable(expected: size / 16)
            while true {
                let n = chunk.withUnsafeMutableBufferPointer { fread($0.baseAddress, 8, $0.count, f) }
                if n < 2 { break }
                var i = 0
                while i + 1 < n {
                    if let prior = t.checkAndInsert(chunk[i], chunk[i + 1]) {
                        found[Int32(truncatingIfNeeded: chunk[i + 1] & 0xFFFF_FFFF)] = Int32(truncatingIfNeeded: prior & 0xFFFF_FFFF)
                    }
                    i += 2
                }
            }
        }
        return found
    }
}

/// Whether ids come in ascending byte order, each ASCII and sorting after the one before
/// (shorter first on a tie): such ids all differ. Only the last is kept.
final class AscendingIDs {
    private var last = UnsafeMutablePointer<UInt8>.allocate(capacity: 64)
    private var capacity = 64
    /// -1 before the first id.
    private var length = -1

    /// For a part cut at a guessed place: the id its households must start with.
    private var first: [UInt8]?

    deinit { last.deallocate() }

    /// Starts again, for another part, whose first id must be `first` when it is given.
    func restart(first: [UInt8]?) {
        length = -1
        self.first = first
    }

    /// True when an id was taken and the last sorts before `id`.
    func lastSorts(before id: [UInt8]) -> Bool {
        length >= 0 && KeyScan.order(last, length, id, id.count) < 0
    }

    /// Takes the next id `p[0..<n]`: false, keeping the last, when it is not ASCII or does not
    /// sort after the last (or is not the part's first id, for the first).
    @inline(__always) func take(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        if length < 0, let first, !(first.count == n && KeyScan.order(first, n, p, n) == 0) { return false }
        guard SurveyText.isASCII(p, n) && (length < 0 || KeyScan.order(last, length, p, n) < 0) else { return false }
        if n > capacity {
            last.deallocate()
            capacity = n
            last = .allocate(capacity: n)
        }
        KeyScan.copy(p, n, to: last)
        length = n
        return true
    }
}

/// What a part reader found in one part: its problems (in reading order) and counts.
public struct SurveyPartReport: Sendable {
    public var problems: [DataProblem]
    public var problemCounts: [String: Int]
    public var counts: SurveyCounts
    /// The survey, assumed sorted, was found not to be (`SurveyReader.sortedAssumptionFailed`).
    public var sortedAssumptionFailed = false
}

extension SurveyCounts {
    mutating func add(_ other: SurveyCounts) {
        householdsRead += other.householdsRead
        householdsAccepted += other.householdsAccepted
        householdsRejected += other.householdsRejected
        membersRead += other.membersRead
        membersAccepted += other.membersAccepted
        membersRejected += other.membersRejected
        blankRows += other.blankRows
    }
}
