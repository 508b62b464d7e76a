import CSplit
import Diagnostics
#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A syntax problem found while splitting a record into fields.
struct CSVSyntaxIssue {
    enum Kind { case unterminatedQuote, quoteInUnquoted, textAfterQuote }
    var kind: Kind
    var offset: Int
}

/// A byte-level RFC 4180 reader: fields are offsets into a large buffer, refilled with `read(2)`,
/// so memory stays bounded by the buffer (and the longest record) whatever the file size.
///
/// Handles `""` escapes, line breaks inside quotes, LF, CRLF and lone CR, and a UTF-8 byte-order
/// mark. Field slices stay valid until the next call to `next()`.
final class CSVReader {
    let path: String
    @exclusivity(unchecked) private var fd: Int32 = -1
    @exclusivity(unchecked) private(set) var buf: UnsafeMutablePointer<UInt8>
    @exclusivity(unchecked) private var cap: Int
    @exclusivity(unchecked) private(set) var len = 0
    @exclusivity(unchecked) private var pos = 0
    @exclusivity(unchecked) private var eof = false
    /// Bytes consumed before the buffer start (file offset of `buf[0]`).
    @exclusivity(unchecked) private(set) var bufferFileOffset = 0
    /// Line of the next record.
    @exclusivity(unchecked) private(set) var line = 1
    @exclusivity(unchecked) private(set) var bomLength = 0

    // The current record.
    @exclusivity(unchecked) private(set) var recordStart = 0
    @exclusivity(unchecked) private(set) var recordLine = 1
    /// Lines the record spans beyond its first (line breaks inside quotes).
    @exclusivity(unchecked) private(set) var recordExtraLines = 0
    @exclusivity(unchecked) private(set) var fieldCount = 0
    @exclusivity(unchecked) private var fStart: UnsafeMutablePointer<Int>
    @exclusivity(unchecked) private var fEnd: UnsafeMutablePointer<Int>
    @exclusivity(unchecked) private var fFlags: UnsafeMutablePointer<UInt8>
    @exclusivity(unchecked) private var fCap = 64
    @exclusivity(unchecked) private(set) var issue: CSVSyntaxIssue?
    /// True when the current record is known to be ASCII (so it needs no UTF-8 check); false when
    /// it may hold other bytes.
    @exclusivity(unchecked) private(set) var recordIsASCII = false
    /// The bytes of the current record that may not be ASCII, `nonASCIIStart..<nonASCIIEnd` of
    /// the buffer (the whole record unless the quick path saw where its non-ASCII bytes are):
    /// the bytes around them are ASCII, so the record is UTF-8 when this span is.
    @exclusivity(unchecked) private(set) var nonASCIIStart = 0, nonASCIIEnd = 0
    /// True when no field of the current record has flags (quotes, escapes, line breaks inside).
    @exclusivity(unchecked) private(set) var recordIsPlain = false
    /// True when the file (or the shard `restrict` gives) ended inside a quoted value: then
    /// the shard's end is no record's end.
    @exclusivity(unchecked) private(set) var endedInsideQuotes = false
    /// Total bytes of the file read so far.
    @exclusivity(unchecked) private(set) var bytesRead = 0

    static let quoted: UInt8 = 1, escaped: UInt8 = 2, crlf: UInt8 = 4

    /// Whether records without quotes take `tokenizeUnquoted()`. Off only in tests, which check
    /// that both paths split every file the same way.
    nonisolated(unsafe) static var quickPathByDefault = true
    @exclusivity(unchecked) var usesQuickPath = CSVReader.quickPathByDefault

    /// Bytes of buffer a reader starts with.
    static let defaultBufferSize = 4 << 20

    init(path: String, bufferSize: Int = CSVReader.defaultBufferSize) throws(Diagnostic) {
        self.path = path
        fd = open(path, O_RDONLY)
        if fd < 0 {
            throw Diagnostic.error(at: nil, "\(path): cannot open file: \(String(cString: strerror(errno)))",
                                   hint: "a survey is a folder with households.csv and members.csv, or --households FILE --members FILE")
        }
        cap = bufferSize
        buf = .allocate(capacity: cap + 64)
        fStart = .allocate(capacity: fCap)
        fEnd = .allocate(capacity: fCap)
        fFlags = .allocate(capacity: fCap)
        fill()
        if len >= 2, (buf[0] == 0xFF && buf[1] == 0xFE) || (buf[0] == 0xFE && buf[1] == 0xFF) {
            throw Diagnostic.error(at: SourceLocation(file: path, line: 1, column: 1),
                                   "the file is UTF-16 (\"Unicode Text\"), not UTF-8",
                                   hint: "in Excel choose File > Save As > \"CSV UTF-8 (Comma delimited) (*.csv)\"")
        }
        if len >= 3, buf[0] == 0xEF, buf[1] == 0xBB, buf[2] == 0xBF {
            pos = 3
            bomLength = 3
        }
    }

    deinit {
        if fd >= 0 { close(fd) }
        buf.deallocate()
        fStart.deallocate()
        fEnd.deallocate()
        fFlags.deallocate()
    }

