import Testing
import CSplit
import Diagnostics
@testable import Survey
#if canImport(Glibc)
import Glibc
#endif

/// Everything a reader says about each record of a file, as text: fields (unescaped), quoting,
/// lines, syntax issue, and whether the record passed as ASCII (then it must be ASCII).
func splitRecords(_ path: String, quick: Bool, bufferSize: Int, masks: Bool = true) throws -> [String] {
    let r = try CSVReader(path: path, bufferSize: bufferSize)
    r.usesQuickPath = quick
    r.quickPathUsesMasks = masks
    var out: [String] = []
    while r.next() {
        var fields: [String] = []
        for k in 0..<r.fieldCount {
            r.unescape(k)
            let bytes = Array(UnsafeBufferPointer(start: r.fieldStart(k), count: r.fieldLength(k)))
            fields.append((r.fieldQuoted(k) ? "q" : "") + "[" + bytes.map { String($0, radix: 16) }.joined(separator: " ") + "]")
        }
        let (rp, rn) = r.recordBytes
        if r.recordIsASCII { #expect(SurveyText.isASCII(rp, rn)) }
        let bad = SurveyText.firstInvalidUTF8(rp, rn).map { r.location(ofOffset: r.recordStart + $0).description } ?? "-"
        // The reader's span of possibly non-ASCII bytes finds the same first bad byte.
        #expect(r.nonASCIIStart >= r.recordStart && r.nonASCIIEnd <= r.recordEnd)
        let span = SurveyText.firstInvalidUTF8(UnsafePointer(r.buf + r.nonASCIIStart), r.nonASCIIEnd - r.nonASCIIStart)
        #expect(span.map { r.location(ofOffset: r.nonASCIIStart + $0).description } ?? "-" == bad, "record on line \(r.recordLine)")
        let issue = r.issue.map { "\($0.kind)@\($0.offset - r.recordStart)" } ?? "-"
        out.append("\(r.recordLine)+\(r.recordExtraLines) \(issue) utf8:\(bad) blank:\(r.recordIsBlank) " + fields.joined(separator: ","))
    }
    return out
}

/// The xorshift generator the random files of these tests are drawn from: small, and the same
/// sequence for a seed on every platform.
struct XorShift {
    var state: UInt64
    init(seed: UInt64, mix: UInt64) { state = seed &* mix | 1 }
    mutating func below(_ n: Int) -> Int {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return Int(state % UInt64(n))
    }
}

/// Random CSV text made of the cases the quick path must either split exactly like the full
/// tokenizer or leave to it: fields of every length around the 8-byte words, quotes, doubled
/// quotes, CRLF, lone CR, blanks, '-' after commas (a false match of the word test), multi-byte
/// and broken UTF-8 at word edges, a byte-order mark, no final line break.
func trickyCSV(seed: UInt64, rows: Int) -> [UInt8] {
    var random = XorShift(seed: seed, mix: 0x9E37_79B9_7F4A_7C15)
    func rnd(_ n: Int) -> Int { random.below(n) }
    let pieces: [[UInt8]] = [
        Array("a".utf8), Array("-5".utf8), Array("ô".utf8), Array("Nguyễn".utf8), [0xFF], [0xC3], [0xE1, 0xBA],
        Array(" ".utf8), Array("\t".utf8), Array("x".utf8), Array("1234567".utf8), Array("true".utf8),
    ]
    var out: [UInt8] = seed % 3 == 0 ? [0xEF, 0xBB, 0xBF] : []
    let eol: [UInt8] = seed % 4 == 1 ? [0x0D, 0x0A] : [0x0A]
    for _ in 0..<rows {
        let fields = 1 + rnd(6)
        for f in 0..<fields {
            if f > 0 { out.append(0x2C) }
            var cell: [UInt8] = []
            let length = rnd(18)
            while cell.count < length { cell += pieces[rnd(pieces.count)] }
            switch rnd(24) {
            case 0: out += [0x22] + cell + [0x22, 0x22] + cell + [0x22]
            case 1: out += [0x22] + cell + [0x2C, 0x0D, 0x0A] + cell + [0x22]
            case 2: out += cell + [0x22] + cell
            case 3: out += [0x22] + cell + [0x22] + Array("x".utf8)
            case 4: out += cell + [0x0D] + cell
            case 5: out += [0x22] + cell + [0x0A] + cell + [0x22]
            default: out += cell
            }
        }
        out += rnd(20) == 0 ? [0x0D] : eol
        if rnd(15) == 0 { out += eol }
    }
    if seed % 5 == 2, !out.isEmpty { out.removeLast() }
    if seed % 7 == 3 { out += [0x22] + Array("never closed,".utf8) + eol + Array("x".utf8) }
    return out
}

/// Splits the file at `path` in runs (`appendCleanRecords` with `kernel`, at most `limit()`
/// records a run, the cells emptied when `empties()`, and a record read with `next()` after a
/// run that splits none) and checks each record split against `next()`'s reading of the file:
/// clean (plain, `columns` fields, valid UTF-8), with the same offset, line and cells; the reader
/// then stands where `next()` goes on. Returns, for each record of the file, whether a run split
/// it and whether it is clean.
func splitRunsAgainstNext(path: String, columns: Int, bufferSize size: Int, kernel: CSplitKernel, context: String,
                          limit: () -> Int, empties: () -> Bool) throws -> (split: [Bool], clean: [Bool]) {
    // Every record as `next()` reads it: offset, line, cells, and whether it is clean.
    let plain = try CSVReader(path: path, bufferSize: size)
    var records: [(offset: Int, line: Int, cells: [[UInt8]], clean: Bool)] = []
    while plain.next() {
        let cells = (0..<plain.fieldCount).map { Array(UnsafeBufferPointer(start: plain.fieldStart($0), count: plain.fieldLength($0))) }
        // Plain: ended by a line feed, with no quote and no CR but a CRLF's.
        let (p, n) = plain.recordBytes
        let bytes = Array(UnsafeBufferPointer(start: p, count: n))
        var body = bytes.dropLast()
        if body.last == 0x0D { body = body.dropLast() }
        let clean = bytes.last == 0x0A && !body.contains(0x22) && !body.contains(0x0D) && plain.fieldCount == columns
            && SurveyText.firstInvalidUTF8(p, n) == nil
        records.append((plain.recordFileOffset, plain.recordLine, cells, clean))
    }
    let runs = try CSVReader(path: path, bufferSize: size)
    runs.splitKernel = kernel
    let spans = CellSpans(columns: columns, capacity: 4)
    var split = Array(repeating: false, count: records.count)
    var k = 0
    while k < records.count {
        let before = spans.count
        let n = runs.appendCleanRecords(to: spans, limit: limit())
        for r in before..<(before + n) {
            let want = records[k]
            #expect(want.clean, "\(context), record \(k) split but not clean")
            #expect(spans.recordStart(r) == want.offset && Int(spans.lines[r]) == want.line, "\(context), record \(k)")
            let cells = (0..<columns).map { c in
                let (p, n) = spans.untrimmedCell(r, c, base: runs.bufferBase)
                return Array(UnsafeBufferPointer(start: p, count: n))
            }
            #expect(cells == want.cells, "\(context), record \(k)")
            split[k] = true
            k += 1
        }
        if empties() { spans.removeAll() }
        if n > 0 { continue }
        guard runs.next() else { break }
        #expect(runs.recordFileOffset == records[k].offset && runs.recordLine == records[k].line, "\(context), record \(k) read after a run")
        k += 1
    }
    #expect(k == records.count && !runs.next(), "\(context)")
    return (split, records.map(\.clean))
}

@Suite struct CSVReaderTests {
    /// The splitter kernels this CPU runs: the baseline one always, AVX2 where there is AVX2.
    static let splitKernels = [CSplitBaseline] + (CSVReader.bestSplitKernel == CSplitAVX2 ? [CSplitAVX2] : [])

    /// The quick path and the full tokenizer agree on every record, whatever the buffer size
    /// (small buffers put record and word edges on buffer ends and refills).
    @Test func quickPathSplitsLikeFullTokenizer() throws {
        let dir = tempDir("csv-quick")
        for seed in UInt64(0)..<60 {
            let path = dir + "/t\(seed).csv"
            writeBytes(path, trickyCSV(seed: seed, rows: 40))
            for size in [5, 16, 64, 4096] {
                let full = try splitRecords(path, quick: false, bufferSize: size)
                let quick = try splitRecords(path, quick: true, bufferSize: size)
                // The first record that differs, if any (whole files make unreadable messages).
                let first = (0..<min(quick.count, full.count)).first { quick[$0] != full[$0] } ?? min(quick.count, full.count)
                #expect(quick.count == full.count, "seed \(seed), buffer \(size)")
                if first < min(quick.count, full.count) {
                    #expect(quick[first] == full[first], "seed \(seed), buffer \(size), record \(first)")
                }
                #expect(!full.isEmpty)
            }
        }
    }

    /// Runs of clean records split straight into cells (`appendCleanRecords`) are exactly the
    /// records `next()` reads there, each clean (plain, all the columns, valid UTF-8), with the
    /// same cells, line and offset; the reader then stands where `next()` goes on. The files mix
    /// clean rows with the rows a run must stop before (quotes, CR and CRLF, blank lines, short
    /// and long rows, invalid and rarer UTF-8, sequences across 64-byte blocks), and the
    /// buffers are small enough that runs stop at their end on every few records. Each kernel
    /// this CPU runs (`CSVReader.splitKernel`) is checked.
    @Test(arguments: CSVReaderTests.splitKernels)
    func cleanRunsSplitAsNextReads(_ kernel: CSplitKernel) throws {
        let dir = tempDir("csv-runs-\(kernel.rawValue)")
        for seed in UInt64(1)...40 {
            var random = XorShift(seed: seed, mix: 0x9E37_79B9_7F4A_7C15)
            func rnd(_ n: Int) -> Int { random.below(n) }
            let columns = 2 + Int(seed % 7)
            // One file in four has no quotes, lone CRs or rarer UTF-8: nearly all its clean
            // records are split.
            let awkward = seed % 4 != 0
            var bytes: [UInt8] = seed % 3 == 0 ? [0xEF, 0xBB, 0xBF] : []
            for row in 0..<300 {
                let count = rnd(12) == 0 ? columns + rnd(3) - 1 : columns
                for c in 0..<count {
                    if c > 0 { bytes.append(0x2C) }
                    switch rnd(40) {
                    case 0 where awkward: bytes += Array("\"q,\"".utf8)
                    case 1 where awkward: bytes += [0x0D]
                    case 2...9 where awkward: bytes += trickyUTF8(seed: seed &* 1000 &+ UInt64(row * 31 + c), pieces: 1 + rnd(4))
                    case 2...9: bytes += Array("Nguyễn Thị Hợp".utf8)
                    default: bytes += Array(String(repeating: "x", count: rnd(30)).utf8)
                    }
                }
                bytes += rnd(15) == 0 ? [0x0D, 0x0A] : [0x0A]
                if rnd(25) == 0 { bytes.append(0x0A) }
            }
            if seed % 2 == 0 { bytes.removeLast() }
            let path = dir + "/t\(seed).csv"
            writeBytes(path, bytes)
            for size in [16, 64, 100, 333, 4096] {
                let (split, clean) = try splitRunsAgainstNext(path: path, columns: columns, bufferSize: size, kernel: kernel,
                                                              context: "seed \(seed), buffer \(size)",
                                                              limit: { 1 + rnd(40) }, empties: { rnd(5) == 0 })
                let splitCount = split.filter { $0 }.count
                // Runs stop at the buffer's end (which small buffers meet on every other record).
                if !awkward && size >= 4096 {
                    #expect(splitCount * 10 > clean.filter { $0 }.count * 9, "seed \(seed), buffer \(size): \(splitCount) split")
                }
                #expect(splitCount > 0)
            }
        }
    }

    /// A UTF-8 sequence at every place of the run's first two 64-byte blocks (and across their
    /// end): a run splits every record when the sequence is one the splitter's quick check takes
    /// (leads C2–DF, E1–EC, EE, EF with their continuation bytes), and stops before the record
    /// that holds any other (the forbidden leads C0, C1, E0, ED, F0–FF, valid UTF-8 or not, and
    /// broken sequences), which `next()` then reads. Each kernel this CPU runs is checked.
    @Test(arguments: CSVReaderTests.splitKernels)
    func utf8LeadsAtEveryPlaceOfABlock(_ kernel: CSplitKernel) throws {
        let dir = tempDir("csv-leads-\(kernel.rawValue)")
        let taken: [[UInt8]] = [
            Array("ễ".utf8), Array("Đ".utf8), [0xC2, 0x80], [0xDF, 0xBF], [0xE1, 0x80, 0x80], [0xEC, 0xBF, 0xBF], [0xEE, 0x80, 0x80],
            [0xEF, 0xBF, 0xBF],
        ]
        let refused: [[UInt8]] = [
            [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0xA0, 0x80], [0xED, 0x9F, 0xBF], [0xF0, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF],
            [0xF5, 0x80, 0x80, 0x80], [0xF8, 0x80], [0xFF], [0x80], [0xBF, 0x80], [0xC3], [0xE1, 0xBA], [0xC3, 0xA9, 0xA9],
            [0xE1, 0x41, 0x80], [0xC3, 0xE1, 0xBA, 0x80],
        ]
        for (isTaken, sequences) in [(true, taken), (false, refused)] {
            for (s, sequence) in sequences.enumerated() {
                let path = dir + "/s\(isTaken)\(s).csv"
                for place in 0..<130 {
                    // Short records up to the place, the sequence inside a cell there, short
                    // records after it.
                    var bytes: [UInt8] = []
                    while bytes.count + 4 <= place { bytes += Array("a,b\n".utf8) }
                    while bytes.count < place { bytes.append(0x78) }
                    bytes += sequence + Array("y,z\n".utf8)
                    let row = place / 4
                    for _ in 0..<20 { bytes += Array("c,d\n".utf8) }
                    writeBytes(path, bytes)
                    let (split, _) = try splitRunsAgainstNext(path: path, columns: 2, bufferSize: 4096, kernel: kernel,
                                                              context: "sequence \(sequence), place \(place)",
                                                              limit: { 1000 }, empties: { false })
                    if isTaken {
                        #expect(!split.contains(false), "sequence \(sequence), place \(place)")
                    } else {
                        #expect(!split[row], "sequence \(sequence), place \(place)")
                    }
                }
            }
        }
    }

    /// Blocks of every number of cells, 0 to 64, at every place of a run's first block: records
    /// of many short cells (none, one or two bytes; a letter first, so that the blocks are plain)
    /// put from a few to more than the 14 cells that a plain block's cells are written in one
    /// go for (`writeBlockCellsAVX2`, the rest in steps) in a block, and records of one cell up
    /// to a whole block long put none; a two-byte letter now and then, so that blocks with and
    /// without high bytes alternate. Every record is clean, so a run splits all of them, with the
    /// cells `next()` reads. Each kernel this CPU runs is checked.
    @Test(arguments: CSVReaderTests.splitKernels)
    func blocksOfEveryCellCountSplitAsNextReads(_ kernel: CSplitKernel) throws {
        let dir = tempDir("csv-dense-\(kernel.rawValue)")
        for columns in [1, 3, 9, 40] {
            var random = XorShift(seed: UInt64(columns), mix: 0xA076_1D64_78BD_642F)
            func rnd(_ n: Int) -> Int { random.below(n) }
            for place in 0..<64 {
                // A first line that puts the records `place` bytes into the file.
                var bytes = place == 0 ? [] : Array(repeating: UInt8(0x78), count: place - 1) + [0x0A]
                for _ in 0..<60 {
                    // A record of long cells one time in three, of short ones otherwise.
                    let long = rnd(3) == 0
                    for c in 0..<columns {
                        if c > 0 { bytes.append(0x2C) }
                        let length = c == 0 ? 1 + rnd(long ? 64 : 2) : rnd(long ? 64 : 3)
                        for _ in 0..<length { bytes += rnd(8) == 0 ? Array("ơ".utf8) : [0x61] }
                    }
                    bytes.append(0x0A)
                }
                let path = dir + "/c\(columns)p\(place).csv"
                writeBytes(path, bytes)
                // One buffer for the whole file: runs stop at a buffer's end.
                let (split, _) = try splitRunsAgainstNext(path: path, columns: columns, bufferSize: 1 << 20, kernel: kernel,
                                                          context: "columns \(columns), place \(place)",
                                                          limit: { 1000 }, empties: { false })
                // The first line is a record of one cell, split only when the file has one column.
                #expect(!split.dropFirst(place == 0 ? 0 : 1).contains(false), "columns \(columns), place \(place)")
            }
        }
    }

    /// Cells read through `CellSpans` (one at a time and a column at a time, as the column
    /// decode reads them) are trimmed exactly as `trimmedField` trims the row's field: records
    /// split in runs (`appendCleanRecords`) and added a row at a time (`append`), with blanks
    /// (spaces, tabs, cells of blanks only) at either end of cells of every column, next to
    /// 64-byte block ends (cells of every length up to two blocks) and alone in long runs, so
    /// the test fails if `mayBePadded` missed one; and files without them take the cells as they
    /// are (`mayBePadded` false), so the loop without the test for blanks is the one checked.
    /// Each kernel this CPU runs is checked.
    @Test(arguments: CSVReaderTests.splitKernels)
    func paddedCellsTrimmedAsTheRowPath(_ kernel: CSplitKernel) throws {
        let dir = tempDir("csv-padded-\(kernel.rawValue)")
        for seed in UInt64(1)...96 {
            var random = XorShift(seed: seed, mix: 0xD6E8_FEB8_6659_FD93)
            func rnd(_ n: Int) -> Int { random.below(n) }
            let columns = 1 + Int(seed % 6)
            // None, a cell now and then (a run often has just one, as often at a block's
            // end as anywhere), or many.
            let padding = seed % 3
            let blanks: [[UInt8]] = [[0x20], [0x09], [0x20, 0x20], [0x09, 0x20, 0x09]]
            var bytes: [UInt8] = [], padded = Set<Int>()
            for row in 0..<200 {
                for c in 0..<columns {
                    if c > 0 { bytes.append(0x2C) }
                    let pad = padding == 2 ? rnd(9) == 0 : padding == 1 && rnd(60) == 0
                    if pad { padded.insert(row) }
                    // 0: blanks before the value, 1: after it, 2: both.
                    let ends = rnd(3)
                    if pad && ends != 1 { bytes += blanks[rnd(blanks.count)] }
                    // Blanks inside a value stay: only those at an end are trimmed.
                    let length = rnd(4) == 0 ? 0 : rnd(128)
                    for j in 0..<length { bytes.append(j > 0 && j < length - 1 && rnd(5) == 0 ? 0x20 : 0x61 + UInt8(j % 26)) }
                    if pad && ends != 0 { bytes += blanks[rnd(blanks.count)] }
                }
                bytes += rnd(10) == 0 ? [0x0D, 0x0A] : [0x0A]
            }
            let path = dir + "/p\(seed).csv"
            writeBytes(path, bytes)
            for size in [100, 4096] {
                let rows = try CSVReader(path: path, bufferSize: size)
                var want: [[[UInt8]]] = []
                while rows.next() {
                    want.append((0..<columns).map { c in
                        let (p, n) = rows.trimmedField(c)
                        return Array(UnsafeBufferPointer(start: p, count: n))
                    })
                }
                #expect(want.count == 200)
                let runs = try CSVReader(path: path, bufferSize: size)
                runs.splitKernel = kernel
                let spans = CellSpans(columns: columns, capacity: 4)
                var k = 0
                while k < want.count {
                    spans.removeAll()
                    let first = k
                    // Runs, long ones too, and now and then a record a row at a time (a plain one,
                    // as the chunk scan adds).
                    if rnd(6) == 0 || runs.appendCleanRecords(to: spans, limit: 1 + rnd(300)) == 0 {
                        guard runs.next() else { break }
                        if runs.recordIsPlain && runs.fieldCount == columns { spans.append(runs) } else { k += 1; continue }
                    }
                    k += spans.count
                    let cells = spans.cells(base: runs.bufferBase)
                    var read = Array(repeating: [[UInt8]](repeating: [], count: columns), count: spans.count)
                    for c in 0..<columns {
                        cells.forEach(column: c, rows: 0..<spans.count) { r, p, n in
                            read[r][c] = Array(UnsafeBufferPointer(start: p, count: n))
                            let (q, m) = spans.cell(r, c, base: runs.bufferBase)
                            #expect(q == p && m == n)
                        }
                    }
                    #expect(read == Array(want[first..<k]), "seed \(seed), buffer \(size), records \(first)..<\(k)")
                    if padding == 0 { #expect(!spans.mayBePadded, "seed \(seed): no cell has blanks at an end") }
                    if (first..<k).contains(where: padded.contains) { #expect(spans.mayBePadded, "seed \(seed), records \(first)..<\(k)") }
                }
                #expect(k == want.count, "seed \(seed), buffer \(size)")
            }
        }
    }

    /// The quick path by SSE2 masks splits like the one by words and like the full tokenizer:
    /// records longer and shorter than its 64-byte blocks, records and line breaks straddling
    /// block and buffer ends (buffer sizes around the block size), and the non-ASCII span.
    @Test func maskQuickPathSplitsLikeWordsAndFullTokenizer() throws {
        let dir = tempDir("csv-masks")
        for seed in UInt64(100)..<160 {
            let path = dir + "/t\(seed).csv"
            var bytes = trickyCSV(seed: seed, rows: 30)
            // Long plain records too: several blocks of commas, some non-ASCII at block edges.
            for k in 0..<20 {
                var row = Array(String(repeating: "a,", count: k * 3 + Int(seed % 5)).utf8)
                row.insert(contentsOf: Array("ễ".utf8), at: min(row.count, 61 + k % 5))
                if k % 4 == 0 { row += [0xE1, 0xBB] }  // broken sequence at the row's end
                bytes += row + (seed % 2 == 0 ? [0x0A] : [0x0D, 0x0A])
            }
            writeBytes(path, bytes)
            for size in [5, 63, 64, 65, 130, 4096] {
                let full = try splitRecords(path, quick: false, bufferSize: size)
                let words = try splitRecords(path, quick: true, bufferSize: size, masks: false)
                let masks = try splitRecords(path, quick: true, bufferSize: size, masks: true)
                #expect(masks.count == full.count, "seed \(seed), buffer \(size)")
                #expect(words.count == full.count, "seed \(seed), buffer \(size)")
                if let k = (0..<min(masks.count, full.count)).first(where: { masks[$0] != full[$0] }) {
                    #expect(masks[k] == full[k], "seed \(seed), buffer \(size), record \(k)")
                }
                if let k = (0..<min(words.count, full.count)).first(where: { words[$0] != full[$0] }) {
                    #expect(words[k] == full[k], "seed \(seed), buffer \(size), record \(k)")
                }
            }
        }
    }

    /// Fields ending on every byte of a word, and a comma right before a '-' (which the word test
    /// marks falsely and the quick path must skip).
    @Test func fieldsAroundWordEdges() throws {
        let dir = tempDir("csv-edges")
        var text = ""
        for a in 0..<18 {
            for b in 0..<10 {
                text += String(repeating: "a", count: a) + "," + String(repeating: "-", count: b) + ",ố" + String(repeating: "b", count: b) + ",,-1\n"
            }
        }
        write(dir + "/edges.csv", text)
        let r = try CSVReader(path: dir + "/edges.csv")
        // Set here, not taken from the default, which another test turns off for a while.
        r.usesQuickPath = true
        var a = 0, b = 0
        while r.next() {
            #expect(r.recordIsPlain)
            #expect(r.fieldCount == 5)
            #expect(r.fieldLength(0) == a)
            #expect(r.fieldLength(1) == b)
            #expect(r.fieldLength(2) == 3 + b)
            #expect(r.fieldLength(3) == 0)
            #expect(String(decoding: UnsafeBufferPointer(start: r.fieldStart(4), count: r.fieldLength(4)), as: UTF8.self) == "-1")
            #expect(!r.recordIsASCII)
            b += 1
            if b == 10 { b = 0; a += 1 }
        }
        #expect(a == 18)
    }

    /// CRLF files stay on the quick path; the CR is not part of the last field.
    @Test func crlfRecords() throws {
        let dir = tempDir("csv-crlf")
        writeBytes(dir + "/crlf.csv", Array("id,name\r\nH1,An\r\nH2,\r\n".utf8))
        let r = try CSVReader(path: dir + "/crlf.csv")
        r.usesQuickPath = true
        var rows: [[String]] = []
        while r.next() {
            #expect(r.recordIsPlain)
            rows.append((0..<r.fieldCount).map { String(decoding: UnsafeBufferPointer(start: r.fieldStart($0), count: r.fieldLength($0)), as: UTF8.self) })
        }
        #expect(rows == [["id", "name"], ["H1", "An"], ["H2", ""]])
    }

    /// The survey reader gives the same problems, rows and counts with and without the quick path.
    @Test func surveyReadSameWithoutQuickPath() throws {
        let dir = tempDir("csv-survey")
        let fixtures = root + "/Fixtures/surveys-invalid"
        var cases = listDirectory(fixtures).map { fixtures + "/" + $0 }
        // A survey with broken bytes and quotes in the middle of ASCII rows, LF and CRLF.
        for (n, eol) in ["\n", "\r\n"].enumerated() {
            let d = dir + "/mixed\(n)"
            mkdir(d, 0o755)
            let h = root + "/Fixtures/thach-ha-2024/households.csv", m = root + "/Fixtures/thach-ha-2024/members.csv"
            for (src, dst) in [(h, d + "/households.csv"), (m, d + "/members.csv")] {
                var lines = readText(src)!.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                for i in stride(from: 7, to: lines.count - 1, by: 53) { lines[i] = lines[i].replacing(",", with: ",\"", maxReplacements: 1) }
                for i in stride(from: 11, to: lines.count - 1, by: 61) { lines[i] += "\u{1}" }
                var bytes = Array(lines.joined(separator: eol).utf8)
                for i in stride(from: 5000, to: bytes.count, by: 7919) where bytes[i] != 0x0A && bytes[i] != 0x0D { bytes[i] = 0xFF }
                writeBytes(dst, bytes)
            }
            cases.append(d)
        }
        for c in cases {
            CSVReader.quickPathByDefault = false
            let slow = try? problemsText(c)
            let slowRows = try? readAll(c + "/households.csv", c + "/members.csv").0
            CSVReader.quickPathByDefault = true
            CSVReader.masksByDefault = false
            let words = try? problemsText(c)
            let wordRows = try? readAll(c + "/households.csv", c + "/members.csv").0
            CSVReader.masksByDefault = true
            let quick = try? problemsText(c)
            let quickRows = try? readAll(c + "/households.csv", c + "/members.csv").0
            #expect(slow == quick, "\(c)")
            #expect(slowRows == quickRows, "\(c)")
            #expect(words == quick, "\(c)")
            #expect(wordRows == quickRows, "\(c)")
        }
    }
}

@Suite struct CSVReaderRestrictTests {
    /// Reading a file in shards cut at record starts gives the records of reading it whole, with
    /// the same lines, whatever the buffer size.
    @Test func shardsReadLikeTheWholeFile() throws {
        let dir = tempDir("csv-restrict")
        var text = "\u{FEFF}id,name,note\n"
        for i in 0..<300 {
            text += "H\(i),Nguyễn \(i)," + (i % 17 == 0 ? "\"two\nlines\"" : "x") + (i % 5 == 0 ? "\r\n" : "\n")
        }
        let path = dir + "/shards.csv"
        write(path, text)
        for size in [8, 64, 1 << 20] {
            // Whole file, and the record starts (offset, line) to cut it at.
            let whole = try CSVReader(path: path, bufferSize: size)
            var records: [String] = []
            var starts: [(Int, Int)] = []
            while whole.next() {
                starts.append((whole.bufferFileOffset + whole.recordStart, whole.recordLine))
                records.append(render(whole))
            }
            let fileSize = Array(text.utf8).count
            for cuts in [[0], [0, 100], [0, 7, 150, 299]] {
                var got: [String] = []
                for (k, c) in cuts.enumerated() {
                    let (from, line) = c == 0 ? (0, 1) : starts[c]
                    let to = k + 1 < cuts.count ? starts[cuts[k + 1]].0 : fileSize
                    let r = try CSVReader(path: path, bufferSize: size)
                    r.restrict(from: from, line: line, to: to)
                    while r.next() { got.append(render(r)) }
                    #expect(r.atEnd)
                }
                #expect(got == records, "buffer \(size), cuts \(cuts)")
            }
        }
    }

    func render(_ r: CSVReader) -> String {
        var fields: [String] = []
        for k in 0..<r.fieldCount {
            r.unescape(k)
            fields.append(String(decoding: UnsafeBufferPointer(start: r.fieldStart(k), count: r.fieldLength(k)), as: UTF8.self))
        }
        return "\(r.recordLine): " + fields.joined(separator: "|")
    }
}

@Suite struct FingerprintTableTests {
    /// A table sized for a million ids (its slots on 2 MB pages where the system allows) and a
    /// small one that grows find the same duplicates.
    @Test func largeAndGrowingTablesAgree() {
        let large = FingerprintTable(expected: 1_000_000), small = FingerprintTable()
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var keys: [UInt64] = []
        for line in 0..<200_000 {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            let key = (line % 7 == 3 && !keys.isEmpty) ? keys[line / 2] : state | 1
            keys.append(key)
            let value = (key >> 32) << 32 | UInt64(line)
            let a = large.checkAndInsert(key, value), b = small.checkAndInsert(key, value)
            #expect(a == b)
            #expect((a != nil) == (line % 7 == 3), "line \(line)")
        }
    }
}
