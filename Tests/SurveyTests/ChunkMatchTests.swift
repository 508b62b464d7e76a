import Testing
@testable import Survey

/// `transcript` of a survey read by the row path (`columns` false) or the column path, its split
/// rows matched in one loop (`matchRuns`, `SurveyReader.matchesRuns`) or a household at a time,
/// with CSV buffers of `bufferSize` bytes when given.
private func matchingTranscript(_ dir: String, batch: Int, columns: Bool, matchRuns: Bool = true, bufferSize: Int? = nil) throws -> [String] {
    let reader = try SurveyReader.open(householdsPath: dir + "/households.csv", membersPath: dir + "/members.csv",
                                       schema: try shippedSchema(), mapping: nil)
    #expect(reader.streaming)
    reader.usesColumnPath = columns
    reader.matchesRuns = matchRuns
    if let bufferSize { reader.useBuffers(of: bufferSize) }
    return try transcript(reader, batch: batch, parts: false, markBatches: true)
}

/// The bulk matching loop (`matchSplitHouseholds`) checks member ids while they increase with no
/// set (`AscendingMemberIDs`) and goes back to the set from the first that does not: it must
/// find the repeated ids, and only those, that the set finds a household at a time and the row
/// path finds.
@Suite struct ChunkMatchTests {
    /// Member id sequences of a household: in order, out of order, repeated (at once, later,
    /// after trimming), over the 7 bytes a key holds, empty, non-ASCII, with blanks around.
    static let idSequences: [[String]] = [
        ["1", "2", "3"], ["3", "2", "1"], ["1", "2", "1"], ["1", "1"], ["2", "1", "2"], ["1", "3", "2"],
        ["9", "10", "11"], ["19", "20", "21"], ["10", "9"], ["a", "B", "b"], ["b", "B", "b"],
        ["1234567", "12345678", "1234567"], ["12345678", "12345679"], ["m-000001", "m-000002", "m-000001"],
        ["abcdefg", "abcdefgh", "abcdefghi"], ["7", "7654321", "7"], ["1", "", "2"], ["1", "ô", "2"], ["ô", "ô"],
        ["1", " 1"], ["1", "2 ", "2"], [" 1", "2", "3 "], ["0", "00", "000"], ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"],
        ["Z", "a"], ["\u{7F}", "~"], ["1"], ["2", "3", "1", "4", "2"],
    ]

    /// The shipped fixture with the member ids of each household taken from `idSequences` in
    /// turn (members added or dropped to fit), some households left with no members.
    func memberIDSurvey(_ name: String) -> String {
        let fixture = root + "/Fixtures/thach-ha-2024"
        let hLines = readText(fixture + "/households.csv")!.split(separator: "\n").map(String.init)
        let mLines = readText(fixture + "/members.csv")!.split(separator: "\n").map(String.init)
        var byHousehold: [Substring: [String]] = [:]
        for line in mLines.dropFirst() { byHousehold[line.split(separator: ",").first!, default: []].append(line) }
        var h = [hLines[0]], m = [mLines[0]]
        for (i, line) in hLines.dropFirst().prefix(700).enumerated() {
            h.append(line)
            let id = line.split(separator: ",").first!
            guard let members = byHousehold[id], i % 37 != 5 else { continue }
            // Every other household keeps its own ids (1...n, the common case); the others take a sequence.
            if i % 2 == 0 {
                m += members
                continue
            }
            let ids = ChunkMatchTests.idSequences[(i / 2) % ChunkMatchTests.idSequences.count]
            for (k, memberID) in ids.enumerated() {
                var cells = members[k % members.count].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                cells[1] = memberID
                m.append(cells.joined(separator: ","))
            }
        }
        let dir = tempDir(name)
        write(dir + "/households.csv", h.joined(separator: "\n") + "\n")
        write(dir + "/members.csv", m.joined(separator: "\n") + "\n")
        return dir
    }

    @Test func memberIDsCheckedInTheLoopLikeInTheSet() throws {
        let dir = memberIDSurvey("chunk-match-member-ids")
        for (batch, buffer) in [(4096, nil), (1, 64), (7, 300), (300, 4096), (256, nil), (257, 1000)] as [(Int, Int?)] {
            let rows = try matchingTranscript(dir, batch: batch, columns: false)
            let bulk = try matchingTranscript(dir, batch: batch, columns: true, bufferSize: buffer)
            let oneByOne = try matchingTranscript(dir, batch: batch, columns: true, matchRuns: false, bufferSize: buffer)
            #expect(rows == bulk, "batch \(batch), buffer \(buffer ?? 0)")
            #expect(oneByOne == bulk, "batch \(batch), buffer \(buffer ?? 0), a household at a time")
            if rows != bulk, let d = zip(rows, bulk).first(where: { $0 != $1 }) { Issue.record("first difference:\n\(d.0)\n\(d.1)") }
            // The survey has both: repeated member ids rejected, and households with ids out of order accepted.
            #expect(rows.contains { $0.hasPrefix("duplicate_member:") })
            #expect(rows.contains { $0.contains("member_id=3 ") || $0.hasSuffix("member_id=3") })
        }
    }

    /// `AscendingMemberIDs.take` takes an id exactly when it is an ASCII id of 1...7 bytes after
    /// the last one taken, by length then bytes: so ids it takes one after the other are distinct.
    @Test func ascendingIDsTakenInLengthThenByteOrder() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func rnd(_ n: Int) -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(state % UInt64(n))
        }
        let alphabet: [UInt8] = Array("019aZ~".utf8) + [0x7F, 0x80, 0xC3, 0x20]
        func randomID() -> [UInt8] { (0..<rnd(10)).map { _ in alphabet[rnd(alphabet.count)] } }
        func ordered(_ a: [UInt8], before b: [UInt8]) -> Bool { a.count != b.count ? a.count < b.count : a.lexicographicallyPrecedes(b) }
        func takable(_ id: [UInt8]) -> Bool { (1...7).contains(id.count) && id.allSatisfy { $0 < 0x80 } }
        // The id in a buffer with other bytes after it, as in a CSV buffer.
        func take(_ ids: inout AscendingMemberIDs, _ id: [UInt8]) -> Bool {
            let slack = (0..<16).map { _ in UInt8(truncatingIfNeeded: rnd(256)) }
            return (id + slack).withUnsafeBufferPointer { ids.take($0.baseAddress!, id.count) }
        }
        for _ in 0..<5000 {
            var ids = AscendingMemberIDs()
            var last: [UInt8]?
            for _ in 0..<(1 + rnd(6)) {
                let id = randomID()
                let expected = takable(id) && (last.map { ordered($0, before: id) } ?? true)
                #expect(take(&ids, id) == expected, "\(String(decoding: id, as: UTF8.self)) after \(last.map { String(decoding: $0, as: UTF8.self) } ?? "-")")
                if expected { last = id }
            }
        }
    }
}