    /// Reads the whole rest of the file into the buffer (the any-order fallback keeps it).
    func loadAll() {
        while !eof {
            if len == cap { grow() }
            fill()
        }
    }

    private func grow() {
        let newCap = cap * 2
        let nb = UnsafeMutablePointer<UInt8>.allocate(capacity: newCap + 64)
        nb.update(from: buf, count: len)
        buf.deallocate()
        buf = nb
        cap = newCap
    }

    /// Bytes read at a time. Far less than the buffer: the tokenizer then finds the bytes
    /// `read(2)` just copied still in the L2 cache, and only the start of the buffer is ever
    /// touched. (The buffer itself stays large: records longer than this need no growing, and
    /// once freed, a large block keeps glibc from mapping and unmapping the batches' arrays
    /// afresh, with a page fault per page, every batch.)
    static let readChunk = 128 << 10

    private func fill() {
        // What was searched moves or grows.
        quotes.forget()
        crs.forget()
        let target = min(cap, len + CSVReader.readChunk)
        while len < target && !eof {
            let want = min(target - len, readLimit - (bufferFileOffset + len))
            if want <= 0 { eof = true; break }
            let n = read(fd, buf + len, want)
            if n <= 0 { eof = true; break }
            len += n
            bytesRead += n
        }
    }

    /// File offset where reading stops (`restrict`): the reader sees the end of the file there.
    @exclusivity(unchecked) private var readLimit = Int.max

    /// Restricts reading to the bytes `offset..<end` of the file, for one shard of it: `offset`
    /// is the start of a record on line `line`, and `end` a record start too (or the file size).
    /// Records are then read from `offset` on, and the reader reports the end of the file at
    /// `end`. A byte-order mark at offset 0 is skipped as when opening the file.
    func restrict(from offset: Int, line: Int, to end: Int) {
        lseek(fd, off_t(offset), SEEK_SET)
        bufferFileOffset = offset
        len = 0
        pos = 0
        eof = false
        readLimit = end
        endedInsideQuotes = false
        keepFrom = nil
        noQuoteUntil = 0
        self.line = line
        fieldCount = 0
        issue = nil
        fill()
        if offset == 0 && bomLength > 0 && len >= bomLength { pos = bomLength }
    }

    /// Reads on from the next record with a new buffer of `size` bytes (tests: records that
    /// cross the buffer's end).
    func rebuffer(size: Int) {
        let offset = nextRecordFileOffset, line = self.line
        buf.deallocate()
        cap = size
        buf = .allocate(capacity: cap + 64)
        restrict(from: offset, line: line, to: readLimit)
    }

    /// Moves the unread tail to the buffer start and reads more; grows the buffer when one record
    /// fills it.
    private func refill() {
        // The bytes from `keepFrom` on stay; the buffer's head then moves down only when the
        // buffer has no room for another chunk (rarely: a kept chunk of records is far smaller
        // than the buffer), not on every refill.
        var from = pos
        if let k = keepFrom { from = min(pos, max(0, k - bufferFileOffset)) }
        if from > 0 && (keepFrom == nil || cap - len < CSVReader.readChunk) {
            let keep = len - from
            if keep > 0 { memmove(buf, buf + from, keep) }
            bufferFileOffset += from
            len = keep
            pos -= from
        }
        if len == cap { grow() }
        fill()
    }

    /// File offset of the first byte the buffer keeps when it reads more (nil: the bytes before
    /// the current position may go). A reader of a chunk of records sets it to the chunk's start
    /// to read those records again (`seek(fileOffset:line:)`) after reading on.
    @exclusivity(unchecked) var keepFrom: Int?

    /// Positions the reader on the record that starts at file offset `offset` (on `line`), a
    /// record still in the buffer (at or after `keepFrom`).
    func seek(fileOffset offset: Int, line: Int) {
        pos = offset - bufferFileOffset
        self.line = line
    }

    /// The buffer position of file offset 0: the bytes of file offset `o` are at `bufferBase + o`
    /// while they are in the buffer.
    var bufferBase: UnsafePointer<UInt8> { UnsafePointer(buf) - bufferFileOffset }

    var atEnd: Bool { eof && pos >= len }

    /// The file offset of the current record's first byte.
    var recordFileOffset: Int { bufferFileOffset + recordStart }
    /// The file offset just after the current record: the next record's start.
    var nextRecordFileOffset: Int { bufferFileOffset + pos }

    /// Positions the reader on a record start of a buffer loaded with `loadAll()`.
    func seek(offset: Int, line: Int) {
        pos = offset
        self.line = line
    }

    var position: Int { pos }

    @inline(__always) func fieldStart(_ k: Int) -> UnsafePointer<UInt8> { UnsafePointer(buf + fStart[k]) }
    /// The field start and end offsets of the current record, for a caller that reads many
    /// fields of a plain record (`recordIsPlain`: no quote, no escape, no CR) in a loop of its own:
    /// in locals, the offsets are not loaded again through this object for every cell.
    @inline(__always) var fieldStarts: UnsafePointer<Int> { UnsafePointer(fStart) }
    @inline(__always) var fieldEnds: UnsafePointer<Int> { UnsafePointer(fEnd) }
    @inline(__always) func fieldLength(_ k: Int) -> Int { fEnd[k] - fStart[k] }
    @inline(__always) func fieldQuoted(_ k: Int) -> Bool { flags(k) & CSVReader.quoted != 0 }
    /// The flags of field `k`; the quick path leaves them unwritten for its (plain) records.
    @inline(__always) private func flags(_ k: Int) -> UInt8 { recordIsPlain ? 0 : fFlags[k] }
    var recordEnd: Int { pos }

