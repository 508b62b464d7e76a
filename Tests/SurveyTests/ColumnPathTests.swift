import Testing
import Diagnostics
@testable import Survey

/// `transcript` of a survey read by the column path or, with `columns` false, the row path;
/// with `splitRuns` false the column path reads a row at a time (`SurveyReader.splitsRuns`),
/// with `matchRuns` false it matches split rows a household at a time (`SurveyReader.matchesRuns`),
/// and `bufferSize` gives the CSV readers small buffers (whole streaming reads only).
private func readingTranscript(_ dir: String, batch: Int, columns: Bool, partSize: Int? = nil,
                               splitRuns: Bool = true, matchRuns: Bool = true, bufferSize: Int? = nil) throws -> [String] {
    let schema = try shippedSchema()
    let reader: SurveyReader
    do {
        reader = try SurveyReader.open(householdsPath: dir + "/households.csv", membersPath: dir + "/members.csv",
                                       schema: schema, mapping: nil, partSize: partSize)
    } catch {
        return error.diagnostics.map(\.description)
    }
    if !columns { reader.usesColumnPath = false }
    reader.splitsRuns = splitRuns
    reader.matchesRuns = matchRuns
    if let bufferSize, reader.streaming { reader.useBuffers(of: bufferSize) }
    // Part readers read the way the reader that makes them reads.
    if reader.streaming {
        let partReader = try reader.makePartReader()
        #expect(partReader.usesColumnPath == columns && partReader.splitsRuns == splitRuns && partReader.matchesRuns == matchRuns)
    }
    return try transcript(reader, batch: batch, parts: partSize != nil && reader.streaming, markBatches: true)
}

