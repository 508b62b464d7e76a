import Testing
@testable import Survey

/// A chunk whose households are all clean is decoded straight into its batch's value columns
/// (`RecordTable.writeValues`) instead of into the chunk and copied: the batch must hold the
/// values the copy gave, when the columns grow mid-batch, when a cell of such a chunk fails (its
/// values go back to the chunk) and between rows of the row path.
@Suite struct BatchValuesTests {
    /// Rows written in place, taken or not, between rows from a `RowStore` and rows appended
    /// from a scratch block, with room reserved for a few rows only: the columns hold what plain
    /// appends give, and text fields (whose cells are texts) no values.
    @Test func valuesWrittenInPlaceReadLikeValuesAppended() throws {
        let fields = try shippedSchema().members
        var table = RecordTable(fields: fields, file: "m")
        table.reserve(3, textFields: [])
        var expected = [[Int64]](repeating: [], count: fields.count)
        let valueFields = fields.indices.filter { if case .text = fields[$0].type { false } else { true } }
        #expect(valueFields.count < fields.count)
        func expect(_ row: [Int64]) { for f in valueFields { expected[f].append(row[f]) } }
        let store = RowStore(fieldCount: fields.count)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int64(bitPattern: state >> 7)
        }
        for round in 0..<60 {
            let n = [0, 1, 2, 5, 17, 64, 300][round % 7]
            let rows = (0..<n).map { _ in (0..<fields.count).map { _ in next() } }
            switch round % 4 {
            case 0, 1:
                // Written in place; every third batch of them not taken.
                let take = round % 3 != 2
                let taken = table.writeValues(rows: n) { columns in
                    for (i, row) in rows.enumerated() { for f in row.indices { columns[f][i] = row[f] } }
                    return take
                }
                #expect(taken == take)
                if take { rows.forEach(expect) }
            case 2:
                // Rows of the row path, in the store until taken.
                for var row in rows {
                    row.withUnsafeMutableBufferPointer { store.append($0.baseAddress!) }
                    expect(row)
                }
                table.takeValues(store)
            default:
                // Appended from a column-major block, from its third row on.
                let stride = n + 3
                var block = [Int64](repeating: 0, count: stride * fields.count)
                for (i, row) in rows.enumerated() { for f in row.indices { block[f * stride + 3 + i] = row[f] } }
                block.withUnsafeBufferPointer { table.appendValues($0.baseAddress!, stride: stride, from: 3, count: n) }
                rows.forEach(expect)
            }
        }
        table.endValues(store)
        #expect(table.values == expected)
    }

    /// The shipped fixture with every `bigEvery`-th household's members listed three times
    /// (more members than the room a batch reserves), and one bad code in every `badEvery`-th
    /// row of each file: most chunks all clean, a few with a cell that fails.
    func survey(_ name: String, bigEvery: Int, badEvery: Int) -> String {
        let fixture = root + "/Fixtures/thach-ha-2024"
        let hLines = readText(fixture + "/households.csv")!.split(separator: "\n").map(String.init)
        let mLines = readText(fixture + "/members.csv")!.split(separator: "\n").map(String.init)
        func spoiled(_ line: String, _ i: Int, column: Int) -> String {
            guard i % badEvery == badEvery - 1 else { return line }
            var cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            cells[column] = "not-a-code"
            return cells.joined(separator: ",")
        }
        let dwelling = hLines[0].split(separator: ",").firstIndex(of: "dwelling")!
        let sex = mLines[0].split(separator: ",").firstIndex(of: "sex")!
        var byHousehold: [Substring: [String]] = [:]
        var order: [Substring] = []
        for line in mLines.dropFirst() {
            let id = line.split(separator: ",").first!
            if byHousehold[id] == nil { order.append(id) }
            byHousehold[id, default: []].append(line)
        }
        var h = [hLines[0]], m = [mLines[0]]
        for (i, line) in hLines.dropFirst().enumerated() { h.append(spoiled(line, i, column: dwelling)) }
        var row = 0
        for (k, id) in order.enumerated() {
            let members = byHousehold[id]!
            for copy in 0..<(k % bigEvery == 0 ? 3 : 1) {
                for line in members {
                    var cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                    cells[1] += copy == 0 ? "" : "-\(copy)"
                    m.append(spoiled(cells.joined(separator: ","), row, column: sex))
                    row += 1
                }
            }
        }
        let dir = tempDir(name)
        write(dir + "/households.csv", h.joined(separator: "\n") + "\n")
        write(dir + "/members.csv", m.joined(separator: "\n") + "\n")
        return dir
    }

    @Test(arguments: [(5, 700), (1, 300), (9, 100_000)])
    func chunksDecodedIntoTheBatchReadLikeTheRowPath(_ bigEvery: Int, _ badEvery: Int) throws {
        let dir = survey("batch-values-\(bigEvery)-\(badEvery)", bigEvery: bigEvery, badEvery: badEvery)
        func read(batch: Int, columns: Bool, parts: Bool) throws -> [String] {
            let reader = try SurveyReader.open(householdsPath: dir + "/households.csv", membersPath: dir + "/members.csv",
                                               schema: try shippedSchema(), mapping: nil, partSize: parts ? 500 : nil)
            #expect(reader.streaming)
            reader.usesColumnPath = columns
            return try transcript(reader, batch: batch, parts: parts, markBatches: true)
        }
        for (batch, parts) in [(1, false), (255, false), (300, true), (4096, false), (4096, true)] {
            let rows = try read(batch: batch, columns: false, parts: parts)
            let columns = try read(batch: batch, columns: true, parts: parts)
            #expect(rows == columns, "batch \(batch), parts \(parts)")
            if rows != columns, let d = zip(rows, columns).first(where: { $0 != $1 }) { Issue.record("first difference:\n\(d.0)\n\(d.1)") }
            // Households are rejected for a bad cell, unless none is spoiled.
            #expect(badEvery > 10_000 || rows.contains { $0.contains("rejected") })
        }
    }
}