    /// Removes `""` escapes of field `k` in place (once), and turns line breaks inside the value
    /// (CRLF or CR) into LF, so a value reads the same whatever system wrote the file.
    func unescape(_ k: Int) {
        guard flags(k) & (CSVReader.escaped | CSVReader.crlf) != 0 else { return }
        var r = fStart[k], w = fStart[k]
        let e = fEnd[k]
        while r < e {
            let c = buf[r]
            if c == 0x0D {
                buf[w] = 0x0A
                w += 1
                r += (r + 1 < e && buf[r + 1] == 0x0A) ? 2 : 1
                continue
            }
            buf[w] = c
            w += 1
            r += (c == 0x22 && r + 1 < e && buf[r + 1] == 0x22) ? 2 : 1
        }
        fEnd[k] = w
        fFlags[k] &= ~(CSVReader.escaped | CSVReader.crlf)
    }

    /// Field `k` with blanks trimmed, unescaped.
    @inline(__always) func trimmedField(_ k: Int) -> (UnsafePointer<UInt8>, Int) {
        if flags(k) & (CSVReader.escaped | CSVReader.crlf) != 0 { unescape(k) }
        let s = fStart[k], e = fEnd[k]
        // One test for the usual cell, which starts and ends with a visible byte.
        if s < e && (buf[s] <= 0x20 || buf[e - 1] <= 0x20) { return SurveyText.trimmingBlanks(buf + s, e - s) }
        return (UnsafePointer(buf + s), e - s)
    }

    /// Whether one of the first `n` fields may have blanks at an end (`trimmedField` trims it):
    /// it starts or ends with a byte of at most a space.
    func someFieldIsPadded(_ n: Int) -> Bool {
        for k in 0..<n {
            let s = fStart[k], e = fEnd[k]
            if s < e && (buf[s] <= 0x20 || buf[e - 1] <= 0x20) { return true }
        }
        return false
    }

    /// The line and column (Unicode scalars, 1-based) of a buffer offset inside the current record.
    func location(ofOffset offset: Int) -> SourceLocation {
        var line = recordLine, col = 1
        var i = recordStart
        while i < offset && i < len {
            let b = buf[i]
            if b == 0x0A { line += 1; col = 1 }
            else if b == 0x0D { if i + 1 < len && buf[i + 1] == 0x0A {} else { line += 1; col = 1 } }
            else if b & 0xC0 != 0x80 { col += 1 }
            i += 1
        }
        return SourceLocation(file: path, line: line, column: col)
    }

    func location(ofField k: Int) -> SourceLocation {
        location(ofOffset: k < fieldCount ? fStart[k] - (fieldQuoted(k) ? 1 : 0) : pos)
    }

    /// True when every field of the record is empty (a blank line or a row of commas).
    var recordIsBlank: Bool {
        // The usual row starts with a visible byte.
        if fieldCount > 0 && fEnd[0] > fStart[0] && buf[fStart[0]] > 0x20 { return false }
        for k in 0..<fieldCount where fEnd[k] > fStart[k] || flags(k) & CSVReader.quoted != 0 {
            var i = fStart[k]
            while i < fEnd[k] { if buf[i] != 0x20 && buf[i] != 0x09 { return false }; i += 1 }
        }
        return true
    }

    /// Reads the next record; false at the end of the file.
    func next() -> Bool {
        while true {
            if pos >= len {
                if eof { return false }
                refill()
                if pos >= len && eof { return false }
                continue
            }
            if (usesQuickPath && tokenizeUnquoted()) || tokenize() { return true }
            if eof {
                // tokenize never asks for more at the end of the file.
                return false
            }
            refill()
        }
    }

    @exclusivity(unchecked) private var noQuoteUntil = 0

    /// Moves `noQuoteUntil` to the next quote in the buffer from `pos` (or its end): the lines
    /// before it can be split at commas without the RFC 4180 tokenizer.
    @inline(__always) private func findNextQuote() {
        if let q = memchr(buf + pos, 0x22, len - pos) {
            noQuoteUntil = UnsafeMutableRawPointer(q).assumingMemoryBound(to: UInt8.self) - buf
        } else {
            noQuoteUntil = len
        }
    }