/// The column path (rows split in chunks, clean households decoded a column at a time, the
/// others read again row by row) gives the records, problems and counts of the row path, word for
/// word, whatever the batch and part sizes.
@Suite struct ColumnPathTests {
    /// The shipped fixture with damage of every kind the reader reports or tolerates in files
    /// that stream (the same household ids, in the same order): bad cells of every kind, quoted
    /// and padded cells, CRLF line ends, blank lines, wrong column counts, Latin-1 bytes,
    /// non-ASCII household ids, repeated and non-ASCII member ids, households without members,
    /// birth dates after the reference date or too old.
    func messySurvey(_ name: String, seed: UInt64) -> String {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func rnd(_ n: Int) -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(state % UInt64(n))
        }
        let values = DecodeQuickPathTests.tricky + ["2030-01-01", "1890-05-05", "1950", " 1985-03-27 ", "\"own\"", "\"tv;radio\"", "\"a \"\"b\"\"\""]
        func mangle(_ line: Substring, keep: Int) -> String {
            var cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            switch rnd(12) {
            case 0:
                let c = keep + rnd(cells.count - keep)
                let v = values[rnd(values.count)]
                cells[c] = v.contains(",") ? "\"" + v + "\"" : v
            case 1: cells[keep + rnd(cells.count - keep)] += "\u{E9}"  // marker for a Latin-1 byte
            case 2: cells.append("extra")
            case 3: cells.removeLast()
            case 4: cells[keep + rnd(cells.count - keep)] = "\"" + cells[keep + rnd(cells.count - keep)] + "\""
            default: break
            }
            return cells.joined(separator: ",")
        }
        let fixture = root + "/Fixtures/thach-ha-2024"
        let hLines = readText(fixture + "/households.csv")!.split(separator: "\n").map { $0 }
        let mLines = readText(fixture + "/members.csv")!.split(separator: "\n").map { $0 }
        var byHousehold: [Substring: [Substring]] = [:]
        for line in mLines.dropFirst() { byHousehold[line.split(separator: ",").first!, default: []].append(line) }
        var h = [String(hLines[0])], m = [String(mLines[0])]
        for line in hLines[1...600] {
            let id = line.split(separator: ",").first!
            var row = line
            var members = byHousehold[id] ?? []
            switch rnd(25) {
            case 0: members = []
            case 1: if members.count > 1 { members[1] = members[0] }  // a member id twice
            case 2:
                // The id with an accent (the same bytes in both files: they still stream).
                row = Substring(id + "ô" + line.dropFirst(id.count))
                members = members.map { Substring(id + "ô" + $0.dropFirst(id.count)) }
            default: break
            }
            h.append(mangle(row, keep: 1))
            if rnd(20) == 0 { h.append("") }
            for (k, line) in members.enumerated() {
                var row = mangle(line, keep: 2)
                if rnd(30) == 0 {
                    var cells = row.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                    if cells.count > 1 { cells[1] = k == 0 ? "Một" : "1" }
                    row = cells.joined(separator: ",")
                }
                m.append(row)
                if rnd(40) == 0 { m.append("") }
            }
        }
        let dir = tempDir(name)
        func bytes(_ lines: [String]) -> [UInt8] {
            var out: [UInt8] = []
            for line in lines {
                // Latin-1 é where marked; CRLF on some lines.
                for b in line.utf8 { out.append(b) }
                if rnd(15) == 0 { out.append(0x0D) }
                out.append(0x0A)
            }
            var fixed: [UInt8] = []
            var i = 0
            while i < out.count {
                if i + 1 < out.count && out[i] == 0xC3 && out[i + 1] == 0xA9 && rnd(2) == 0 { fixed.append(0xE9); i += 2; continue }
                fixed.append(out[i]); i += 1
            }
            return fixed
        }
        writeBytes(dir + "/households.csv", bytes(h))
        writeBytes(dir + "/members.csv", bytes(m))
        return dir
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func columnPathReadsLikeTheRowPath(_ seed: UInt64) throws {
        let dir = messySurvey("column-path-\(seed)", seed: seed)
        let reader = try SurveyReader.open(householdsPath: dir + "/households.csv", membersPath: dir + "/members.csv",
                                           schema: try shippedSchema(), mapping: nil)
        #expect(reader.streaming, "the column path reads streaming surveys only")
        for batch in [1, 3, 300, 4096] {
            let rows = try readingTranscript(dir, batch: batch, columns: false)
            let columns = try readingTranscript(dir, batch: batch, columns: true)
            #expect(rows == columns, "seed \(seed), batch \(batch)")
            if rows != columns, let d = zip(rows, columns).first(where: { $0 != $1 }) { Issue.record("first difference:\n\(d.0)\n\(d.1)") }
            // The survey exercises both ways: households kept and households rejected.
            #expect(rows.contains { $0.contains("rejected") })
            #expect(rows.contains { $0.hasPrefix("household_id=") })
        }
        for size in [1, 7, 100] {
            #expect(try readingTranscript(dir, batch: 5, columns: false, partSize: size)
                == readingTranscript(dir, batch: 5, columns: true, partSize: size), "seed \(seed), parts of \(size)")
        }
    }

    /// Awkward values of every kind (padding, bad and edge dates, long, unknown and listed codes,
    /// signs, decimals with many digits, other flag spellings), one per row in a column that
    /// moves along: the rest of each household stays clean, so the column decode meets each
    /// value in each column, and must decode it, or send its household to the row path, as the
    /// row path would.
    static let awkward: [String] = DecodeQuickPathTests.tricky + [
        "0000-01-01", "0001-01-01", "9999-12-31", "10000-01-01", "2024-13-01", "2024-00-10", "2024-01-00", "2024-01-32",
        "20240101", "2024/01/01", "2024-01-1", "1985", "0001", "9999", "1899-12-31", "1904-07-01", "2024-09-15", "2024-09-16",
        "-5", "+7", "0.0", "-1.5", "0.0000000000000000000001", "123456789.123456789", "00000000000000000000001", "1e3",
        "own ", " own", "OWN", "Own", "borrowed", "borrowe", "borrowedd", "wage_without_contractx", "self_employed",
        "unprotected_dug_well", "unprotected_spring", "protected_spring", "tv; tv", "tv;xx", ";", " ; ", "smartphone;basic_phone",
        "yes ", "No", "KHÔNG", "2", "\t", "grandchild", "extremely_severe",
    ]

    func awkwardSurvey(_ name: String, values: [String] = ColumnPathTests.awkward) -> String {
        let fixture = root + "/Fixtures/thach-ha-2024"
        // Every `every`-th row: some households keep all their rows as they are.
        func mangled(_ lines: [Substring], keep: Int, every: Int) -> [String] {
            var out = [String(lines[0])]
            let columns = lines[0].split(separator: ",", omittingEmptySubsequences: false).count
            for (i, line) in lines.dropFirst().enumerated() {
                var cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                if i % every == 0 {
                    let k = i / every, v = values[k % values.count]
                    cells[keep + (k / 7) % (columns - keep)] = v.contains(",") ? "\"" + v + "\"" : v
                }
                out.append(cells.joined(separator: ","))
            }
            return out
        }
        let hLines = readText(fixture + "/households.csv")!.split(separator: "\n")
        let mLines = readText(fixture + "/members.csv")!.split(separator: "\n")
        let dir = tempDir(name)
        write(dir + "/households.csv", mangled(hLines, keep: 1, every: 2).joined(separator: "\n") + "\n")
        write(dir + "/members.csv", mangled(mLines, keep: 2, every: 5).joined(separator: "\n") + "\n")
        return dir
    }

    /// The column path reads the survey in `dir` as the row path does, at batch sizes that end
    /// chunks anywhere; returns the row path's transcripts (for what a test expects of them).
    func expectColumnPathReadsLikeRowPath(_ dir: String) throws -> [[String]] {
        try [1, 300, 4096].map { batch in
            let rows = try readingTranscript(dir, batch: batch, columns: false)
            let columns = try readingTranscript(dir, batch: batch, columns: true)
            #expect(rows == columns, "batch \(batch)")
            if rows != columns, let d = zip(rows, columns).first(where: { $0 != $1 }) { Issue.record("first difference:\n\(d.0)\n\(d.1)") }
            return rows
        }
    }

    @Test func awkwardValuesReadLikeTheRowPath() throws {
        for rows in try expectColumnPathReadsLikeRowPath(awkwardSurvey("column-path-awkward")) {
            #expect(rows.contains { $0.contains("rejected") })
            #expect(rows.filter { $0.hasPrefix("household_id=") }.count > 100)
        }
    }

    /// One-byte texts (member ids 1 to 9, which the column path indexes by their byte) of every
    /// kind, repeated within a household and not, in member ids and in villages, read as the
    /// row path reads them.
    @Test func oneByteTextsReadLikeTheRowPath() throws {
        let fixture = root + "/Fixtures/thach-ha-2024"
        let bytes = Array("123456789AaZz0-_.x\u{7F}".unicodeScalars.map(String.init)) + ["12", "", "ab"]
        func withCell(_ lines: [Substring], _ c: Int, _ value: (Int) -> String) -> [String] {
            [String(lines[0])] + lines.dropFirst().enumerated().map { i, line in
                var cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                cells[c] = value(i)
                return cells.joined(separator: ",")
            }
        }
        let hLines = readText(fixture + "/households.csv")!.split(separator: "\n")
        let mLines = readText(fixture + "/members.csv")!.split(separator: "\n")
        let dir = tempDir("column-path-one-byte")
        // Every value in every run of clean households; a member id again in a household now and then.
        write(dir + "/households.csv", withCell(hLines, 4) { bytes[($0 * 5 + $0 / bytes.count) % bytes.count] }.joined(separator: "\n") + "\n")
        write(dir + "/members.csv", withCell(mLines, 1) { bytes[($0 % 97 == 1 ? $0 - 1 : $0) % bytes.count] }.joined(separator: "\n") + "\n")
        for batch in [1, 300, 4096] {
            let rows = try readingTranscript(dir, batch: batch, columns: false)
            #expect(rows == (try readingTranscript(dir, batch: batch, columns: true)), "batch \(batch)")
            #expect(rows.filter { $0.contains("member_id=a") }.count > 10)
        }
    }

    /// `awkwardValuesReadLikeTheRowPath` without values padded with blanks: no chunk then has a
    /// padded cell, and its flags and codes are read by their first byte and comma
    /// (`CommaSpellings`) instead of by their length.
    @Test func unpaddedAwkwardValuesReadLikeTheRowPath() throws {
        let unpadded = ColumnPathTests.awkward.filter { v in
            v.utf8.first.map { $0 > 0x20 } ?? true && v.utf8.last.map { $0 > 0x20 } ?? true
        }
        let dir = awkwardSurvey("column-path-awkward-unpadded", values: unpadded + ["tr", "t", "f", ",", "truee", "1,0"])
        for rows in try expectColumnPathReadsLikeRowPath(dir) {
            #expect(rows.contains { $0.contains("rejected") })
        }
    }

    /// Code columns read by their first byte and comma (`CommaSpellings`, as flags): among the
    /// survey's own values, now and then another case, a prefix or extension of a code met just
    /// before, an unknown code, one sharing a first byte with another (own/other) or too long for
    /// a slot; read as the row path reads them. A slot that took a code for its prefix or
    /// extension, or for another case, would read a value the row path does not.
    @Test func shortCodesReadLikeTheRowPath() throws {
        let dir = fixtureWithOddValues("column-path-short-codes", [
            "dwelling": ["Own", "ownn", "ow", "OWN", "owm", "other", "rented", "o", "", "rentedx"],
            "relation": ["Head", "heads", "hea", "child", "childr", "c", "other", "grandchild", "spouse", ""],
            "sex": ["Male", "mal", "males", "female", "f", "FEMALE", "m", ""],
        ])
        try expectRowAndColumnPathsAgree(dir)
    }

    /// Cells the decode loops leave for after the loop (a code not yet in its column's ways, a
    /// date of a month not met, a flag of the last column spelled otherwise than true/false, a
    /// village not yet in the table of values met) read as the row path reads them: codes of
    /// the length path in other cases and unknown, dates of ever new months, impossible days,
    /// births after the reference day and bare years, flags as yes/1/có/TRUE, and more villages
    /// of 9...16 bytes than the table has slots. A cell decoded after the loop from the wrong
    /// row, or a cell left for after it but also decoded in it, would read otherwise.
    @Test func cellsLeftForAfterTheLoopReadLikeTheRowPath() throws {
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let births = (0..<97).map { k in "\(1930 + (k * 7) % 95)-\(two(1 + (k * 5) % 12))-\(two(1 + (k * 11) % 31))" }
        let dir = fixtureWithOddValues("column-path-after-the-loop", [
            "employment": ["Self_Employed", "retired", "wage_with_contractx", "student", "STUDENT", "unemployed", "", "homemaker"],
            "education": ["primary", "University", "college", "none", "vocational_elementary", "primaryy", "lower_secondary"],
            "water_source": ["Piped", "borehole", "unprotected_spring", "bottled", "piped ", "rainwater"],
            "latrine": ["biogas", "Flush_Septic", "none", "double_vault", "overhang", "simple pitt"],
            "birth_date": births + ["2023-02-30", "2031-01-01", "1990", "1990-13-01", "1990-1-01", "2024-09-16", ""],
            "review_date": ["2024-09-16", "2024-10-01", "2024-02-29", "2023-02-29", "2025-01-15"],
            "pregnant_or_lactating": ["TRUE", "yes", "1", "có", "x", "", "false", "không", "no", "0", "true"],
            "village": (0..<40).map { "Thôn số \(two($0))" } + ["Thôn Nam", "Thôn Hợp Tiến", ""],
        ], every: 2)
        try expectRowAndColumnPathsAgree(dir)
    }

    /// Flags and codes of the columns read by their first byte and comma (`CommaSpellings`) that
    /// their slots do not hold when the loop reaches them, left for after it: spellings first
    /// met in the chunk (then learnt from the first of them, in order), other cases, unknown
    /// ones, empty cells, and spellings that share a first byte with one in its slot. A cell
    /// decoded after the loop from the wrong row or with the wrong slot, or one left for after
    /// the loop but also decoded in it, would read otherwise than the row path.
    @Test func commaCellsLeftForAfterTheLoopReadLikeTheRowPath() throws {
        let dir = fixtureWithOddValues("column-path-comma-after-the-loop", [
            "internet": ["yes", "1", "true", "có", "TRUE", "", "maybe", "false", "0", "không", "t"],
            "walls_durable": ["false", "no", "", "f", "true", "fals", "1"],
            "dwelling": ["rented", "own", "Own", "x", "", "other", "ownx", "o"],
            "health_insurance": ["no", "true", "2", "", "yes", "không", "false"],
            "sex": ["f", "female", "male", "F", "", "males", "m"],
            "in_school": ["0", "1", "false", "true", "nope"],
        ], every: 2)
        try expectRowAndColumnPathsAgree(dir)
    }

    /// Adjacent flag columns read two in one loop (`decodeCommaPair`: members' social_allowance
    /// and able_to_work, trained … stable_livelihood; households' foundation_durable and
    /// walls_durable, agri_household and poor_district) read as the row path reads them: every
    /// spelling of a flag in either column of a pair (each column cycles through its own list,
    /// so the two differ), other cases, unknown and empty cells, a quoted cell, with buffers
    /// that cut records anywhere. A value put in the other column of its pair, or a cell left for
    /// after the loop in the other column's list, would read otherwise.
    @Test func adjacentFlagColumnsReadLikeTheRowPath() throws {
        let flags = ["true", "false", "", "TRUE", "yes", "1", "0", "no", "có", "không", "x", "tru", "falsee", "f", "t",
                     "false", "true", "\"true\"", "fals", "true"]
        func rotated(_ k: Int) -> [String] { Array(flags[k...] + flags[..<k]) + Array(repeating: "false", count: k) }
        let adjacent = ["social_allowance", "able_to_work", "trained", "certificate", "stunted", "underweight", "merit",
                        "stable_livelihood", "foundation_durable", "walls_durable", "roof_durable", "agri_household",
                        "poor_district", "ethnic_minority"]
        let dir = fixtureWithOddValues("column-path-adjacent-flags",
                                       Dictionary(uniqueKeysWithValues: adjacent.enumerated().map { ($1, rotated($0 % 7)) }), every: 2)
        for batch in [1, 7, 300, 4096] {
            let rows = try readingTranscript(dir, batch: batch, columns: false)
            for bufferSize in [nil, 61, 97] {
                let columns = try readingTranscript(dir, batch: batch, columns: true, bufferSize: bufferSize)
                #expect(rows == columns, "batch \(batch), buffer \(bufferSize ?? 0)")
                if rows != columns, let d = zip(rows, columns).first(where: { $0 != $1 }) { Issue.record("first difference:\n\(d.0)\n\(d.1)") }
            }
            #expect(rows.contains { $0.contains("rejected") })
        }
    }

    /// The fixture survey with every `every`-th row taking the next of `odd`'s values in each
    /// column it names (the others keep theirs), in a new directory `name`.
    func fixtureWithOddValues(_ name: String, _ odd: [String: [String]], every: Int = 3) -> String {
        let fixture = root + "/Fixtures/thach-ha-2024"
        func rewritten(_ path: String) -> String {
            let lines = readText(path)!.split(separator: "\n").map(String.init)
            let names = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            var out = [lines[0]]
            for (i, line) in lines.dropFirst().enumerated() {
                var cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                for (c, name) in names.enumerated() where i % every == 0 {
                    if let values = odd[name] { cells[c] = values[(i / every) % values.count] }
                }
                out.append(cells.joined(separator: ","))
            }
            return out.joined(separator: "\n") + "\n"
        }
        let dir = tempDir(name)
        write(dir + "/households.csv", rewritten(fixture + "/households.csv"))
        write(dir + "/members.csv", rewritten(fixture + "/members.csv"))
        return dir
    }

    /// The row path and the column path read `dir` alike at several batch sizes, and reject some
    /// of its households.
    func expectRowAndColumnPathsAgree(_ dir: String) throws {
        for batch in [1, 7, 300, 4096] {
            let rows = try readingTranscript(dir, batch: batch, columns: false)
            let columns = try readingTranscript(dir, batch: batch, columns: true)
            #expect(rows == columns, "batch \(batch)")
            if rows != columns, let d = zip(rows, columns).first(where: { $0 != $1 }) { Issue.record("first difference:\n\(d.0)\n\(d.1)") }
            #expect(rows.contains { $0.contains("rejected") })
        }
    }

    @Test(arguments: listDirectory(invalidRoot) + ["../thach-ha-2024"])
    func invalidSurveysReadLikeTheRowPath(_ name: String) throws {
        let dir = invalidRoot + "/" + name
        for batch in [1, 4096] {
            let rows = try readingTranscript(dir, batch: batch, columns: false)
            #expect(rows == (try readingTranscript(dir, batch: batch, columns: true)), "\(name), batch \(batch)")
            #expect(rows == (try readingTranscript(dir, batch: batch, columns: true, splitRuns: false)), "\(name), batch \(batch), rows at a time")
            #expect(rows == (try readingTranscript(dir, batch: batch, columns: true, bufferSize: 97)), "\(name), batch \(batch), small buffers")
        }
    }

    /// The chunk scan with runs of clean rows split ahead reads like the scan a row at a time and
    /// like the row path, its households matched in runs like a household at a time, on damaged surveys and on surveys whose rows only the row path's id
    /// comparison matches, with buffers so small that runs and rows cross their ends all the
    /// time, at batch sizes that end chunks anywhere.
    @Test(arguments: [UInt64(1), 2, 3])
    func splitRunsReadLikeRowsAtATime(_ seed: UInt64) throws {
        for dir in [messySurvey("split-runs-\(seed)", seed: seed), awkwardIDSurvey("split-runs-ids-\(seed)", seed: seed)] {
            let reader = try SurveyReader.open(householdsPath: dir + "/households.csv", membersPath: dir + "/members.csv",
                                               schema: try shippedSchema(), mapping: nil)
            #expect(reader.streaming, "the column path reads streaming surveys only")
            for (batch, buffer) in [(1, 64), (3, 200), (4096, 100), (7, 1000), (300, 4096), (5, nil)] as [(Int, Int?)] {
                let rows = try readingTranscript(dir, batch: batch, columns: false)
                let atATime = try readingTranscript(dir, batch: batch, columns: true, splitRuns: false, bufferSize: buffer)
                let split = try readingTranscript(dir, batch: batch, columns: true, bufferSize: buffer)
                let householdAtATime = try readingTranscript(dir, batch: batch, columns: true, matchRuns: false, bufferSize: buffer)
                #expect(householdAtATime == split, "seed \(seed), batch \(batch), buffer \(buffer ?? 0), split rows matched a household at a time")
                #expect(rows == atATime, "seed \(seed), batch \(batch), buffer \(buffer ?? 0), rows at a time")
                #expect(rows == split, "seed \(seed), batch \(batch), buffer \(buffer ?? 0)")
                if rows != split, let d = zip(rows, split).first(where: { $0 != $1 }) { Issue.record("first difference:\n\(d.0)\n\(d.1)") }
                #expect(rows.contains { $0.hasPrefix("household_id=") })
            }
            for size in [1, 7, 100] {
                #expect(try readingTranscript(dir, batch: 5, columns: false, partSize: size)
                    == readingTranscript(dir, batch: 5, columns: true, partSize: size), "seed \(seed), parts of \(size)")
            }
        }
    }

    /// The shipped fixture (still streaming) with id cells the chunk scan cannot match by their
    /// bytes, and rows it cannot split: ids with blanks around them or quoted, rows of commas
    /// only, blank lines, names with four-byte and other rarer UTF-8 sequences, and long names
    /// that put rows across blocks.
    func awkwardIDSurvey(_ name: String, seed: UInt64) -> String {
        var state = seed &* 0x2545_F491_4F6C_DD1D | 1
        func rnd(_ n: Int) -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(state % UInt64(n))
        }
        let fixture = root + "/Fixtures/thach-ha-2024"
        let hLines = readText(fixture + "/households.csv")!.split(separator: "\n").map(String.init)
        let mLines = readText(fixture + "/members.csv")!.split(separator: "\n").map(String.init)
        let commas = String(repeating: ",", count: mLines[0].filter { $0 == "," }.count)
        var byHousehold: [Substring: [String]] = [:]
        for line in mLines.dropFirst() { byHousehold[line.split(separator: ",").first!, default: []].append(line) }
        // Four-byte, E0 and ED sequences, which only the exact UTF-8 check passes.
        let names = ["😀 Lê", "Nguyễn \u{0800}", "Thị \u{D7FF}", "Hồ " + String(repeating: "Ưở", count: 40), "Trần\u{0301}"]
        func withCell(_ line: String, _ c: Int, _ f: (String) -> String) -> String {
            var cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            if c < cells.count { cells[c] = f(cells[c]) }
            return cells.joined(separator: ",")
        }
        var h = [hLines[0]], m = [mLines[0]]
        for line in hLines[1...500] {
            let id = line.split(separator: ",").first!
            var row = line
            switch rnd(30) {
            case 0: row = withCell(row, 0) { " " + $0 }
            case 1: row = withCell(row, 0) { $0 + "\t" }
            default: break
            }
            h.append(row)
            if rnd(40) == 0 { h.append(String(repeating: ",", count: hLines[0].filter { $0 == "," }.count)) }
            for var member in byHousehold[id] ?? [] {
                switch rnd(40) {
                case 0: member = withCell(member, 0) { " " + $0 }
                case 1: member = withCell(member, 0) { $0 + " " }
                case 2: member = withCell(member, 0) { "\t" + $0 }
                case 3: member = withCell(member, 0) { "\"" + $0 + "\"" }
                case 4, 5, 6: member = withCell(member, 2) { _ in names[rnd(names.count)] }
                case 7: m.append(commas)
                case 8: m.append("")
                default: break
                }
                m.append(member)
            }
        }
        let dir = tempDir(name)
        write(dir + "/households.csv", h.joined(separator: "\n") + "\n")
        write(dir + "/members.csv", m.joined(separator: "\n") + (seed == 2 ? "" : "\n"))
        return dir
    }

    /// The id compare of the chunk scan (`KeyScan.equal`, shared with the layout pass) agrees
    /// with `memcmp` at every length around its word loads, for bytes that differ anywhere.
    @Test func idCompareAgreesWithMemcmp() {
        for n in 0...24 {
            let a = (0..<n).map { UInt8(0x41 + $0 % 26) }
            for k in -1..<n {
                var b = a
                if k >= 0 { b[k] ^= 0x20 }
                let same = a.withUnsafeBufferPointer { p in b.withUnsafeBufferPointer { q in
                    KeyScan.equal(p.baseAddress ?? UnsafePointer(bitPattern: 1)!, q.baseAddress ?? UnsafePointer(bitPattern: 1)!, n)
                } }
                #expect(same == (k < 0), "length \(n), byte \(k) changed")
            }
        }
    }

    /// A reader keeping the bytes from `keepFrom` on reads the same records again after reading
    /// past the end of its buffer many times over.
    @Test func keptRecordsReadAgainAfterRefills() throws {
        let dir = tempDir("column-path-keep")
        var text = ""
        for i in 0..<500 { text += "id\(i),\(String(repeating: "x", count: i % 37)),\(i * 7)\r\n" }
        write(dir + "/t.csv", text)
        let csv = try CSVReader(path: dir + "/t.csv", bufferSize: 256)
        var first: [[String]] = []
        var starts: [(Int, Int)] = []
        csv.keepFrom = 0
        func fields() -> [String] {
            (0..<csv.fieldCount).map { k in let (p, n) = csv.trimmedField(k); return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self) }
        }
        while csv.next() {
            starts.append((csv.recordFileOffset, csv.recordLine))
            first.append(fields())
        }
        #expect(first.count == 500)
        for (k, (offset, line)) in starts.enumerated().reversed() where k % 7 == 0 {
            csv.seek(fileOffset: offset, line: line)
            #expect(csv.next())
            #expect(csv.recordLine == line)
            #expect(fields() == first[k])
        }
    }
}
