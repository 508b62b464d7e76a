import Testing
import CSplit
import Diagnostics
@testable import Survey
#if canImport(Glibc)
import Glibc
#endif

/// The layout pass with its shortcuts (inlined 64-byte searches, no table while the ids ascend)
/// finds exactly the layout of the plain pass (`memchr` per row, every id in the table): the
/// same parts, the same order decision, the same duplicate rows.
@Suite struct LayoutScanTests {
    /// The quick pass (with `bufferSize` bytes of buffer; members.csv scanned by two threads
    /// from `splitFrom` bytes) and the plain one.
    private static func layouts(_ dir: String, hCol: Int, mCol: Int, partSize: Int, bufferSize: Int = 4 << 20,
                                splitFrom: Int = MemberRuns.splitMinimum,
                                expected: Int = 100) throws -> (quick: SurveyLayout, plain: SurveyLayout) {
        let h = dir + "/households.csv", m = dir + "/members.csv"
        let quick = try SurveyLayout.scan(h, hCol, m, mCol, expectedHouseholds: expected, partSize: partSize, bufferSize: bufferSize,
                                          splitMembersFrom: splitFrom)
        let plain = try SurveyLayout.scan(h, hCol, m, mCol, expectedHouseholds: expected, partSize: partSize, plain: true)
        return (quick, plain)
    }

    /// The same layout both ways, with members.csv scanned by one thread and by two (split at
    /// its middle, whatever it holds there).
    private static func expectSame(_ dir: String, _ what: String, hCol: Int = 0, mCol: Int = 0,
                                   partSizes: [Int] = [1, 2, 5, 8192], bufferSize: Int = 4 << 20) throws {
        for size in partSizes {
            for splitFrom in [Int.max, 0] {
                let (q, p) = try layouts(dir, hCol: hCol, mCol: mCol, partSize: size, bufferSize: bufferSize, splitFrom: splitFrom)
                let context = "\(what), columns \(hCol)/\(mCol), parts of \(size), split from \(splitFrom)"
                #expect(q.inOrder == p.inOrder, "\(context)")
                #expect(q.parts == p.parts, "\(context)")
                #expect(q.duplicateOf == p.duplicateOf, "\(context)")
            }
        }
    }