    /// Like `next()`, but only fields 0...`column` are split, and lines without quotes are split
    /// by the layout kernel, many rows ahead (`clayout_key_rows`: the line feed and any quote of
    /// a row from one mask per 64-byte block, for the quick order check over the id columns;
    /// only field `column`'s offsets are then set). `quick: false` searches with `memchr`
    /// instead: the plain pass, which tests compare with.
    /// `unquotedOnly` returns false, reading nothing, at a record with a quote (or the last,
    /// unended one) instead of reading it with `next()`: `atEnd` then tells it from the end.
    /// `rowsAhead`: at most how many rows to split ahead (1 for a caller that reads one row and
    /// then walks on with `walkMemberRuns`).
    func nextKeyFields(column: Int, quick: Bool = true, unquotedOnly: Bool = false, rowsAhead: Int = KeyRows.capacity) -> Bool {
        /// `next()` for a record with a quote (or the last, unended one). When `next()` moves
        /// the buffer to read more, `noQuoteUntil` (an offset into it) no longer holds and the
        /// next quote is searched for again: kept, it let a later quoted record be split at its
        /// commas and line breaks as if it had no quotes, giving another id and line.
        func nextWithQuoteSearch() -> Bool {
            let start = bufferFileOffset
            let more = next()
            if bufferFileOffset != start { noQuoteUntil = 0 }
            return more
        }

        // The usual row: split ahead already.
        if quick && keyRows.holdsRow(at: bufferFileOffset &+ pos, column: column) {
            takeKeyRow()
            return true
        }
        while column >= fCap { growFields() }
        while true {
            if pos >= len {
                if eof { return false }
                refill()
                noQuoteUntil = 0
                continue
            }
            let b = UnsafePointer(buf)
            if quick {
                if keyRows.holdsRow(at: bufferFileOffset + pos, column: column) || readKeyRows(column: column, limit: rowsAhead) {
                    takeKeyRow()
                    return true
                }
                guard keyRows.stop == CLayoutRowForReader || eof else {
                    refill()
                    noQuoteUntil = 0
                    continue
                }
                return unquotedOnly ? false : nextWithQuoteSearch()
            }
            if pos >= noQuoteUntil { findNextQuote() }
            let nl = KeyScan.plainFirst(0x0A, b, from: pos, end: len)
            guard nl < len else {
                if eof { return unquotedOnly ? false : nextWithQuoteSearch() }
                refill()
                noQuoteUntil = 0
                continue
            }
            if nl >= noQuoteUntil { return unquotedOnly ? false : nextWithQuoteSearch() }
            takeKeyFields(b, lineFeed: nl, column: column)
            return true
        }
    }

    /// Makes the record from `pos` to the line feed at `nl` (no quote before it) the current
    /// one, with fields 0...`column` split by `memchr` (the plain pass).
    private func takeKeyFields(_ b: UnsafePointer<UInt8>, lineFeed nl: Int, column: Int) {
        var lineEnd = nl
        if lineEnd > pos && buf[lineEnd - 1] == 0x0D { lineEnd -= 1 }
        fieldCount = 0
        var s = pos
        while fieldCount <= column {
            let c = KeyScan.plainFirst(0x2C, b, from: s, end: lineEnd)
            if c < lineEnd {
                addField(s, c, 0)
                s = c + 1
            } else {
                addField(s, lineEnd, 0)
                break
            }
        }
        takeKeyRecord(lineFeed: nl)
    }

    /// Makes the record from `pos` to the line feed at `nl`, a record without quotes whose key
    /// fields are split, the current one.
    @inline(__always) private func takeKeyRecord(lineFeed nl: Int) {
        issue = nil
        recordStart = pos
        recordLine = line
        recordExtraLines = 0
        recordIsASCII = false
        recordIsPlain = true
        line &+= 1
        pos = nl &+ 1
        nonASCIIStart = recordStart
        nonASCIIEnd = pos
    }

    /// The kernel of the layout pass's walks (`clayout_member_runs`, `clayout_key_rows`): the
    /// splitter's choice for this CPU. Another only in tests, which check that every kernel
    /// walks as the plain pass reads.
    @exclusivity(unchecked) var layoutKernel = CSVReader.bestSplitKernel

    /// Rows without quotes split up to their key cell by `clayout_key_rows`, ahead of
    /// `nextKeyFields`: one walk over the blocks of many rows, not a call and a search per row.
    final class KeyRows {
        static let capacity = 64
        /// Four offsets a row (`CLayoutRows.rows`), buffer offsets when `base` was the buffer's
        /// file offset.
        let rows = UnsafeMutablePointer<Int>.allocate(capacity: 4 * KeyRows.capacity)
        var count = 0, next = 0, base = 0, column = -1
        /// File offset of the next row's start.
        var nextStart = -1
        /// Why the last read ahead stopped.
        var stop = CLayoutBufferEnd

        deinit { rows.deallocate() }

        /// Whether the next row read ahead starts at file offset `start` and has cell `column` split.
        @inline(__always) func holdsRow(at start: Int, column: Int) -> Bool {
            next < count && start == nextStart && column == self.column
        }
    }

    @exclusivity(unchecked) private let keyRows = KeyRows()

    /// Reads up to `limit` rows ahead from the current position with `clayout_key_rows`; false
    /// when it stops before the first (`keyRows.stop` tells why).
    private func readKeyRows(column: Int, limit: Int) -> Bool {
        var ahead = CLayoutRows()
        ahead.bytes = UnsafePointer(buf)
        ahead.at = pos
        ahead.end = len
        ahead.column = column
        ahead.rows = keyRows.rows
        ahead.rowLimit = min(limit, KeyRows.capacity)
        keyRows.stop = clayout_key_rows(&ahead, layoutKernel)
        keyRows.count = ahead.rowsTaken
        keyRows.next = 0
        keyRows.base = bufferFileOffset
        keyRows.column = column
        keyRows.nextStart = bufferFileOffset + pos
        return ahead.rowsTaken > 0
    }

