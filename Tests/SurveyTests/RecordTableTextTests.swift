import Testing
@testable import Survey

/// The column path's bulk text appends (`appendDistinctTexts` for household ids,
/// `appendTexts(_:of:field:rows:size:)` for their members' rows) give every row the text the
/// appends of one text at a time give, between rows the row path appends.
@Suite struct RecordTableTextTests {
    @Test func bulkTextsReadLikeTextsAppendedOneByOne() throws {
        let schema = try shippedSchema()
        let hf = try #require(schema.households.firstIndex { $0.name == "household_id" })
        let mf = try #require(schema.members.firstIndex { $0.name == "household_id" })
        var bulkH = RecordTable(fields: schema.households, file: "h"), oneH = bulkH
        var bulkM = RecordTable(fields: schema.members, file: "m"), oneM = bulkM
        func lines(_ n: Int) -> [Int32] { [Int32](repeating: 7, count: n) }
        /// A row the row path appends: the same to both tables.
        func appendRow(_ text: String?) {
            var hTexts = [String?](repeating: nil, count: schema.households.count)
            var mTexts = [String?](repeating: nil, count: schema.members.count)
            hTexts[hf] = text
            mTexts[mf] = text
            for t in [0, 1] {
                if t == 0 { bulkH.appendRow(texts: hTexts, fields: [hf], count: 1, line: 7) } else { oneH.appendRow(texts: hTexts, fields: [hf], count: 1, line: 7) }
                if t == 0 { bulkM.appendRow(texts: mTexts, fields: [mf], count: 1, line: 7) } else { oneM.appendRow(texts: mTexts, fields: [mf], count: 1, line: 7) }
            }
        }
        var next = 0
        // Runs of every length, a missing id here and there, households with no members, and
        // rows of the row path between runs with the text that ended the run before, or another.
        for (k, run) in [3, 1, 0, 7, 2, 5, 1].enumerated() {
            let texts: [String?] = (0..<run).map { i in (next + i) % 5 == 3 ? nil : "H\(next + i)" + String(repeating: "x", count: (next + i) % 3 * 9) }
            let sizes = (0..<run).map { (next + $0) % 4 }
            next += run
            let members = sizes.reduce(0, +)
            bulkH.appendDistinctTexts(hf, count: run) { texts[$0] }
            bulkH.appendLines(lines(run), count: run)
            bulkM.appendTexts(mf, of: bulkH, field: hf, rows: (bulkH.count - run)..<bulkH.count) { sizes[$0] }
            bulkM.appendLines(lines(members), count: members)
            oneH.appendTexts(hf, count: run) { texts[$0] }
            oneH.appendLines(lines(run), count: run)
            oneM.appendTexts(mf, groups: run, rows: members) { (texts[$0], sizes[$0]) }
            oneM.appendLines(lines(members), count: members)
            appendRow(k % 2 == 0 ? texts.last ?? nil : "R\(k)")
        }
        #expect(bulkH.count == oneH.count && bulkM.count == oneM.count)
        #expect(bulkM.count > 10)
        for r in 0..<oneH.count { #expect(bulkH.text(hf, r) == oneH.text(hf, r), "household row \(r)") }
        for r in 0..<oneM.count { #expect(bulkM.text(mf, r) == oneM.text(mf, r), "member row \(r)") }
        // Rows with one index have one text (what a writer relies on).
        for table in [bulkH, bulkM] {
            let f = table.fields.count == schema.households.count ? hf : mf
            let ids = table.textIndexes(f)
            for r in 1..<table.count where ids[r] == ids[r - 1] { #expect(table.text(f, r) == table.text(f, r - 1)) }
        }
    }
}