    /// Every run of members.csv as the matching thread gets it: id, offset and line.
    private static func runs(_ path: String, column: Int, splitFrom: Int, bufferSize: Int, quick: Bool = true) throws -> (runs: [String], split: Bool) {
        let m = try CSVReader(path: path, bufferSize: bufferSize)
        _ = m.next()
        let runs = try MemberRuns(m, column: column, quick: quick, splitFrom: splitFrom, bufferSize: bufferSize)
        runs.start()
        var found: [String] = []
        while let chunk = runs.next() {
            for r in chunk.first..<chunk.count {
                let (p, n) = chunk.id(r)
                found.append(String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self) + "@\(chunk.offsets[r]):\(chunk.line(r))")
            }
        }
        runs.stop()
        return (found, runs.scansInTwo)
    }

    /// Two scanners find exactly the runs one finds — ids, offsets, lines — when the second starts
    /// inside a run, on a run's first row, after a CRLF, inside a quoted line break (its guess is
    /// dropped), after a quoted record, with the file ending without a line break, and with many
    /// chunks of runs held by the second scanner before the first confirms its start.
    @Test func twoMemberScannersFindTheRunsOfOne() throws {
        let dir = tempDir("layout-member-split")
        let path = dir + "/members.csv"
        var cases: [String] = []
        // Small files: the middle falls on every kind of place, one file per shift.
        for shift in 0..<40 {
            var text = "household_id,member_id,full_name\r\n"
            for i in 0..<6 {
                let id = "H" + padded(i, 2 + (shift % 3))
                for k in 0..<(1 + (i + shift) % 3) {
                    let name = (i + k + shift) % 4 == 0 ? "\"Name\n\(String(repeating: "x", count: shift))\"" : "Name \(k)"
                    text += id + ",\(k)," + name + ((i + k) % 3 == 0 ? "\r\n" : "\n")
                }
            }
            if shift % 2 == 0 { text.removeLast() }
            cases.append(text)
        }
        // Large enough that the second scanner holds many chunks before its start is confirmed.
        var big = "household_id,member_id,full_name\n"
        for i in 0..<(MemberRuns.runsPerChunk * 6) {
            for k in 0..<(1 + i % 3) { big += "H" + padded(i, 6) + ",\(k),Name\n" }
        }
        cases.append(big)
        cases.append("household_id,member_id\n")
        cases.append("household_id,member_id\nH1,1\n")
        var splits = 0, twoScanners = 0
        for (n, text) in cases.enumerated() {
            write(path, text)
            for bufferSize in [16, 4 << 20] {
                for column in [0, 1] {
                    let one = try Self.runs(path, column: column, splitFrom: Int.max, bufferSize: bufferSize)
                    let two = try Self.runs(path, column: column, splitFrom: 0, bufferSize: bufferSize)
                    #expect(!one.split)
                    #expect(two.runs == one.runs, "case \(n), column \(column), buffer \(bufferSize): \(text.prefix(400).debugDescription)")
                    splits += 1
                    if two.split { twoScanners += 1 }
                }
            }
        }
        // Nearly every file was split (not the ones too short to have a line after the middle).
        #expect(twoScanners > splits * 3 / 4)
    }

    /// The shipped survey and every invalid one, with the id in the first and in another column.
    @Test(arguments: listDirectory(invalidRoot).map { invalidRoot + "/" + $0 } + [root + "/Fixtures/thach-ha-2024"])
    func fixturesGiveTheSameLayout(_ dir: String) throws {
        for (hCol, mCol) in [(0, 0), (1, 0), (0, 1), (3, 2)] {
            try Self.expectSame(dir, dir, hCol: hCol, mCol: mCol)
        }
        // A buffer of a few rows: rows and runs cut at every place by refills.
        try Self.expectSame(dir, dir + ", small buffer", partSizes: [3], bufferSize: 173)
    }

    /// The shipped survey sorted by id keeps no table; a repeated id near its end breaks the run
    /// there, so every earlier row is read again into the table, and the duplicate is the same.
    @Test func repeatedIdAfterALongAscendingRun() throws {
        let dir = tempDir("layout-late-duplicate")
        let h = readText(root + "/Fixtures/thach-ha-2024/households.csv")!.split(separator: "\n").map(String.init)
        let m = readText(root + "/Fixtures/thach-ha-2024/members.csv")!
        #expect(zip(h.dropFirst(), h.dropFirst(2)).allSatisfy { $0.0.prefix { $0 != "," } < $0.1.prefix { $0 != "," } })
        var rows = h
        rows.append(h[5])  // line 6's row again, at the end
        write(dir + "/households.csv", rows.joined(separator: "\n") + "\n")
        write(dir + "/members.csv", m)
        let sorted = try Self.layouts(root + "/Fixtures/thach-ha-2024", hCol: 0, mCol: 0, partSize: 100)
        #expect(sorted.quick.duplicateOf.isEmpty && sorted.quick.inOrder)
        let (q, p) = try Self.layouts(dir, hCol: 0, mCol: 0, partSize: 100)
        #expect(q.duplicateOf == [Int32(rows.count): 6])
        #expect(q.duplicateOf == p.duplicateOf && q.parts == p.parts && q.inOrder == p.inOrder)
    }

    /// Every part starts at a record start, on that record's own line, when quoted records (with
    /// line breaks inside) are cut by the end of the buffer: the pass once kept looking for the
    /// next quote where it had been before the buffer moved, and split a later quoted record as
    /// if it had none, one line off from there on.
    @Test func partsStartOnTheirRecordsWhenQuotedRecordsCrossRefills() throws {
        let dir = tempDir("layout-quoted-refills")
        var h = "household_id,province\n", m = "household_id,member_id,full_name,note\n"
        for i in 0..<6000 {
            let id = "H" + padded(i, 5)
            h += id + ",p\n"
            for k in 1...3 { m += id + ",\(k),\"Name \(i)\nsecond line\",\"x\"\n" }
        }
        write(dir + "/households.csv", h)
        write(dir + "/members.csv", m)
        #expect(m.utf8.count > 4 * CSVReader.readChunk)
        /// Line of each record start of `path`, read record by record.
        func recordLines(_ path: String) throws -> [Int: Int] {
            let r = try CSVReader(path: path)
            _ = r.next()
            var lines: [Int: Int] = [:]
            while true {
                let offset = r.nextRecordFileOffset, line = r.line
                guard r.next() else { break }
                lines[offset] = line
            }
            return lines
        }
        let hLines = try recordLines(dir + "/households.csv"), mLines = try recordLines(dir + "/members.csv")
        let (q, p) = try Self.layouts(dir, hCol: 0, mCol: 0, partSize: 7)
        #expect(q.inOrder && q.parts.count > 500)
        for part in q.parts {
            #expect(hLines[part.householdsStart] == part.householdsLine)
            #expect(mLines[part.membersStart] == part.membersLine, "\(part)")
        }
        #expect(q.parts == p.parts)
    }

    /// The ascending shortcut alone: ids that ascend but repeat in NFC (an NFD spelling after its
    /// NFC one), or stop ascending at once, give the duplicates of the plain check, whether the
    /// fingerprints are in one range, many, or temporary files.
    @Test func ascendingShortcutFindsTheSameDuplicates() {
        let cases: [[String]] = [
            ["A1", "A2", "A3", "A2", "A4", "A1"],
            ["Hà", "Ha\u{0300}", "Hb"],
            ["Ha\u{0300}", "Hà"],
            ["B", "A", "B", "A"],
            ["x", "xy", "xyz", "xy", "x"],
            (0..<3000).map { "H\($0)" } + ["H7", "H2999"],
            (0..<3000).map { "ID" + padded($0, 6) } + ["ID000007"],
        ]
        for ids in cases {
            func run(_ finder: DuplicateFinder, replays: inout Int) -> [Int32: Int32] {
                for (i, id) in ids.enumerated() {
                    var s = id
                    let added = s.withUTF8 { finder.add($0.baseAddress!, $0.count, line: i + 2) }
                    if !added {
                        replays += 1
                        for (j, earlier) in ids[..<i].enumerated() {
                            var e = earlier
                            _ = e.withUTF8 { finder.add($0.baseAddress!, $0.count, line: j + 2) }
                        }
                        _ = s.withUTF8 { finder.add($0.baseAddress!, $0.count, line: i + 2) }
                    }
                }
                return finder.duplicates()
            }
            var none = 0, replays = 0, spilledReplays = 0, rangedReplays = 0
            let plain = run(DuplicateFinder(expected: ids.count), replays: &none)
            let quick = run(DuplicateFinder(expected: ids.count, ascendingShortcut: true), replays: &replays)
            let spilled = run(DuplicateFinder(expected: ids.count, inMemoryLimit: 256, ascendingShortcut: true), replays: &spilledReplays)
            // Sized for many households: the ids spread over many ranges in memory.
            let ranged = run(DuplicateFinder(expected: 200_000, ascendingShortcut: true), replays: &rangedReplays)
            #expect(none == 0)
            #expect(replays == 1 && spilledReplays == 1 && rangedReplays == 1, "\(ids.prefix(6))")
            #expect(!plain.isEmpty)
            #expect(quick == plain, "\(ids.prefix(6))")
            #expect(spilled == plain, "\(ids.prefix(6))")
            #expect(ranged == plain, "\(ids.prefix(6))")
        }
    }

    /// The inlined comparisons and copies agree with `memcmp` and `memcpy` whatever the lengths.
    @Test func searchesAgreeWithTheLibrary() {
        var rng = SplitMix(seed: 42)
        let b = UnsafeMutablePointer<UInt8>.allocate(capacity: 400 + 64)
        defer { b.deallocate() }
        for _ in 0..<3000 {
            for i in 0..<(400 + 64) { b[i] = [0x41, 0x42, 0x0A, 0x2C][Int(rng.next() % 4)] | (rng.next() % 5 == 0 ? 0 : 0x40) }
            let from = Int(rng.next() % 200), end = from + Int(rng.next() % 200)
            let na = Int(rng.next() % 20), nb = Int(rng.next() % 20)
            let a = b + from, c = rng.next() % 2 == 0 ? b + from + 1 + Int(rng.next() % 3) : b + end
            let expected = memcmp(a, c, min(na, nb)).signum()
            let order = KeyScan.order(a, na, c, nb).signum()
            #expect(order == (expected != 0 ? Int(expected) : na < nb ? -1 : na == nb ? 0 : 1))
            #expect(KeyScan.equal(a, c, na) == (memcmp(a, c, na) == 0))
            #expect(KeyScan.equal(a, a, na))
            // A copy holds the same bytes and leaves the bytes after them alone.
            let copy = UnsafeMutablePointer<UInt8>.allocate(capacity: 24)
            copy.initialize(repeating: 0xEE, count: 24)
            KeyScan.copy(a, na, to: copy)
            #expect(memcmp(copy, a, na) == 0)
            #expect((na..<24).allSatisfy { copy[$0] == 0xEE })
            copy.deallocate()
        }
    }

    /// Random small surveys built from awkward pieces — quoted ids (with commas, quotes, line
    /// breaks), blanks around ids, CRLF, lone CR, blank lines, short rows, a byte-order mark,
    /// NFD spellings, ids that are prefixes of others, repeats, members out of order, an
    /// unterminated quote, no final line break — give the same layout both ways.
    @Test func randomAwkwardSurveysGiveTheSameLayout() throws {
        var rng = SplitMix(seed: 0x5EED_1A70)
        let ids = ["H1", "H2", "H10", "H11", "H100", "HOUSEHOLD-0000000000012", "Hà", "Ha\u{0300}", "Z9",
                   "\"H2\"", "\" H3\"", "\"H,4\"", "\"H\"\"5\"", "\"H\n6\"", "\"H\r\n7\"", " H8 ", "\tH9", "", "\"\"", "H\"12"]
        let tails = ["", ",a", ",a,b", ",\"q,r\"", ",\"line\nbreak\"", ",x\"y", ",,", ",\"unterminated"]
        let ends = ["\n", "\n", "\n", "\r\n", "\r", "\n\n", "\r\n\r\n"]
        func pick<T>(_ a: [T]) -> T { a[Int(rng.next() % UInt64(a.count))] }
        let dir = tempDir("layout-random")
        for round in 0..<400 {
            let n = 1 + Int(rng.next() % 12)
            // Mostly ascending ids (the shortcut's case), sometimes any.
            var hIDs: [String] = []
            if rng.next() % 2 == 0 {
                let base = Int(rng.next() % 50)
                hIDs = (0..<n).map { "A" + padded(base + $0 * (1 + Int(rng.next() % 3)), 3) }
                if rng.next() % 3 == 0 { hIDs[Int(rng.next() % UInt64(n))] = pick(ids) }
            } else {
                hIDs = (0..<n).map { _ in pick(ids) }
            }
            var hText = rng.next() % 5 == 0 ? "\u{FEFF}" : ""
            hText += "household_id,province,district,commune" + pick(ends)
            for id in hIDs { hText += id + (rng.next() % 6 == 0 ? pick(tails) : ",p,d,c") + pick(ends) }
            var mText = "household_id,member_id,full_name" + pick(ends)
            var mIDs = hIDs
            if rng.next() % 4 == 0, mIDs.count > 1 { mIDs.swapAt(0, mIDs.count - 1) }
            for id in mIDs {
                for k in 0..<Int(rng.next() % 4) {
                    let cell = rng.next() % 10 == 0 ? pick(ids) : id
                    mText += cell + (rng.next() % 6 == 0 ? pick(tails) : ",\(k + 1),name") + pick(ends)
                }
            }
            if rng.next() % 4 == 0 { hText.removeLast() }
            if rng.next() % 4 == 0 { mText.removeLast() }
            write(dir + "/households.csv", hText)
            write(dir + "/members.csv", mText)
            for (hCol, mCol) in [(0, 0), (1, 1)] {
                try Self.expectSame(dir, "round \(round): \(hText.debugDescription) / \(mText.debugDescription)",
                                    hCol: hCol, mCol: mCol, partSizes: [1, 3], bufferSize: [4 << 20, 16, 37][round % 3])
            }
        }
    }
}