    /// Makes the next row read ahead the current record (its cells up to the key cell; only
    /// the key cell's offsets are set, which is all the layout pass reads).
    @inline(__always) private func takeKeyRow() {
        let ahead = keyRows
        let r = ahead.rows + 4 &* ahead.next, shift = ahead.base &- bufferFileOffset
        let cells = r[3]
        fStart[cells &- 1] = r[1] &+ shift
        fEnd[cells &- 1] = r[2] &+ shift
        fieldCount = cells
        ahead.next &+= 1
        ahead.nextStart = ahead.base &+ r[0] &+ 1
        takeKeyRecord(lineFeed: r[0] &+ shift)
    }

    /// Walks the rows from the current position with `clayout_member_runs` (the layout pass over
    /// members.csv when the household id is the first column): `walk` gives the current run's
    /// prefix and where new runs go; rows from file offset `limit` on are not taken. The reader
    /// then stands on the row the walk stopped at, which `skipRecords` and `nextKeyFields` read.
    func walkMemberRuns(_ walk: inout CLayoutRuns, before limit: Int) -> CLayoutStop {
        walk.bytes = UnsafePointer(buf)
        walk.at = pos
        walk.end = len
        walk.stop = limit &- bufferFileOffset
        walk.line = line
        walk.fileOffset = bufferFileOffset
        let why = clayout_member_runs(&walk, layoutKernel)
        pos = walk.at
        line = walk.line
        return why
    }

    /// Whether rows may be taken as a run's by their first bytes, `prefix` (an id and its
    /// comma): not when it holds a line feed, CR or quote (a quoted id), which unquoted rows
    /// can spell across a line break (`H` LF `1,b` after `"H` LF `1",a`) though they are rows
    /// of other ids.
    static func runsMayBeSkipped(by prefix: UnsafeBufferPointer<UInt8>) -> Bool {
        !prefix.contains { $0 == 0x0A || $0 == 0x0D || $0 == 0x22 }
    }

    /// Skips the records that start with `prefix` (the id of a run and its comma) and hold no
    /// quote, without splitting them: the layout pass over the members of one household. Stops
    /// before the first other record, or the first that starts at file offset `limit` or later;
    /// returns how many it skipped. `quick` as in `nextKeyFields`: the rows are walked with
    /// `clayout_member_runs`, and only the row it stops at is looked at here. Skips nothing
    /// for a prefix that `runsMayBeSkipped` rejects.
    func skipRecords(startingWith prefix: UnsafeBufferPointer<UInt8>, quick: Bool = true, before limit: Int = Int.max) -> Int {
        guard CSVReader.runsMayBeSkipped(by: prefix) else { return 0 }
        var skipped = 0
        let k = prefix.count, p = prefix.baseAddress!
        while true {
            if pos >= len || len - pos < k + 1 {
                if eof { return skipped }
                refill()
                noQuoteUntil = 0
                if len - pos < k + 1 && eof { return skipped }
                continue
            }
            // The limit as a buffer position.
            let stop = limit &- bufferFileOffset
            if pos >= stop { return skipped }
            if quick {
                // The run's rows in this buffer: the walk stops at the first row of another id
                // (no new runs are taken), and the steps below then take the row it stops at (a
                // quote, the end of the buffer, which needs a refill first).
                var walk = CLayoutRuns()
                walk.prefix = UnsafeMutablePointer(mutating: p)
                walk.prefixLength = k
                walk.prefixCapacity = k
                let before = line
                _ = walkMemberRuns(&walk, before: limit)
                skipped += line - before
                if line > before { continue }
            }
            let b = UnsafePointer(buf)
            if memcmp(b + pos, p, k) != 0 { return skipped }
            if pos >= noQuoteUntil { findNextQuote() }
            let nl = KeyScan.plainFirst(0x0A, b, from: pos + k, end: len)
            guard nl < len else {
                if eof { return skipped }
                refill()
                noQuoteUntil = 0
                continue
            }
            if nl >= noQuoteUntil { return skipped }
            line += 1
            pos = nl + 1
            skipped += 1
        }
    }

    private func growFields() {
        let n = fCap * 2
        let a = UnsafeMutablePointer<Int>.allocate(capacity: n); a.update(from: fStart, count: fCap); fStart.deallocate(); fStart = a
        let b = UnsafeMutablePointer<Int>.allocate(capacity: n); b.update(from: fEnd, count: fCap); fEnd.deallocate(); fEnd = b
        let c = UnsafeMutablePointer<UInt8>.allocate(capacity: n); c.update(from: fFlags, count: fCap); fFlags.deallocate(); fFlags = c
        fCap = n
    }

    @inline(__always) private func addField(_ s: Int, _ e: Int, _ flags: UInt8) {
        if fieldCount == fCap { growFields() }
        fStart[fieldCount] = s
        fEnd[fieldCount] = e
        fFlags[fieldCount] = flags
        fieldCount += 1
    }

