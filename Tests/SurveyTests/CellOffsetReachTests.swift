import Testing
import CSplit
@testable import Survey

/// `CellSpans` keeps its cell offsets in 32 bits, counted from its first record's start: a
/// record that would end beyond their reach is neither split (`appendCleanRecords`) nor added
/// (`fits`), and every record taken reads the cells `next()` reads, whatever the origin.
@Suite struct CellOffsetReachTests {
    /// Rows of a few cells of varied lengths, some with two-byte letters.
    static func rows(_ count: Int, columns: Int, seed: UInt64) -> [UInt8] {
        var random = XorShift(seed: seed, mix: 0xA076_1D64_78BD_642F)
        var bytes: [UInt8] = []
        for _ in 0..<count {
            for c in 0..<columns {
                if c > 0 { bytes.append(0x2C) }
                for j in 0..<random.below(40) { bytes += random.below(9) == 0 ? Array("ễ".utf8) : [0x61 + UInt8(j % 26)] }
            }
            bytes.append(0x0A)
        }
        return bytes
    }

    /// Runs split into spans of a small reach, the spans emptied only when nothing more fits:
    /// no record taken ends beyond the reach, each has `next()`'s cells and file offset, and
    /// every record is taken by a run, or added a row at a time, or, past the reach, refused by
    /// `fits`.
    @Test(arguments: CSVReaderTests.splitKernels)
    func recordsBeyondTheReachAreLeft(_ kernel: CSplitKernel) throws {
        let dir = tempDir("cell-reach-\(kernel.rawValue)")
        for seed in UInt64(1)...12 {
            let columns = 1 + Int(seed % 5)
            let path = dir + "/r\(seed).csv"
            writeBytes(path, CellOffsetReachTests.rows(300, columns: columns, seed: seed))
            let rows = try CSVReader(path: path, bufferSize: 1 << 20)
            var want: [(offset: Int, end: Int, cells: [[UInt8]])] = []
            while rows.next() {
                want.append((rows.recordFileOffset, rows.nextRecordFileOffset, (0..<columns).map { c in
                    let (p, n) = rows.trimmedField(c)
                    return Array(UnsafeBufferPointer(start: p, count: n))
                }))
            }
            let runs = try CSVReader(path: path, bufferSize: 1 << 20)
            runs.splitKernel = kernel
            let spans = CellSpans(columns: columns, capacity: 4)
            spans.reach = 700 + Int(seed) * 37
            var k = 0, refused = 0
            /// Record r of the spans is record k, within the reach.
            func expectRecord(_ r: Int) {
                #expect(spans.recordStart(r) == want[k].offset, "seed \(seed), record \(k)")
                #expect(want[k].end - spans.origin <= spans.reach, "seed \(seed), record \(k)")
                let cells = (0..<columns).map { c in
                    let (p, m) = spans.cell(r, c, base: runs.bufferBase)
                    return Array(UnsafeBufferPointer(start: p, count: m))
                }
                #expect(cells == want[k].cells, "seed \(seed), record \(k)")
            }
            while k < want.count {
                let before = spans.count
                let n = runs.appendCleanRecords(to: spans, limit: 1 + Int(seed % 7))
                for r in before..<(before + n) {
                    expectRecord(r)
                    k += 1
                }
                if n > 0 { continue }
                // Nothing more split: the next record, read a row at a time, is either one a
                // kernel leaves to `next()` (it may end a run early) and fits, or is refused, and
                // taken once the spans start afresh from it.
                #expect(runs.next())
                if spans.fits(runs) {
                    spans.append(runs)
                    expectRecord(spans.count - 1)
                    k += 1
                    continue
                }
                #expect(spans.count > 0, "seed \(seed), record \(k)")
                refused += 1
                spans.removeAll()
                #expect(spans.fits(runs))
                spans.append(runs)
                #expect(spans.origin == want[k].offset)
                expectRecord(0)
                k += 1
            }
            #expect(refused > 0, "seed \(seed): the reach never ended a run")
        }
    }
}