extension LayoutScanTests {
    /// The quick members scan, which walks the rows with the layout kernel
    /// (`clayout_member_runs`: line feeds and quotes from one mask per 64-byte block, a run's
    /// rows compared with its prefix), finds the runs — ids, offsets, lines — of the plain scan:
    /// random member files of awkward rows (quoted ids and cells with line breaks, blanks around
    /// ids, empty ids, CRLF, lone CR, blank lines, rows of one cell, rows longer than a block,
    /// unquoted rows that spell a quoted id with a line break across lines), with buffers from
    /// 16 bytes on, by one scanner and by two.
    @Test func runsFromLineFeedMasksAreThoseOfThePlainScan() throws {
        var rng = SplitMix(seed: 0xF00D_5CA9)
        let ids = ["H1", "H2", "H10", "H11", "HOUSEHOLD-0000000000012", "Hà", "\"H2\"", "\" H3\"", "\"H,4\"", "\"H\n6\"",
                   " H8 ", "\tH9", "", "H\"12", "H1\r", "H", "1"]
        let tails = ["", ",1", ",1,name", ",\"q,r\"", ",\"line\nbreak\"", ",x\"y", ",,", "," + String(repeating: "long ", count: 30),
                     ",2,\r", ",3,name\r"]
        let ends = ["\n", "\n", "\n", "\r\n", "\r", "\n\n"]
        func pick<T>(_ a: [T]) -> T { a[Int(rng.next() % UInt64(a.count))] }
        let path = tempDir("layout-runs-masks") + "/members.csv"
        for round in 0..<300 {
            var text = "household_id,member_id,full_name" + pick(ends)
            // Rows that start with the id of a quoted run that has a line break, and its comma.
            if round % 10 == 0 { text += "\"H\n1\",a\nH\n1,b\nH\n1,c\r\nH\n1\n" }
            for _ in 0..<(1 + Int(rng.next() % 14)) {
                let id = rng.next() % 3 == 0 ? pick(ids) : "A" + padded(Int(rng.next() % 40), 1 + Int(rng.next() % 12))
                for _ in 0..<(1 + Int(rng.next() % 4)) {
                    text += (rng.next() % 12 == 0 ? pick(ids) : id) + pick(tails) + pick(ends)
                }
            }
            if rng.next() % 4 == 0 { text.removeLast() }
            write(path, text)
            let bufferSize = [16, 37, 173, 4 << 20][round % 4]
            let plain = try Self.runs(path, column: 0, splitFrom: Int.max, bufferSize: bufferSize, quick: false)
            for splitFrom in [Int.max, 0] {
                let quick = try Self.runs(path, column: 0, splitFrom: splitFrom, bufferSize: bufferSize)
                #expect(quick.runs == plain.runs, "round \(round), buffer \(bufferSize), split from \(splitFrom): \(text.debugDescription)")
            }
        }
    }
}