    // MARK: quick path

    /// Where the buffer is known to hold no byte of one kind (quote, CR): those bytes are rare,
    /// so `memchr` looks ahead in windows that then answer for many records.
    struct Absence {
        let byte: Int32
        /// No such byte in `from..<clearTo` (and `clearTo` holds one, or is a window's end).
        var from = 0, clearTo = 0

        /// True when `start..<end` of `buf[0..<len]` holds no such byte.
        @inline(__always) mutating func holds(_ buf: UnsafeMutablePointer<UInt8>, _ len: Int, _ start: Int, _ end: Int) -> Bool {
            if start >= from && end <= clearTo { return true }
            return search(buf, len, start, end)
        }

        private mutating func search(_ buf: UnsafeMutablePointer<UInt8>, _ len: Int, _ start: Int, _ end: Int) -> Bool {
            if start < from || start > clearTo { from = start; clearTo = start }
            while clearTo < end {
                let limit = min(len, max(end, clearTo + 32 << 10))
                if let q = memchr(buf + clearTo, byte, limit - clearTo) {
                    clearTo = UnsafeMutableRawPointer(q).assumingMemoryBound(to: UInt8.self) - buf
                    return clearTo >= end
                }
                clearTo = limit
            }
            return true
        }

        mutating func forget() { from = 0; clearTo = 0 }
    }

    @exclusivity(unchecked) private var quotes = Absence(byte: 0x22)
    @exclusivity(unchecked) private var crs = Absence(byte: 0x0D)

    /// Splits a record without quotes or lone CRs, sixteen bytes at a time: one vector compare
    /// each finds the commas and the line break of a block (as 0xFF bytes, read as two words),
    /// and the commas are taken lowest first, so a field costs a few instructions whatever its
    /// length. Returns false without consuming anything for other records, and when the buffer
    /// holds no line break: `tokenize()` splits those, with the same result for the records
    /// both can split.
    @inline(__always) private func tokenizeUnquoted() -> Bool {
        #if arch(x86_64)
        if quickPathUsesMasks { return tokenizeUnquotedByMasks() }
        #endif
        return tokenizeUnquotedByWords()
    }

    /// Whether the quick path takes SSE2 masks (on x86-64) or words. Off only in tests, which
    /// check that both split every file the same way.
    nonisolated(unsafe) static var masksByDefault = true
    @exclusivity(unchecked) var quickPathUsesMasks = CSVReader.masksByDefault

    #if arch(x86_64)
    /// The quick path with SSE2 byte masks: 64 bytes per step make one 64-bit mask each of
    /// commas, line feeds and non-ASCII bytes (four compares and a `pmovmskb` per 16 bytes), and
    /// each field then costs a bit scan. Same contract and results as `tokenizeUnquotedByWords`.
    @inline(__always) private func tokenizeUnquotedByMasks() -> Bool {
        let b = buf, end = len, start = pos
        let commas = SIMD16<UInt8>(repeating: 0x2C), lfs = SIMD16<UInt8>(repeating: 0x0A)
        @inline(__always) func mask(_ m: SIMDMask<SIMD16<Int8>>) -> UInt64 {
            UInt64(UInt16(truncatingIfNeeded: _mm_movemask_epi8(unsafeBitCast(m, to: __m128i.self))))
        }
        @inline(__always) func highBits(_ v: SIMD16<UInt8>) -> UInt64 {
            UInt64(UInt16(truncatingIfNeeded: _mm_movemask_epi8(unsafeBitCast(v, to: __m128i.self))))
        }
        var i = start, s = start, n = 0
        var high: UInt64 = 0
        var firstHigh = start, lastHigh = start
        var nl = 0
        while true {
            if n &+ 64 >= fCap { growFields() }
            // Blocks reach up to 63 bytes past `len` (the buffer has 64 bytes of slack): a line
            // break seen there is not one.
            let r = UnsafeRawPointer(b + i)
            let v0 = r.loadUnaligned(as: SIMD16<UInt8>.self), v1 = r.loadUnaligned(fromByteOffset: 16, as: SIMD16<UInt8>.self)
            let v2 = r.loadUnaligned(fromByteOffset: 32, as: SIMD16<UInt8>.self), v3 = r.loadUnaligned(fromByteOffset: 48, as: SIMD16<UInt8>.self)
            var mc = mask(v0 .== commas) | mask(v1 .== commas) &<< 16 | mask(v2 .== commas) &<< 32 | mask(v3 .== commas) &<< 48
            let ml = mask(v0 .== lfs) | mask(v1 .== lfs) &<< 16 | mask(v2 .== lfs) &<< 32 | mask(v3 .== lfs) &<< 48
            var mh = highBits(v0) | highBits(v1) &<< 16 | highBits(v2) &<< 32 | highBits(v3) &<< 48
            let fs = fStart, fe = fEnd
            // The block with the line feed: only the bytes before it belong to the record.
            let lastBlock = ml != 0
            if lastBlock {
                let k = ml.trailingZeroBitCount
                nl = i &+ k
                if nl >= end { return false }
                let below = (UInt64(1) &<< UInt64(k)) &- 1
                mc &= below
                mh &= below
            }
            if mh != 0 {
                if high == 0 { firstHigh = i &+ mh.trailingZeroBitCount }
                lastHigh = i &+ 63 &- mh.leadingZeroBitCount
                high = mh
            }
            while mc != 0 {
                let j = i &+ mc.trailingZeroBitCount
                fs[n] = s
                fe[n] = j
                n &+= 1
                s = j &+ 1
                mc &= mc &- 1
            }
            if lastBlock { break }
            i &+= 64
            if i >= end { return false }
        }
        guard finishUnquoted(start: start, nl: nl, fields: n, lastStart: s, ascii: high == 0) else { return false }
        nonASCIIStart = firstHigh
        nonASCIIEnd = lastHigh &+ 1
        return true
    }
    #endif

