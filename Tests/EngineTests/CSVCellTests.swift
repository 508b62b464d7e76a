@testable import Output
import Survey
import Testing

/// `CSVText.appendCell` (the streaming path of `povrules classify`) writes the same bytes as
/// `CSVText.cell`, the reference formatter.
@Suite struct CSVCellTests {
    static let cells = [
        "", "HH-0001", "Thôn Đông", "Xã Thạch Hà, Hà Tĩnh", "=SUM(A1:A2)", "+84 912", "-12", "-12.5", "+7", "@home", "-",
        "=1", "say \"hi\"", "a,b", "line\nbreak", "cr\rhere", "\"", ",", "tab\there", "-x,\"y\"", "Nguyễn Văn A",
        "urban", "near_poor", "'quoted'", "1.2.3", "+", "@", "ấp 3, \"Bến Tre\"\r\n", "😀,", "12345678901234567890",
    ]

    @Test(arguments: cells)
    func appendCellMatchesCell(_ s: String) {
        var out: [UInt8] = [7]
        CSVText.appendCell(s, to: &out)
        #expect(out == [7] + Array(CSVText.cell(s).utf8), "\(s.debugDescription)")
    }

    /// The word-at-a-time plain test gives `cell`'s answer (the text is its own cell) for each
    /// byte that needs quotes or a guard at every position of texts of every length up to 40,
    /// multi-byte letters around it.
    @Test func plainTestMatchesCellAtEveryPosition() {
        for length in 0...40 {
            for position in 0..<max(length, 1) {
                for special in ["", ",", "\"", "\n", "\r", "=", "+", "-", "@", "ế"] {
                    var chars = (0..<length).map { k in k % 5 == 3 ? "ô" : String(UnicodeScalar(UInt8(ascii: "a") + UInt8(k % 26))) }
                    if length > 0 { chars[position] = special }
                    var s = chars.joined()
                    let plain = s.withUTF8 { CSVText.isPlain($0) }
                    #expect(plain == (CSVText.cell(s) == s), "\(s.debugDescription)")
                    // The row buffer's cell, checked and copied in the same words, after a byte
                    // (words stored unaligned).
                    var bytes = RowBytes(capacity: 1)
                    bytes.put(7)
                    bytes.putCell(s)
                    #expect(Array(UnsafeBufferPointer(start: bytes.base, count: bytes.count)) == [7] + Array(CSVText.cell(s).utf8),
                            "\(s.debugDescription)")
                    bytes.free()
                }
            }
        }
    }

    @Test func appendIntMatchesString() {
        for v in [0, 1, 9, 10, 11, 99, 100, 12345, -1, -10, Int.max, Int.min] {
            var out: [UInt8] = []
            CSVText.appendInt(v, to: &out)
            #expect(out == Array(String(v).utf8))
        }
    }

    /// The in-place row buffer of `ClassificationWriter.appendRows` writes the same bytes as
    /// the array appends, growing from a buffer too small for one cell; and into an array's
    /// storage (`appendRows`' rows of a batch): too small for one cell, for some (the bytes
    /// move to a buffer of its own), for all (they stay in the array).
    @Test(arguments: [nil, 1, 100, 100_000] as [Int?])
    func rowBytesMatchArrayAppends(lent: Int?) {
        let expected = Self.rowBytesExpected()
        guard let lent else {
            var bytes = RowBytes(capacity: 1)
            defer { bytes.free() }
            Self.putRowBytes(&bytes)
            #expect(Array(UnsafeBufferPointer(start: bytes.base, count: bytes.count)) == expected)
            return
        }
        var moved: [UInt8]?
        let rows = [UInt8](unsafeUninitializedCapacity: lent) { storage, initialized in
            var bytes = RowBytes(writingInto: storage)
            defer { bytes.free() }
            Self.putRowBytes(&bytes)
            initialized = bytes.isInPlace ? bytes.count : 0
            if !bytes.isInPlace { moved = Array(UnsafeBufferPointer(start: bytes.base, count: bytes.count)) }
        }
        #expect((moved == nil) == (lent > expected.count + 100))
        #expect((moved ?? rows) == expected)
    }

    /// Cells of every kind, ints and words (`rowBytesExpected` as array appends).
    static func putRowBytes(_ bytes: inout RowBytes) {
        for (k, s) in cells.enumerated() {
            bytes.putCell(s)
            bytes.reserve(21)
            bytes.putInt(k * 1_000_003 - 7)
            bytes.put(Array(s.utf8))
            bytes.reserve(8)
            bytes.putWord(0x3132_3334_3536_3738 &+ UInt64(k))
        }
    }

    static func rowBytesExpected() -> [UInt8] {
        var expected: [UInt8] = []
        for (k, s) in cells.enumerated() {
            CSVText.appendCell(s, to: &expected)
            CSVText.appendInt(k * 1_000_003 - 7, to: &expected)
            expected += Array(s.utf8)
            expected += [0x38 + UInt8(k), 0x37, 0x36, 0x35, 0x34, 0x33, 0x32, 0x31]
        }
        return expected
    }

    /// Cells made once per pooled text and copied after are those made text by text: each
    /// text many times, in and out of order, absent ones empty, from a buffer too small.
    @Test func pooledCellsMatchCells() {
        var pooled = PooledCells(texts: Self.cells)
        var bytes = RowBytes(capacity: 1)
        defer {
            pooled.free()
            bytes.free()
        }
        var expected: [UInt8] = []
        for k in 0..<(Self.cells.count * 7) {
            let index = k % 11 == 0 ? RecordTable.noText : Int32((k * 13) % Self.cells.count)
            pooled.put(index, to: &bytes)
            if index != RecordTable.noText { CSVText.appendCell(Self.cells[Int(index)], to: &expected) }
            bytes.put([10])
            expected.append(10)
        }
        #expect(Array(UnsafeBufferPointer(start: bytes.base, count: bytes.count)) == expected)
    }

    /// Quoted cells double every quote and keep the rest of the text, Vietnamese included.
    @Test func quotedCellsDoubleEveryQuote() {
        #expect(CSVText.cell("ấp 3, \"Bến Tre\"") == "\"ấp 3, \"\"Bến Tre\"\"\"")
        #expect(CSVText.cell("\"\"\"") == "\"\"\"\"\"\"\"\"")
        #expect(CSVText.cell("Nguyễn, Văn") == "\"Nguyễn, Văn\"")
        #expect(CSVText.cell("😀 \"x\", y") == "\"😀 \"\"x\"\", y\"")
    }
}