extension LayoutScanTests {
    /// Unquoted rows that spell a quoted id with a line break across lines (`H` LF `1,b` after
    /// `"H` LF `1",a`) are rows of their own ids, as the reader reads them, not rows of that
    /// id's run: both scans find the runs `H\n1`, `H`, `1`, by one scanner and by two.
    @Test func rowsSpellingAQuotedIdAcrossLinesAreNotItsRun() throws {
        let path = tempDir("layout-spelled-id") + "/members.csv"
        write(path, "household_id,x\n\"H\n1\",a\nH\n1,b\nH\n1,c\n")
        let ids = ["H\n1@15:2", "H@23:4", "1@25:5", "H@29:6", "1@31:7"]
        for bufferSize in [16, 4 << 20] {
            #expect(try Self.runs(path, column: 0, splitFrom: Int.max, bufferSize: bufferSize, quick: false).runs == ids)
            for splitFrom in [Int.max, 0] {
                #expect(try Self.runs(path, column: 0, splitFrom: splitFrom, bufferSize: bufferSize).runs == ids)
            }
        }
    }

    /// Every layout kernel this CPU runs walks alike (the best one is checked against the plain
    /// scan by the tests above): random buffers of awkward rows (quotes, line breaks in quotes,
    /// CRLF, lone CR, blanks around ids, empty ids, rows longer than a block) ending anywhere,
    /// with line feeds and quotes past their end, from any place, with any prefix, limit and
    /// room for runs; and the key cells of rows read ahead, of any column.
    @Test func layoutKernelsWalkAlike() {
        var rng = SplitMix(seed: 0xC0FF_EE42)
        func pick<T>(_ a: [T]) -> T { a[Int(rng.next() % UInt64(a.count))] }
        let ids = ["H1", "H2", "H10", "HOUSEHOLD-0000000000012", " H3", "H4 ", "", "\"H5\"", "H\"6", "Hà", "A", "H1\r"]
        let tails = ["", ",1,name", ",x", ",\"q\nr\"", "," + String(repeating: "long ", count: 20), ",2\r", ",,"]
        let ends = ["\n", "\n", "\r\n", "\r", "\n\n"]
        let kernels = CSVReaderTests.splitKernels
        for _ in 0..<3000 {
            var text: [UInt8] = []
            var rowIDs: [String] = []
            for _ in 0..<(1 + Int(rng.next() % 30)) {
                let id = rng.next() % 3 == 0 ? pick(ids) : "A" + String(rng.next() % 4)
                rowIDs.append(id)
                for _ in 0..<(1 + Int(rng.next() % 3)) { text += Array((id + pick(tails) + pick(ends)).utf8) }
            }
            // Past the data: line feeds, quotes and commas that are not in it.
            let bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: text.count + 64)
            defer { bytes.deallocate() }
            bytes.update(from: text, count: text.count)
            for i in 0..<64 { bytes[text.count + i] = pick([0x0A, 0x22, 0x2C, 0x41]) }
            let end = Int(rng.next() % UInt64(text.count + 1))
            let at = rng.next() % 2 == 0 ? 0 : Int(rng.next() % UInt64(end + 1))
            let stop = rng.next() % 2 == 0 ? Int.max : Int(rng.next() % UInt64(end + 1))
            let prefix = rng.next() % 4 == 0 ? [] : Array((pick(rowIDs) + ",").utf8)
            let prefixCapacity = max(prefix.count, pick([1, 4, 256]))
            let idsCapacity = pick([0, 8, 1024]), runLimit = pick([0, 1, 3, 100])
            let column = Int(rng.next() % 4), rowLimit = pick([1, 2, 64])
            var walks: [[Int]] = [], rows: [[Int]] = []
            for kernel in kernels {
                let p = UnsafeMutablePointer<UInt8>.allocate(capacity: prefixCapacity)
                let runIDs = UnsafeMutablePointer<UInt8>.allocate(capacity: idsCapacity)
                let idEnds = UnsafeMutablePointer<Int>.allocate(capacity: runLimit + 1), offsets = UnsafeMutablePointer<Int>.allocate(capacity: runLimit + 1)
                let lines = UnsafeMutablePointer<Int>.allocate(capacity: runLimit + 1)
                defer { p.deallocate(); runIDs.deallocate(); idEnds.deallocate(); offsets.deallocate(); lines.deallocate() }
                p.update(from: prefix, count: prefix.count)
                var walk = CLayoutRuns()
                walk.bytes = UnsafePointer(bytes)
                walk.at = at
                walk.end = end
                walk.stop = stop
                walk.line = 7
                walk.fileOffset = 1000
                walk.prefix = p
                walk.prefixLength = prefix.count
                walk.prefixCapacity = prefixCapacity
                walk.ids = runIDs
                walk.idsCapacity = idsCapacity
                walk.idEnds = idEnds
                walk.offsets = offsets
                walk.lines = lines
                walk.runLimit = runLimit
                let why = clayout_member_runs(&walk, kernel)
                var found = [Int(why.rawValue), walk.at, walk.line, walk.prefixLength, walk.runs, walk.idsUsed]
                found += (0..<walk.prefixLength).map { Int(p[$0]) } + (0..<walk.idsUsed).map { Int(runIDs[$0]) }
                found += (0..<walk.runs).flatMap { [idEnds[$0], offsets[$0], lines[$0]] }
                walks.append(found)
                let ahead = UnsafeMutablePointer<Int>.allocate(capacity: 4 * rowLimit)
                defer { ahead.deallocate() }
                var keyRows = CLayoutRows()
                keyRows.bytes = UnsafePointer(bytes)
                keyRows.at = at
                keyRows.end = end
                keyRows.column = column
                keyRows.rows = ahead
                keyRows.rowLimit = rowLimit
                let stopped = clayout_key_rows(&keyRows, kernel)
                rows.append([Int(stopped.rawValue), keyRows.at, keyRows.rowsTaken] + (0..<(4 * keyRows.rowsTaken)).map { ahead[$0] })
            }
            #expect(walks.allSatisfy { $0 == walks[0] }, "\(String(decoding: text, as: UTF8.self).debugDescription) \(at) \(end) \(stop)")
            #expect(rows.allSatisfy { $0 == rows[0] }, "\(String(decoding: text, as: UTF8.self).debugDescription) \(at) \(end) \(column)")
        }
    }
}

private func padded(_ v: Int, _ width: Int) -> String {
    let digits = String(v)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}

/// A small seeded generator, so a failing round can be run again.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476C_1CE5_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