    /// The end of a record both quick paths split: checks that it holds no quote and no CR but
    /// one before its line feed, and makes it the current record. False (nothing consumed) when
    /// it holds either: `tokenize()` splits it then.
    @inline(__always) private func finishUnquoted(start: Int, nl: Int, fields n: Int, lastStart s: Int, ascii: Bool) -> Bool {
        let b = buf, end = len
        guard quotes.holds(b, end, start, nl) else { return false }
        var lineEnd = nl
        if nl > start {
            // Only a CR right before the LF (a CRLF line end) is plain.
            guard crs.holds(b, end, start, nl &- 1) else { return false }
            if b[nl &- 1] == 0x0D { lineEnd = nl &- 1 }
        }
        fStart[n] = s
        fEnd[n] = lineEnd
        fieldCount = n &+ 1
        issue = nil
        recordStart = start
        recordLine = line
        recordExtraLines = 0
        recordIsASCII = ascii
        recordIsPlain = true
        line &+= 1
        pos = nl &+ 1
        return true
    }

    /// The quick path sixteen bytes at a time with word operations, where SSE2 is not at hand.
    @inline(__always) private func tokenizeUnquotedByWords() -> Bool {
        let b = buf, end = len, start = pos
        let high: UInt64 = 0x8080_8080_8080_8080
        let commas = SIMD16<UInt8>(repeating: 0x2C), lfs = SIMD16<UInt8>(repeating: 0x0A)
        var i = start, s = start, n = 0
        var bytesOr: UInt64 = 0
        var nl = 0
        scan: while true {
            if n &+ 16 >= fCap { growFields() }
            let fs = fStart, fe = fEnd
            // Blocks reach up to 15 bytes past `len` (the buffer has slack): a line break seen
            // there is not one.
            let v = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD16<UInt8>.self)
            let words = unsafeBitCast(v, to: SIMD2<UInt64>.self)
            let commaWords = unsafeBitCast(v .== commas, to: SIMD2<UInt64>.self)
            let lfWords = unsafeBitCast(v .== lfs, to: SIMD2<UInt64>.self)
            for h in 0..<2 {
                let base = i &+ 8 &* h
                // The high bit of each matching byte.
                var mc = commaWords[h] & high
                let ml = lfWords[h] & high
                var last = false
                if ml != 0 {
                    let k = ml.trailingZeroBitCount
                    nl = base &+ (k &>> 3)
                    if nl >= end { return false }
                    let below = (UInt64(1) &<< UInt64(k)) &- 1
                    mc &= below
                    bytesOr |= words[h] & below
                    last = true
                } else {
                    bytesOr |= words[h]
                }
                while mc != 0 {
                    let j = base &+ (mc.trailingZeroBitCount &>> 3)
                    fs[n] = s
                    fe[n] = j
                    n &+= 1
                    s = j &+ 1
                    mc &= mc &- 1
                }
                if last { break scan }
            }
            i &+= 16
            if i >= end { return false }
        }
        guard finishUnquoted(start: start, nl: nl, fields: n, lastStart: s, ascii: bytesOr & high == 0) else { return false }
        nonASCIIStart = start
        nonASCIIEnd = pos
        return true
    }

    // MARK: runs of clean records

    /// The kernel `appendCleanRecords` splits with: the fastest this CPU runs. Another only in
    /// tests, which check that every kernel splits as `next()` reads.
    static let bestSplitKernel = csplit_best_kernel()
    @exclusivity(unchecked) var splitKernel = CSVReader.bestSplitKernel

    /// Splits the records from the current position on straight into `spans`, up to `limit` of
    /// them, while each is clean (`TableInput.recordIsClean`: no quote, no CR but a CRLF line
    /// end, `spans.columns` fields, valid UTF-8) and ends with a line feed in the buffer;
    /// returns how many. The reader then stands on the first record not split, for `next()`,
    /// which reads any record.
    ///
    /// The splitting is the C kernel `csplit_clean_records` (Sources/CSplit, in C for its AVX2
    /// variant): one pass over 64-byte blocks, each loaded once however many records it holds,
    /// with masks of its commas, line feeds, quotes and CRs, and of its high bits, which take
    /// the UTF-8 check only where there are some; cell offsets go straight into `spans`, as
    /// offsets from its origin. Records past the offsets' reach (`CellSpans.reach`) are not split. A record with a quote or a CR (but a CRLF line end), the wrong number of cells,
    /// or bytes the quick UTF-8 check does not pass (`SurveyText.isUTF8InBuffer`'s rule) ends
    /// the run before it, so that `next()` splits it and the row checks see it as they always
    /// did.
    func appendCleanRecords(to spans: CellSpans, limit: Int) -> Int {
        guard limit > 0 && pos < len else { return 0 }
        let room = spans.reserve(limit, from: bufferFileOffset + pos)
        // Records past the reach of the spans' offsets are left to `next()`.
        let end = min(len, room.end - bufferFileOffset)
        guard pos < end else { return 0 }
        var run = CSplitRun(bytes: UnsafePointer(buf), start: pos, end: end, offset: bufferFileOffset - spans.origin, line: line,
                            columns: spans.columns, stride: spans.stride, limit: limit,
                            offsets: room.offsets, lines: room.recordLines)
        let taken = csplit_clean_records(&run, splitKernel)
        spans.didAppend(taken.records, mayBePadded: taken.mayBePadded)
        pos = taken.next
        line = taken.line
        return taken.records
    }

    // MARK: full tokenizer

    /// Splits one record starting at `pos`. Returns false when the buffer ends before the record
    /// does and more data may come.
    private func tokenize() -> Bool {
        let b = buf
        let end = len
        var i = pos
        fieldCount = 0
        issue = nil
        var extra = 0
        while true {
            var s = i
            var e = i
            var flags: UInt8 = 0
            if i < end && b[i] == 0x22 {
                flags = CSVReader.quoted
                let open = i
                s = i + 1
                var j = s
                while true {
                    guard let q = memchr(b + j, 0x22, end - j) else {
                        if !eof { return false }
                        // Unterminated: the value runs to the end of the file.
                        if issue == nil { issue = CSVSyntaxIssue(kind: .unterminatedQuote, offset: open) }
                        endedInsideQuotes = true
                        e = end
                        i = end
                        break
                    }
                    let qi = UnsafeMutableRawPointer(q).assumingMemoryBound(to: UInt8.self) - b
                    if qi + 1 >= end && !eof { return false }
                    if qi + 1 < end && b[qi + 1] == 0x22 {
                        flags |= CSVReader.escaped
                        j = qi + 2
                        continue
                    }
                    e = qi
                    i = qi + 1
                    break
                }
                var k = s
                while k < e {
                    if b[k] == 0x0A { extra += 1 }
                    else if b[k] == 0x0D {
                        flags |= CSVReader.crlf
                        if !(k + 1 < e && b[k + 1] == 0x0A) { extra += 1 }
                    }
                    k += 1
                }
                if i < end {
                    let c = b[i]
                    if c != 0x2C && c != 0x0A && c != 0x0D {
                        if issue == nil { issue = CSVSyntaxIssue(kind: .textAfterQuote, offset: i) }
                        while i < end, b[i] != 0x2C, b[i] != 0x0A, b[i] != 0x0D { i += 1 }
                        if i == end && !eof { return false }
                        e = i
                        flags &= ~CSVReader.quoted
                    }
                }
            } else {
                // Eight bytes at a time: the lowest byte below 0x2D (',' '"' CR LF, and blanks).
                while true {
                    if i + 8 <= end {
                        let w = UnsafeRawPointer(b + i).loadUnaligned(as: UInt64.self)
                        let m = (w &- 0x2D2D_2D2D_2D2D_2D2D) & ~w & 0x8080_8080_8080_8080
                        if m == 0 { i += 8; continue }
                        i += m.trailingZeroBitCount >> 3
                    } else {
                        while i < end && b[i] > 0x2C { i += 1 }
                        if i >= end { break }
                    }
                    let c = b[i]
                    if c == 0x2C || c == 0x0A || c == 0x0D { break }
                    if c == 0x22 && issue == nil { issue = CSVSyntaxIssue(kind: .quoteInUnquoted, offset: i) }
                    i += 1
                }
                e = i
            }
            if i >= end {
                if !eof { return false }
                addField(s, e, flags)
                break
            }
            addField(s, e, flags)
            let c = b[i]
            if c == 0x2C { i += 1; continue }
            if c == 0x0A { i += 1; break }
            // CR
            if i + 1 < end {
                i += b[i + 1] == 0x0A ? 2 : 1
                break
            }
            if !eof { return false }
            i += 1
            break
        }
        recordStart = pos
        recordLine = line
        recordExtraLines = extra
        recordIsASCII = false
        recordIsPlain = false
        line += 1 + extra
        pos = i
        nonASCIIStart = recordStart
        nonASCIIEnd = i
        return true
    }

    /// The bytes of the current record (for UTF-8 checks).
    var recordBytes: (UnsafePointer<UInt8>, Int) { (UnsafePointer(buf + recordStart), pos - recordStart) }
}

/// The bare byte scan, for benchmarks and quick counts: records and fields of a CSV file.
public enum CSVScan {
    public static func count(path: String) throws(Diagnostic) -> (records: Int, fields: Int, bytes: Int) {
        let r = try CSVReader(path: path)
        var records = 0, fields = 0
        while r.next() {
            records += 1
            fields += r.fieldCount
        }
        return (records, fields, r.bytesRead)
    }
}
