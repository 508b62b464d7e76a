import Diagnostics
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a survey (households.csv + members.csv) into typed batches, validating every row.
///
/// Rejected rows never appear in batches; each problem goes to `problems` with file, line, column
/// and value. A household with a rejected member is rejected whole. When both files list
/// households in the same order with contiguous members (as review exports do) the join streams
/// with memory bounded by the batch size; otherwise members.csv is indexed in memory once.
public final class SurveyReader {
    public let schema: SurveySchema
    public let householdsPath: String
    public let membersPath: String
    /// The reference date that overrides each household's review date (`--as-of`).
    public let asOf: CivilDate?
    /// Keep personal fields (full_name); off by default since rules never need them.
    public var keepPersonalData: Bool {
        get { members.keepPersonal }
        set { members.keepPersonal = newValue; households.keepPersonal = newValue }
    }

    @exclusivity(unchecked) public private(set) var problems: [DataProblem] = []
    /// Problems by kind, all counted even when details are capped.
    @exclusivity(unchecked) public private(set) var problemCounts: [String: Int] = [:]
    @exclusivity(unchecked) public var maxStoredProblems = 100_000
    @exclusivity(unchecked) public private(set) var counts = SurveyCounts()
    /// True when the members file is joined by streaming; false when it had to be indexed.
    public let streaming: Bool

    private let households: TableInput
    private let members: TableInput
    private let today: CivilDate
    @exclusivity(unchecked) private var finished = false
    @exclusivity(unchecked) private var memberPending = false
    // Any-order fallback.
    @exclusivity(unchecked) private var fbOffsets: [Int] = []
    @exclusivity(unchecked) private var fbLines: [Int32] = []
    @exclusivity(unchecked) private var fbIndex: [String: [Int32]] = [:]
    private let hReview: Int?
    private let hStore: RowStore
    private let mStore: RowStore
    @exclusivity(unchecked) private var hidBuf: [UInt8] = []
    /// Line of a repeated household row → line of its id's first row (from the layout pass).
    private let duplicateOf: [Int32: Int32]
    /// Lines of households.csv whose id comes again further down (the row kept; the later rows
    /// are rejected as duplicates). Known before any row is read.
    public var linesRepeatedLater: Set<Int32> { Set(duplicateOf.values) }
    private let memberIDField: Int
    private let birthField: Int?

    /// Opens both files and resolves their headers; header problems that make a file unusable
    /// throw the first of them (use `open` to get all).
    public convenience init(householdsPath: String, membersPath: String, schema: SurveySchema, mapping: HeaderMapping?,
                            asOf: CivilDate? = nil) throws(Diagnostic) {
        do {
            try self.init(householdsPath: householdsPath, membersPath: membersPath, schema: schema, mapping: mapping,
                          asOf: asOf, today: CivilDate.today(), layout: nil)
        } catch {
            throw error.diagnostics.first ?? Diagnostic.error(at: nil, "cannot read the survey")
        }
    }

    /// Like `init`, but reports every header problem of both files at once.
    /// `partSize` is about how many households each part of `parts` holds; by default parts are
    /// small enough that even a small survey has a few to share out.
    ///
    /// `assumeSorted`, for callers that can take back what they made of the survey, skips most
    /// of the pass over the id columns: the survey is taken to be sorted by household id, as
    /// review exports are, and the readers check as they read that it is what the pass would
    /// have found streamable (ids ascending, so none repeats; members in the same order). When
    /// it is not, `next` ends early with `sortedAssumptionFailed` set (for parts: in the part's
    /// report, which `absorb` takes), and the survey must be read again by a reader opened
    /// without it. There is no pass at all: with `inParts` the parts are cut at guessed places
    /// (`SurveyLayout.cutAssumingSorted`); without, a reader reads the survey whole with `next`
    /// (`SurveyLayout.assumingSorted`).
    public static func open(householdsPath: String, membersPath: String, schema: SurveySchema, mapping: HeaderMapping?,
                            asOf: CivilDate? = nil, partSize: Int? = nil, assumeSorted: Bool = false,
                            inParts: Bool = true) throws(DiagnosticList) -> SurveyReader {
        try SurveyReader(householdsPath: householdsPath, membersPath: membersPath, schema: schema, mapping: mapping,
                         asOf: asOf, today: CivilDate.today(), layout: nil, partSize: partSize,
                         assume: assumeSorted && householdsPath != membersPath ? (inParts ? .sortedInParts : .sortedWhole) : nil)
    }

    /// What a reader opened with `assumeSorted` takes for granted.
    private enum Assumption { case sortedWhole, sortedInParts }

    /// The most households a part holds when `partSize` is not given.
    public static let largestPart = SurveyLayout.defaultPartSize

    /// The parts the survey splits into; more than one only when the files are in the same
    /// order (`streaming`). Read them with part readers (`makePartReader()`, `read(part:)`) on
    /// as many threads as there are, and `absorb` each part's report in part order: the
    /// problems, counts and batches are then exactly those of one reader reading the whole.
    public var parts: [SurveyPart] { layout.parts }

    private let mapping: HeaderMapping?
    private let layout: SurveyLayout

    /// A reader of the same files, schema, mapping and dates, that reads the parts it is given
    /// (`read(part:)`) without the pass over the id columns, which this reader made already.
    public func makePartReader() throws(DiagnosticList) -> SurveyReader {
        let r = try SurveyReader(householdsPath: householdsPath, membersPath: membersPath, schema: schema, mapping: mapping,
                                 asOf: asOf, today: today, layout: layout)
        r.keepPersonalData = keepPersonalData
        r.maxStoredProblems = maxStoredProblems
        r.usesColumnPath = usesColumnPath
        r.splitsRuns = splitsRuns
        r.matchesRuns = matchesRuns
        r.finished = true
        return r
    }

    /// Reads on with CSV buffers of `size` bytes, for tests: small ones make records cross the
    /// end of the buffer, and the buffer refill, many times.
    func useBuffers(of size: Int) {
        households.csv.rebuffer(size: size)
        members.csv.rebuffer(size: size)
    }

    /// Positions a part reader at the start of `part`; `next` then reads its households only.
    public func read(part: SurveyPart) {
        precondition(streaming, "parts are read on their own only when the files are in the same order")
        households.csv.restrict(from: part.householdsStart, line: part.householdsLine, to: part.householdsEnd)
        members.csv.restrict(from: part.membersStart, line: part.membersLine, to: part.membersEnd)
        finished = false
        memberPending = false
        partOfUnplacedLines = layout.partLines == nil ? nil : layout.parts.firstIndex(of: part)
        problemsPlaced = 0
        lastCheckedLine = -1
        if let k = partOfUnplacedLines {
            ascendingIDs?.restart(first: k > 0 ? layout.partFirstIDs[k] : nil)
            if k > 0 && !startsOnAMemberWithAnID() {
                sortedAssumptionFailed = true
                layout.partLines?.giveUp()
                finished = true
            }
        }
    }

    /// True when the first row of the part's member rows that is not blank has a household id
    /// (or there is none), for a part cut at a guessed record start: the rows without one
    /// before the first with one belong to the part before, whose last household's rows they
    /// follow.
    private func startsOnAMemberWithAnID() -> Bool {
        let csv = members.csv, start = csv.nextRecordFileOffset, line = csv.line
        csv.keepFrom = start
        defer {
            csv.seek(fileOffset: start, line: line)
            csv.keepFrom = nil
        }
        var blank = 0
        guard members.nextRecord(blankRows: &blank) else { return true }
        return members.rawHouseholdID() != nil
    }

    /// What a part reader found since the last call (problems and counts), leaving it empty for
    /// the next part.
    public func takeReport() -> SurveyPartReport {
        defer {
            problems = []
            problemCounts = [:]
            counts = SurveyCounts()
            problemsPlaced = 0
        }
        return SurveyPartReport(problems: problems, problemCounts: problemCounts, counts: counts,
                                sortedAssumptionFailed: sortedAssumptionFailed)
    }

    /// Adds a part's report, as if this reader had read the part itself.
    public func absorb(_ report: SurveyPartReport) {
        if report.sortedAssumptionFailed { sortedAssumptionFailed = true }
        counts.add(report.counts)
        for (k, n) in report.problemCounts { problemCounts[k, default: 0] += n }
        for p in report.problems where problems.count < maxStoredProblems { problems.append(p) }
    }

    private init(householdsPath: String, membersPath: String, schema: SurveySchema, mapping: HeaderMapping?,
                 asOf: CivilDate?, today: CivilDate, layout: SurveyLayout?,
                 partSize: Int? = nil, assume: Assumption? = nil) throws(DiagnosticList) {
        self.schema = schema
        self.householdsPath = householdsPath
        self.membersPath = membersPath
        self.asOf = asOf
        self.mapping = mapping
        self.today = today
        var mappings: [HeaderMapping] = []
        var diags: [Diagnostic] = []
        if let mapping {
            mappings.append(mapping)
            diags += mapping.check(against: schema)
        }
        if let path = schema.defaultMappingPath, path != mapping?.path, let loaded = schema.defaultMapping {
            do { mappings.append(try loaded.get()) } catch { diags += error.diagnostics }
        }
        var hProblems: [Diagnostic] = [], mProblems: [Diagnostic] = []
        var h: TableInput?, m: TableInput?
        do { h = try TableInput(path: householdsPath, table: "households", specs: schema.households, schema: schema,
                                mappings: mappings, problems: &hProblems) } catch { diags.append(error) }
        do { m = try TableInput(path: membersPath, table: "members", specs: schema.members, schema: schema,
                                mappings: mappings, problems: &mProblems) } catch { diags.append(error) }
        diags += hProblems + mProblems
        guard diags.isEmpty, let h, let m else { throw DiagnosticList(diags) }
        households = h
        members = m
        hStore = RowStore(fieldCount: schema.households.count)
        mStore = RowStore(fieldCount: schema.members.count, capacity: 4096)
        hReview = schema.households.firstIndex { $0.name == "review_date" }
        memberIDField = schema.members.firstIndex { $0.name == "member_id" } ?? -1
        birthField = schema.members.firstIndex { $0.type == .birthDate }
        m.skipField = m.hidField
        chunk = ColumnChunk(householdFields: schema.households.count, householdColumns: h.headers.count,
                            memberFields: schema.members.count, memberColumns: m.headers.count)
        if let layout {
            self.layout = layout
        } else if assume == .sortedWhole {
            self.layout = SurveyLayout.assumingSorted(households: (h.csv.nextRecordFileOffset, h.csv.line),
                                                      members: (m.csv.nextRecordFileOffset, m.csv.line))
        } else {
            do {
                let expected = SurveyReader.estimatedRows(householdsPath)
                let size = max(1, partSize ?? min(SurveyLayout.defaultPartSize, max(256, expected / 16)))
                if assume == .sortedInParts,
                   let sorted = try SurveyLayout.cutAssumingSorted(householdsPath, h.hidCol, membersPath, m.hidCol,
                                                                   households: (h.csv.nextRecordFileOffset, h.csv.line),
                                                                   members: (m.csv.nextRecordFileOffset, m.csv.line), partSize: size) {
                    self.layout = sorted
                } else {
                    self.layout = try SurveyLayout.scan(householdsPath, h.hidCol, membersPath, m.hidCol,
                                                        expectedHouseholds: expected, partSize: size)
                }
            } catch { throw DiagnosticList([error]) }
        }
        streaming = self.layout.inOrder
        duplicateOf = self.layout.duplicateOf
        ascendingIDs = self.layout.assumed ? AscendingIDs() : nil
        if !columnPathFits { usesColumnPath = false }
        if !streaming { buildIndex() }
    }

    /// About how many rows `path` holds, from its size and the length of its first rows.
    static func estimatedRows(_ path: String) -> Int {
        guard let f = fopen(path, "rb") else { return 0 }
        defer { fclose(f) }
        var sample = [UInt8](repeating: 0, count: 1 << 16)
        let n = fread(&sample, 1, sample.count, f)
        guard n > 0, fseek(f, 0, SEEK_END) == 0 else { return 0 }
        let size = ftell(f)
        var lines = 0
        for i in 0..<n where sample[i] == 10 { lines += 1 }
        guard lines > 0, size > 0 else { return 0 }
        return min(Int(Double(size) * Double(lines) / Double(n) * 1.05) + 16, 200_000_000)
    }

    // MARK: fallback index

    private func buildIndex() {
        members.csv.loadAll()
        var blank = 0
        while members.nextRecord(blankRows: &blank) {
            guard let b = members.householdIDBytes() else {
                // No household to join: reject it now.
                counts.membersRead += 1
                counts.membersRejected += 1
                var issues: [RowIssue] = []
                members.structuralIssues(&issues)
                if !members.rowMisaligned { _ = members.decode(reference: nil, issues: &issues) }
                record(issues, householdID: nil, consequence: "member rejected")
                continue
            }
            let key = SurveyText.nfc(String(decoding: b, as: UTF8.self))
            fbIndex[key, default: []].append(Int32(fbOffsets.count))
            fbOffsets.append(members.csv.recordStart)
            fbLines.append(Int32(members.csv.recordLine))
        }
        counts.blankRows += blank
    }

    // MARK: problems

    private func record(_ issues: [RowIssue], householdID: String?, consequence: String) {
        for i in issues {
            problemCounts[i.kind, default: 0] += 1
            if problems.count < maxStoredProblems {
                problems.append(DataProblem(kind: i.kind, diagnostic: .error(at: i.location, i.message + "; " + consequence, hint: i.hint),
                                            householdID: householdID))
            }
        }
    }

    private func quoted(_ id: String?) -> String { id.map { "'\($0)'" } ?? "" }

    // MARK: batches

    /// The next batch of up to `maxHouseholds` accepted households with their members; nil at the
    /// end. Rejected rows go to `problems`.
    public func next(maxHouseholds: Int = 4096) throws(Diagnostic) -> SurveyBatch? {
        if finished { return nil }
        var batch = SurveyBatch(households: RecordTable(fields: schema.households, file: householdsPath,
                                                        columns: households.fieldCol.map { $0 + 1 }),
                                members: RecordTable(fields: schema.members, file: membersPath,
                                                     columns: members.fieldCol.map { $0 + 1 }),
                                memberRanges: [], referenceDates: [], ageMonths: [])
        batch.households.reserve(maxHouseholds, textFields: households.textFields)
        batch.members.reserve(maxHouseholds * 4, textFields: members.textFields)
        batch.memberRanges.reserveCapacity(maxHouseholds)
        batch.referenceDates.reserveCapacity(maxHouseholds)
        batch.ageMonths.reserveCapacity(maxHouseholds * 4)
        hStore.count = 0
        mStore.count = 0
        var blank = 0
        if streaming && usesColumnPath {
            // Chunks of at most the households the batch still takes: a batch ends where the
            // row path would end it.
            while batch.households.count < maxHouseholds {
                let more = readChunk(upTo: min(SurveyReader.chunkHouseholds, maxHouseholds - batch.households.count), blankRows: &blank)
                if sortedAssumptionFailed { break }
                takeChunk(&batch)
                if !more {
                    households.csv.keepFrom = nil
                    members.csv.keepFrom = nil
                    finishMembers()
                    finished = true
                    break
                }
            }
        } else {
            while batch.households.count < maxHouseholds {
                guard households.nextRecord(blankRows: &blank) else {
                    finishMembers()
                    finished = true
                    break
                }
                processHousehold(&batch)
                if sortedAssumptionFailed { break }
            }
        }
        if let k = partOfUnplacedLines, !sortedAssumptionFailed, !placeLines(&batch, part: k) { sortedAssumptionFailed = true }
        if sortedAssumptionFailed {
            // What was read goes: the survey is read again without the assumption.
            layout.partLines?.giveUp()
            finished = true
            return nil
        }
        counts.blankRows += blank
        if batch.households.count == 0 && finished { return nil }
        batch.households.endValues(hStore)
        batch.members.endValues(mStore)
        return batch
    }

    /// Reads the current household row and its members: the next member rows when streaming,
    /// else the indexed ones; or, when `recorded` is given, the member rows the column path met
    /// for it (orphans among them, in file order).
    private func processHousehold(_ batch: inout SurveyBatch, recorded: [ColumnChunk.MemberRecord]? = nil) {
        counts.householdsRead += 1
        let line = households.csv.recordLine
        var issues: [RowIssue] = []
        households.structuralIssues(&issues)
        let haveHid = households.householdIDBytes(into: &hidBuf)
        let misaligned = households.rowMisaligned
        if !misaligned { _ = households.decode(reference: nil, issues: &issues) } else { households.clearRow() }
        var hid: String?
        if haveHid {
            // A plain record's id cell is these bytes, and `decode` made its String already
            // (ASCII as is, else NFC: the same value).
            if !misaligned && households.csv.recordIsPlain, let t = households.rowTexts[households.hidField] {
                hid = t
            } else {
                hid = hidBuf.withUnsafeBufferPointer { b in
                    SurveyText.isASCII(b.baseAddress!, b.count) ? String(decoding: b, as: UTF8.self)
                        : SurveyText.nfc(String(decoding: b, as: UTF8.self))
                }
            }
        }
        if haveHid && recorded == nil { hidBuf.withUnsafeBufferPointer { checkIDAscends($0, line: line) } }
        if let hs = hid, !duplicateOf.isEmpty, let prior = duplicateOf[Int32(truncatingIfNeeded: line)] {
            do {
                issues.append(RowIssue(kind: "duplicate_household", location: households.csv.location(ofField: households.hidCol),
                                       message: "household id '\(hs)' appears again; it was first given on line \(prior)",
                                       hint: "each household has one row in households.csv with its own id"))
            }
        }
        // The reference date of this household.
        var ref = asOf
        if ref == nil, let r = hReview, households.rowVals[r] != RecordTable.absent {
            ref = CivilDate(dayNumber: Int32(truncatingIfNeeded: households.rowVals[r]))
        }
        let reference = ref ?? today
        let ages = AgeReference(reference)

        // Its members.
        let memberStart = batch.members.count
        let memberStoreStart = mStore.count
        var memberCount = 0
        var memberRejected = false
        @inline(__always) func takeMember() {
            memberCount += 1
            if self.takeMember(&batch, hid: hid, reference: ages, rejected: memberRejected) { memberRejected = true }
        }
        seenMemberIDs.removeAll()
        if let recorded {
            for record in recorded {
                members.csv.seek(fileOffset: record.offset, line: Int(record.line))
                _ = members.csv.next()
                if record.orphan { orphanMember() } else { takeMember() }
            }
        } else if haveHid {
            let hidBytes = hidBuf
            if streaming {
                while true {
                    if !memberPending {
                        var blank = 0
                        guard members.nextRecord(blankRows: &blank) else { counts.blankRows += blank; break }
                        counts.blankRows += blank
                        memberPending = true
                    }
                    guard let match = hidBytes.withUnsafeBufferPointer({ memberMatches($0) }) else {
                        orphanMember()
                        continue
                    }
                    if !match { break }
                    memberPending = false
                    takeMember()
                }
            } else if let list = fbIndex.removeValue(forKey: hid!) {
                for r in list {
                    members.csv.seek(offset: fbOffsets[Int(r)], line: Int(fbLines[Int(r)]))
                    _ = members.csv.next()
                    takeMember()
                }
            }
        }
        if memberCount == 0 && issues.isEmpty {
            issues.append(RowIssue(kind: "no_members", location: SourceLocation(file: householdsPath, line: line, column: 1),
                                   message: "household \(quoted(hid)) has no members in members.csv",
                                   hint: "a household is classified from its members; list them in members.csv with this household_id"))
        }
        counts.membersRead += memberCount
        if issues.isEmpty && !memberRejected {
            hStore.append(households.rowVals)
            households.appendRow(to: &batch.households, line: line)
            batch.memberRanges.append(memberStart..<batch.members.count)
            batch.referenceDates.append(reference)
            counts.householdsAccepted += 1
            counts.membersAccepted += memberCount
        } else {
            batch.members.truncateRows(to: memberStart, textFields: members.textFields)
            batch.ageMonths.removeLast(batch.ageMonths.count - memberStart)
            mStore.count = memberStoreStart
            counts.householdsRejected += 1
            counts.membersRejected += memberCount
            let membersNote = memberCount > 0 && !issues.isEmpty ? " with its \(memberCount) member\(memberCount == 1 ? "" : "s")" : ""
            var why = (hid.map { "household '\($0)' rejected" } ?? "household row rejected") + membersNote
            if issues.contains(where: { $0.kind == "duplicate_household" }) { why = "this row is rejected" + membersNote + ", the first is kept" }
            record(issues, householdID: hid, consequence: why)
        }
    }

    @exclusivity(unchecked) private var seenMemberIDs = MemberIDSet()

    /// Reads the current member row of household `hid`; true when the row is rejected.
    private func takeMember(_ batch: inout SurveyBatch, hid: String?, reference ages: AgeReference, rejected: Bool) -> Bool {
        let reference = ages.date
        var mIssues: [RowIssue] = []
        members.structuralIssues(&mIssues)
        var ok = false
        if !members.rowMisaligned { ok = members.decode(reference: reference, issues: &mIssues) } else { members.clearRow() }
        if memberIDRepeats() {
            let mid = memberIDOfRow() ?? ""
            mIssues.append(RowIssue(kind: "duplicate_member", location: members.csv.location(ofField: members.fieldCol[memberIDField]),
                                    message: "member id '\(mid)' appears twice in household '\(hid ?? "")'",
                                    hint: "each member of a household has their own member_id"))
        }
        if !ok || !mIssues.isEmpty {
            let consequence = hid.map { "household '\($0)' is rejected with all its members" } ?? "member rejected"
            record(mIssues, householdID: hid, consequence: consequence)
            return true
        }
        if !rejected {
            members.rowTexts[members.hidField] = hid
            mStore.append(members.rowVals)
            members.appendRow(to: &batch.members, line: members.csv.recordLine)
            batch.ageMonths.append(ageMonthsOfRow(ages))
        }
        return false
    }

    /// Completed months of age of the current (accepted) member row on the household's reference
    /// date, -1 without a birth date. The date is read again from its cell's digits, which
    /// `decode` checked: cheaper than taking its day number apart.
    @inline(__always) private func ageMonthsOfRow(_ ages: AgeReference) -> Int32 {
        guard let bf = birthField, case let v = members.rowVals[bf], v != RecordTable.absent else { return -1 }
        let day = Int32(truncatingIfNeeded: v)
        let c = members.fieldCol[bf]
        if c >= 0, c < members.csv.fieldCount {
            let (p, n) = members.csv.trimmedField(c)
            @inline(__always) func d(_ i: Int) -> Int { Int(p[i]) &- 48 }
            if n == 10 {
                return Int32(ages.completedMonths(year: d(0) * 1000 + d(1) * 100 + d(2) * 10 + d(3), month: d(5) * 10 + d(6),
                                                  day: d(8) * 10 + d(9), dayNumber: day))
            }
            if n == 4 {
                return Int32(ages.completedMonths(year: d(0) * 1000 + d(1) * 100 + d(2) * 10 + d(3), month: 7, day: 1, dayNumber: day))
            }
        }
        // A default birth date (no cell): from its day number.
        return Int32(ages.completedMonths(dayNumber: day))
    }

    /// Adds the current row's member id (`memberIDOfRow`) to the household's ids; true when the
    /// household had it already. The id is read from the cell's bytes when they are ASCII: the
    /// String is made only for the message, or for non-ASCII ids, which are compared as NFC.
    private func memberIDRepeats() -> Bool {
        let f = memberIDField
        guard f >= 0 else { return false }
        let c = members.fieldCol[f]
        // A non-empty cell is the id (`memberIDOfRow` reads it as the decoded text or, for an
        // undecoded row, from the cell: NFC of the same trimmed bytes either way).
        if c >= 0, c < members.csv.fieldCount {
            let (p, n) = members.csv.trimmedField(c)
            if n > 0 {
                if SurveyText.isASCII(p, n) { return seenMemberIDs.insert(UnsafeBufferPointer(start: p, count: n)) }
                return seenMemberIDs.insert(nfc: SurveyText.nfc(String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)))
            }
        }
        guard let mid = memberIDOfRow() else { return false }
        return seenMemberIDs.insert(nfc: mid)
    }

    private func memberIDOfRow() -> String? {
        let f = memberIDField
        guard f >= 0 else { return nil }
        if let t = members.rowTexts[f] { return t }
        let c = members.fieldCol[f]
        guard c >= 0, c < members.csv.fieldCount else { return nil }
        let (p, n) = members.csv.trimmedField(c)
        guard n > 0 else { return nil }
        return SurveyText.nfc(String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self))
    }

    /// A member row whose household id cannot be read, or whose household is not in the file.
    private func orphanMember() {
        memberPending = false
        counts.membersRead += 1
        counts.membersRejected += 1
        var issues: [RowIssue] = []
        members.structuralIssues(&issues)
        if !members.rowMisaligned { _ = members.decode(reference: asOf, issues: &issues) }
        if let b = members.householdIDBytes() {
            let hid = SurveyText.nfc(String(decoding: b, as: UTF8.self))
            issues.insert(RowIssue(kind: "unknown_household", location: members.csv.location(ofField: members.hidCol),
                                   message: "household '\(hid)' of this member is not in households.csv",
                                   hint: "check the household_id, or add the household to households.csv"), at: 0)
        }
        record(issues, householdID: nil, consequence: "member rejected")
    }

    /// After the last household: every member row left over has no household.
    private func finishMembers() {
        if streaming {
            var blank = 0
            while memberPending || members.nextRecord(blankRows: &blank) {
                // A member with an id matched no household: the pass would have found the
                // files not in the same order.
                if ascendingIDs != nil && members.rawHouseholdID() != nil {
                    sortedAssumptionFailed = true
                    return
                }
                orphanMember()
            }
            counts.blankRows += blank
        } else {
            var rows: [Int32] = []
            for (_, list) in fbIndex { rows += list }
            rows.sort()
            fbIndex.removeAll()
            for r in rows {
                members.csv.seek(offset: fbOffsets[Int(r)], line: Int(fbLines[Int(r)]))
                _ = members.csv.next()
                orphanMember()
            }
        }
    }

    // MARK: a survey assumed sorted

    /// For a survey opened with `assumeSorted`: the household ids met so far, which must
    /// ascend. Nil when the layout pass was made.
    private let ascendingIDs: AscendingIDs?
    /// The line of the last household whose id was checked: a household read again (by a
    /// chunk's row-by-row steps after the bulk loop stopped at it) is not checked twice. -1
    /// before the first (a part's lines are counted from 0).
    @exclusivity(unchecked) private var lastCheckedLine = -1
    /// True once a survey opened with `assumeSorted` turned out not to be one the layout pass
    /// finds in order with no repeated id: a household id not after the one before, or one
    /// the pass might read otherwise (a quote, a blank or a control byte in it); a member row
    /// with an id that matched no household; ids matched as NFC text, not as bytes. `next` then
    /// returns nil, and the survey must be read again without the assumption.
    public private(set) var sortedAssumptionFailed = false

    /// Checks, for a survey assumed sorted, the id of the household on `line` before its
    /// members are matched to it.
    @inline(__always) private func checkIDAscends(_ hid: UnsafeBufferPointer<UInt8>, line: Int) {
        guard let ids = ascendingIDs, line != lastCheckedLine else { return }
        lastCheckedLine = line
        if !(SurveyReader.isVisibleASCII(hid) && ids.take(hid.baseAddress!, hid.count)) { sortedAssumptionFailed = true }
    }

    /// True when every byte of `id` is visible ASCII other than a quote: the id is then its
    /// cell's bytes however the cell is read (no escape, no line break to normalise, no blank
    /// to trim), as the layout pass reads it.
    private static func isVisibleASCII(_ id: UnsafeBufferPointer<UInt8>) -> Bool {
        var ok = true
        for b in id { ok = ok && b > 0x20 && b < 0x7F && b != 0x22 }
        return ok
    }

    /// For a part reader of parts cut at guessed places: the part being read, whose lines are
    /// counted from its start (`SurveyLayout.partLines`).
    @exclusivity(unchecked) private var partOfUnplacedLines: Int?
    /// The part's problems already moved to their lines.
    @exclusivity(unchecked) private var problemsPlaced = 0

    /// Moves the batch's rows, and the problems found since the last batch, from lines counted
    /// from the start of part `k`'s slices to their lines in the files, once the parts before it
    /// are read (waiting for them); once part `k` is read, checks where it ended and gives where
    /// the next part's lines start. False when the survey turns out not sorted: a reader gave up,
    /// a slice cut at a guessed record start ends inside a quoted value, or the part's last
    /// household id does not sort before the next part's first.
    private func placeLines(_ batch: inout SurveyBatch, part k: Int) -> Bool {
        guard let chain = layout.partLines, let first = chain.firstLines(of: k) else { return false }
        if finished {
            let part = layout.parts[k]
            if households.csv.endedInsideQuotes && part.householdsEnd != Int.max { return false }
            if members.csv.endedInsideQuotes && part.membersEnd != Int.max { return false }
            if k + 1 < layout.parts.count, !(ascendingIDs?.lastSorts(before: layout.partFirstIDs[k + 1]) ?? false) { return false }
            chain.part(k, spans: (households.csv.line, members.csv.line), from: first)
        }
        let hShift = Int32(truncatingIfNeeded: first.households), mShift = Int32(truncatingIfNeeded: first.members)
        for i in batch.households.lines.indices { batch.households.lines[i] &+= hShift }
        for i in batch.members.lines.indices { batch.members.lines[i] &+= mShift }
        for i in problemsPlaced..<problems.count {
            let file = problems[i].diagnostic.location?.file
            guard file == householdsPath || file == membersPath else { continue }
            var d = problems[i].diagnostic
            d.location!.line += file == householdsPath ? first.households : first.members
            problems[i] = DataProblem(kind: problems[i].kind, diagnostic: d, householdID: problems[i].householdID)
        }
        problemsPlaced = problems.count
        return true
    }

    /// `householdIDMatches` for the current member row, whose id was not decided from its bytes;
    /// for a survey assumed sorted, a match of ids whose bytes differ (NFC-equal spellings,
    /// which the layout pass does not match) fails the assumption.
    private func memberMatches(_ hid: UnsafeBufferPointer<UInt8>) -> Bool? {
        let match = members.householdIDMatches(hid)
        if match == true && ascendingIDs != nil {
            let (p, n) = members.rawHouseholdID()!
            if n != hid.count || memcmp(p, hid.baseAddress!, n) != 0 { sortedAssumptionFailed = true }
        }
        return match
    }

    // MARK: column path

    /// Whether streaming reads take the column path (`readChunk`, `takeChunk`), when the
    /// tables allow it. Set off only by tests, which check that it reads like the row path;
    /// part readers take it from the reader that makes them.
    @exclusivity(unchecked) var usesColumnPath = true
    /// Whether the tables allow it (see `TableInput.decodesColumns`; member ids read from their
    /// column).
    private var columnPathFits: Bool {
        households.decodesColumns && members.decodesColumns && (memberIDField < 0 || members.fieldCol[memberIDField] >= 0)
    }
    /// Households read per chunk: few enough that the chunk's bytes are still in the cache when
    /// its columns are decoded.
    static let chunkHouseholds = 256
    private let chunk: ColumnChunk
    /// The member ids of the household `scanHousehold` reads: those of up to 7 bytes (nearly
    /// all) as one word each, bytes and length, in a plain list; longer ones in the set.
    @exclusivity(unchecked) private var chunkMemberIDs = MemberIDSet()
    @exclusivity(unchecked) private var shortMemberIDs = UnsafeMutablePointer<UInt64>.allocate(capacity: 64)
    @exclusivity(unchecked) private var shortMemberIDCount = 0
    @exclusivity(unchecked) private var shortMemberIDCapacity = 64

    deinit { shortMemberIDs.deallocate() }

    /// Whether the chunk scan splits runs of clean rows straight into the chunk's cells
    /// (`CSVReader.appendCleanRecords`) before reading a row at a time. Off only in tests,
    /// which check that both read every survey the same way; part readers take it from the
    /// reader that makes them.
    @exclusivity(unchecked) var splitsRuns = true
    /// Rows split ahead at a time: the member rows split past the chunk's last household are
    /// split again for the next chunk, so the runs are kept short.
    static let runRows = 32
    /// Whether the chunk scan matches the household rows split ahead to their members in one
    /// loop (`matchSplitHouseholds`) before a household at a time. Off only in tests, which
    /// check that both read every survey the same way; part readers take it from the reader
    /// that makes them.
    @exclusivity(unchecked) var matchesRuns = true

    /// Reads up to `limit` household rows with their member rows, splitting them into cells
    /// only: which households are clean (their rows and their members' rows clean, the
    /// household id ASCII and not repeated, member ids ASCII and distinct, at least one member,
    /// no orphan member among them) and where each row is. The rows are matched to households
    /// exactly as the row path does. False when households.csv has no more rows.
    ///
    /// Runs of clean rows are split ahead (`splitsRuns`) into the chunk's cells, where the
    /// rows are matched to households by their id cells; any other row, or a row whose id cell
    /// only the row path's comparison can match, is read a row at a time, as before.
    private func readChunk(upTo limit: Int, blankRows blank: inout Int) -> Bool {
        let ch = chunk
        ch.removeAll()
        let hcsv = households.csv, mcsv = members.csv
        // The chunk's rows stay in the buffers, to be read again.
        hcsv.keepFrom = hcsv.nextRecordFileOffset
        mcsv.keepFrom = memberPending ? mcsv.recordFileOffset : mcsv.nextRecordFileOffset
        var more = true
        while ch.households.count < limit {
            matchSplitHouseholds(upTo: limit - ch.households.count)
            if ch.households.count == limit { break }
            if let (p, n) = splitHouseholdRow(upTo: limit - ch.households.count) {
                let r = ch.householdRowsTaken
                let line = Int(ch.householdCells.lines[r])
                let firstRecord = ch.memberRecords.count, firstRow = ch.memberRowsTaken
                let clean = scanMembers(of: UnsafeBufferPointer(start: p, count: n), line: line, rowIsClean: true, blankRows: &blank)
                endHousehold(record: ch.householdCells.recordStart(r), line: line, clean: clean, splitRow: r,
                             firstRecord: firstRecord, firstRow: firstRow)
                continue
            }
            guard households.nextRecord(blankRows: &blank) else { more = false; break }
            scanHousehold(blankRows: &blank)
        }
        // Member rows split past the last household are read again by the next chunk.
        if ch.memberRowsTaken < ch.memberCells.count { unsplitMembers(from: ch.memberRowsTaken) }
        ch.householdsEnd = (hcsv.nextRecordFileOffset, hcsv.line)
        ch.membersEnd = memberPending ? (mcsv.recordFileOffset, mcsv.recordLine) : (mcsv.nextRecordFileOffset, mcsv.line)
        ch.memberPendingAtEnd = memberPending
        return more
    }

    /// The id cell of the next household row when it is split ahead (splitting up to `limit`
    /// more when none is) and its cell is the id as it is (not empty, no blanks around it);
    /// nil when the row is to be read a row at a time (split ahead rows from it on are given
    /// back to the reader).
    private func splitHouseholdRow(upTo limit: Int) -> (UnsafePointer<UInt8>, Int)? {
        guard splitsRuns else { return nil }
        let cells = chunk.householdCells, hcsv = households.csv
        let r = chunk.householdRowsTaken
        if r == cells.count && hcsv.appendCleanRecords(to: cells, limit: min(limit, SurveyReader.runRows)) == 0 { return nil }
        let (p, n) = cells.untrimmedCell(r, households.hidCol, base: hcsv.bufferBase)
        if SurveyReader.isBareID(p, n) { return (p, n) }
        hcsv.seek(fileOffset: cells.recordStart(r), line: Int(cells.lines[r]))
        cells.truncate(to: r)
        return nil
    }

    /// True when an id cell split ahead, `p[0..<n]` untrimmed, is the id as it is (not empty,
    /// no blank at either end): its bytes can then be compared as the row path compares ids.
    @inline(__always) private static func isBareID(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        n > 0 && p[0] > 0x20 && p[n &- 1] > 0x20
    }

    /// The current household row and its member rows, for `readChunk` (the streaming loop of
    /// `processHousehold` with no cell read).
    private func scanHousehold(blankRows blank: inout Int) {
        let ch = chunk
        let hcsv = households.csv
        let line = hcsv.recordLine
        // The household id: of a plain row, its cell as it is in the buffer (which keeps it
        // while the members are read, from the other file); else unescaped into `hidBuf`.
        let plainCell = hcsv.recordIsPlain ? households.rawHouseholdID() : nil
        let haveHid = plainCell != nil || (!hcsv.recordIsPlain && households.householdIDBytes(into: &hidBuf))
        let firstRecord = ch.memberRecords.count, firstRow = ch.memberRowsTaken
        var clean = false
        let rowIsClean = households.recordIsClean
        if let (p, n) = plainCell {
            clean = scanMembers(of: UnsafeBufferPointer(start: p, count: n), line: line, rowIsClean: rowIsClean, blankRows: &blank)
        } else if haveHid {
            clean = hidBuf.withUnsafeBufferPointer { scanMembers(of: $0, line: line, rowIsClean: rowIsClean, blankRows: &blank) }
        }
        // A row beyond the reach of the chunk's cell offsets goes to the row path.
        clean = clean && ch.householdCells.fits(hcsv)
        if clean { ch.householdCells.append(hcsv) }
        endHousehold(record: hcsv.recordFileOffset, line: line, clean: clean, splitRow: clean ? ch.householdRowsTaken : nil,
                     firstRecord: firstRecord, firstRow: firstRow)
    }

    /// Adds the household read to the chunk: its row `splitRow` of the chunk's household cells
    /// (if it has one there) and its member rows from `firstRecord` and `firstRow` on are kept
    /// for the column decode when it is clean (and has members), else dropped from the cells.
    private func endHousehold(record: Int, line: Int, clean: Bool, splitRow: Int?, firstRecord: Int, firstRow: Int) {
        let ch = chunk
        var row = -1
        if clean && ch.memberRecords.count > firstRecord {
            row = ch.householdRowsTaken
            ch.householdRowsTaken += 1
        } else {
            if let r = splitRow { ch.householdCells.remove(r..<(r + 1)) }
            ch.memberCells.remove(firstRow..<ch.memberRowsTaken)
            ch.memberRowsTaken = firstRow
        }
        ch.households.append(ColumnChunk.Household(record: record, line: Int32(truncatingIfNeeded: line), row: row,
                                                   memberRows: firstRow..<ch.memberRowsTaken,
                                                   memberRecords: firstRecord..<ch.memberRecords.count))
    }

    /// The streaming loop of `processHousehold` over the member rows of household `hid`, the
    /// current row of households.csv (on `line`; `rowIsClean` when it is clean), for
    /// `scanHousehold`: true when the household is clean so far (its row, its members' rows
    /// and ids).
    private func scanMembers(of hid: UnsafeBufferPointer<UInt8>, line: Int, rowIsClean: Bool, blankRows blank: inout Int) -> Bool {
        let ch = chunk
        let start = startHousehold(hid, line: line, rowIsClean: rowIsClean)
        var clean = start.clean
        let hidIsASCII = start.idIsASCII
        while true {
            if splitsRuns && !memberPending {
                switch takeSplitMembers(of: hid, idIsASCII: hidIsASCII, clean: &clean) {
                case .householdEnds: return clean
                case .moreToSplit: continue
                case .rowByRow: break
                }
            }
            if !memberPending {
                guard members.nextRecord(blankRows: &blank) else { break }
                memberPending = true
            }
            guard let match = members.householdIDCellMatches(hid.baseAddress!, hid.count, idIsASCII: hidIsASCII)
                    ?? memberMatches(hid) else {
                memberPending = false
                ch.memberRecords.append(ColumnChunk.MemberRecord(members.csv, orphan: true))
                clean = false
                continue
            }
            if !match { break }
            memberPending = false
            ch.memberRecords.append(ColumnChunk.MemberRecord(members.csv, orphan: false))
            if clean {
                if members.recordIsClean && ch.memberCells.fits(members.csv) && memberRowIDIsNew() {
                    ch.memberCells.append(members.csv)
                    ch.memberRowsTaken += 1
                } else {
                    clean = false
                }
            }
        }
        return clean
    }

    /// Starts household `hid` (on `line`; `rowIsClean` when its row is clean) for `scanMembers`
    /// and `matchSplitHouseholds`, with no member id yet: whether it is clean before its members
    /// are read (its row clean, its id ASCII and not repeated), and whether its id is ASCII.
    @inline(__always) private func startHousehold(_ hid: UnsafeBufferPointer<UInt8>, line: Int, rowIsClean: Bool) -> (clean: Bool, idIsASCII: Bool) {
        checkIDAscends(hid, line: line)
        let hidIsASCII = SurveyText.isASCII(hid.baseAddress!, hid.count)
        chunkMemberIDs.removeAll()
        shortMemberIDCount = 0
        let clean = rowIsClean && hidIsASCII && (duplicateOf.isEmpty || duplicateOf[Int32(truncatingIfNeeded: line)] == nil)
        return (clean, hidIsASCII)
    }

    /// What `takeSplitMembers` leaves to do.
    private enum SplitMembers { case householdEnds, moreToSplit, rowByRow }

    /// Takes the member rows split ahead (splitting a run when none is) that are of household
    /// `hid`, as `householdIDCellMatches` decides from the bytes: their id cell is `hid`. The
    /// household ends at a row whose id cell differs from it, both being ASCII; a row whose id
    /// cell only the row path's comparison can match, or none split, leaves the next row to be
    /// read a row at a time (split rows from it on are given back to the reader).
    private func takeSplitMembers(of hid: UnsafeBufferPointer<UInt8>, idIsASCII: Bool, clean: inout Bool) -> SplitMembers {
        let ch = chunk, cells = ch.memberCells, mcsv = members.csv
        let first = ch.memberRowsTaken
        if first == cells.count && mcsv.appendCleanRecords(to: cells, limit: SurveyReader.runRows) == 0 { return .rowByRow }
        let (r, next) = matchSplitMembers(cells.cells(base: mcsv.bufferBase), first..<cells.count, hidColumn: members.hidCol,
                                          memberIDColumn: memberIDColumn, of: hid, idIsASCII: idIsASCII, clean: &clean)
        ch.memberRecords.append(count: r &- first) { ColumnChunk.MemberRecord(cells, first &+ $0) }
        ch.memberRowsTaken = r
        if next == .rowByRow { unsplitMembers(from: r) }
        return next
    }

    /// The column of the member id cells, or -1 when members have no id.
    private var memberIDColumn: Int { memberIDField >= 0 ? members.fieldCol[memberIDField] : -1 }

    /// The member rows `rows` split ahead (`cells`) that are of household `hid`, from the first
    /// on, as `householdIDCellMatches` decides from the bytes: their id cell (column
    /// `hidColumn`) is `hid`; `clean` stays true while their member ids (column
    /// `memberIDColumn`) are new. Returns the first row not of it (`rows.upperBound` when all
    /// are: `moreToSplit`), and whether the household ends there (its id cell differs from
    /// `hid`, both ASCII) or only the row path's comparison can match it (`rowByRow`).
    @inline(__always) private func matchSplitMembers(_ cells: CellSpans.Cells, _ rows: Range<Int>, hidColumn: Int, memberIDColumn: Int,
                                                     of hid: UnsafeBufferPointer<UInt8>, idIsASCII: Bool,
                                                     clean: inout Bool) -> (end: Int, next: SplitMembers) {
        let id = hid.baseAddress!, n = hid.count
        var r = rows.lowerBound
        while r < rows.upperBound {
            let (p, k) = cells.untrimmedCell(r, hidColumn)
            if !SurveyReader.isIDCell(p, k, of: id, n) { return (r, SurveyReader.afterHousehold(p, k, idIsASCII: idIsASCII)) }
            if clean && memberIDColumn >= 0 {
                let (q, m) = cells.cell(r, memberIDColumn)
                clean = memberIDIsNew(q, m)
            }
            r &+= 1
        }
        return (r, .moreToSplit)
    }

    /// True when a member row's household id cell, `p[0..<k]` untrimmed, is the household id
    /// `id[0..<n]` byte for byte (which the row path finds equal too).
    @inline(__always) private static func isIDCell(_ p: UnsafePointer<UInt8>, _ k: Int, of id: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        k == n && KeyScan.equal(p, id, n)
    }

    /// What a member row whose household id cell, `p[0..<k]` untrimmed, is not the household's
    /// id (ASCII when `idIsASCII`) means: the household ends there when both ids are bare and
    /// ASCII (the row path finds them different too); else only its comparison can tell.
    @inline(__always) private static func afterHousehold(_ p: UnsafePointer<UInt8>, _ k: Int, idIsASCII: Bool) -> SplitMembers {
        idIsASCII && isBareID(p, k) && SurveyText.isASCII(p, k) ? .householdEnds : .rowByRow
    }

    /// Matches the household rows split ahead, from the chunk's next one on and up to `limit` of
    /// them, to the member rows split ahead (splitting more of both as they run out), in one loop: what
    /// `splitHouseholdRow`, `scanMembers` and `endHousehold` do for a household, without a call
    /// chain each. Stops before the first household that is not clean or that they must decide
    /// (its id cell not bare, a member row pending or only the row path can match, no row left
    /// to split), which they then read.
    ///
    /// Member ids are checked as they come while they increase (`AscendingMemberIDs`, no set);
    /// from the first one that does not, the household's ids so far go into the set and the
    /// rest are checked there, as `matchSplitMembers` checks them.
    private func matchSplitHouseholds(upTo limit: Int) {
        // A member row read a row at a time and not yet matched comes before any split.
        guard matchesRuns && splitsRuns && !memberPending else { return }
        let ch = chunk, hcells = ch.householdCells, mcells = ch.memberCells, hcsv = households.csv, mcsv = members.csv
        var hBase = hcsv.bufferBase
        let hidColumn = households.hidCol
        let memberHidColumn = members.hidCol, memberIDColumn = memberIDColumn
        let firstHousehold = ch.householdRowsTaken, firstMember = ch.memberRowsTaken
        // Clean households meet no orphan: their member rows are all the rows met for them, and
        // no record is kept (`ColumnChunk.memberRowsMet`).
        let noRecords = ch.memberRecords.count..<ch.memberRecords.count
        let end = firstHousehold &+ limit
        var memberCells = mcells.cells(base: mcsv.bufferBase), membersSplit = mcells.count
        var r = firstHousehold, j = firstMember
        households: while r < end {
            if r == hcells.count {
                // As many as `splitHouseholdRow` splits.
                guard hcsv.appendCleanRecords(to: hcells, limit: min(end &- r, SurveyReader.runRows)) > 0 else { break }
                hBase = hcsv.bufferBase
            }
            let (id, n) = hcells.untrimmedCell(r, hidColumn, base: hBase)
            guard SurveyReader.isBareID(id, n) else { break }
            let line = hcells.lines[r]
            // A clean household's id is ASCII.
            guard startHousehold(UnsafeBufferPointer(start: id, count: n), line: Int(line), rowIsClean: true).clean else { break }
            var ascending = AscendingMemberIDs(), idsInSet = false
            var e = j
            members: while true {
                if e == membersSplit {
                    guard mcsv.appendCleanRecords(to: mcells, limit: SurveyReader.runRows) > 0 else { break households }
                    memberCells = mcells.cells(base: mcsv.bufferBase)
                    membersSplit = mcells.count
                }
                let (p, k) = memberCells.untrimmedCell(e, memberHidColumn)
                if !SurveyReader.isIDCell(p, k, of: id, n) {
                    if SurveyReader.afterHousehold(p, k, idIsASCII: true) == .householdEnds { break members }
                    break households
                }
                if memberIDColumn >= 0 {
                    let (q, m) = memberCells.cell(e, memberIDColumn)
                    if idsInSet {
                        guard memberIDIsNew(q, m) else { break households }
                    } else if !ascending.take(q, m) {
                        // A member id not after the last: the household's ids so far go into
                        // the set, which decides this one and the rest.
                        guard memberIDsAreNew(memberCells, j..<(e &+ 1), column: memberIDColumn) else { break households }
                        idsInSet = true
                    }
                }
                e &+= 1
            }
            guard e > j else { break }
            ch.households.append(ColumnChunk.Household(record: hcells.recordStart(r), line: line, row: r, memberRows: j..<e,
                                                       memberRecords: noRecords))
            r &+= 1
            j = e
        }
        ch.householdRowsTaken = r
        ch.memberRowsTaken = j
    }

    /// True when the member ids of `rows` (of one household, split ahead) are all new, each
    /// checked by `memberIDIsNew` after those before it: the bulk loop's way back to the set
    /// when its household's ids stop increasing.
    @inline(never) private func memberIDsAreNew(_ cells: CellSpans.Cells, _ rows: Range<Int>, column: Int) -> Bool {
        chunkMemberIDs.removeAll()
        shortMemberIDCount = 0
        for r in rows {
            let (q, m) = cells.cell(r, column)
            guard memberIDIsNew(q, m) else { return false }
        }
        return true
    }

    /// Gives the member rows split ahead from row `r` of the chunk's cells on back to the reader.
    private func unsplitMembers(from r: Int) {
        let cells = chunk.memberCells
        members.csv.seek(fileOffset: cells.recordStart(r), line: Int(cells.lines[r]))
        cells.truncate(to: r)
    }

    /// `memberIDIsNew` for the current (clean) member row read a row at a time.
    private func memberRowIDIsNew() -> Bool {
        guard memberIDField >= 0 else { return true }
        let (p, n) = members.csv.trimmedField(members.fieldCol[memberIDField])
        return memberIDIsNew(p, n)
    }

    /// True when the member id `p[0..<n]` (a clean row's cell, trimmed) is non-empty, ASCII and
    /// not one the household's rows before it have: the row path then finds no repeated id.
    @inline(__always) private func memberIDIsNew(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        guard n > 0 && SurveyText.isASCII(p, n) else { return false }
        if n > 7 { return !chunkMemberIDs.insert(UnsafeBufferPointer(start: p, count: n)) }
        // The bytes (read as a word: the CSV buffer has slack) and the length in the top byte.
        let key = TokenTable.fastKey(p, n).0 | UInt64(n) &<< 56
        let ids = shortMemberIDs, count = shortMemberIDCount
        for i in 0..<count where ids[i] == key { return false }
        if count == shortMemberIDCapacity {
            let more = UnsafeMutablePointer<UInt64>.allocate(capacity: count * 2)
            more.update(from: ids, count: count)
            ids.deallocate()
            shortMemberIDs = more
            shortMemberIDCapacity = count * 2
        }
        shortMemberIDs[count] = key
        shortMemberIDCount = count + 1
        return true
    }

    /// The reference date of a household whose review day is `day` (a day number, or absent:
    /// `--as-of`, else today, when it has none) and its members' birth limit. A survey's
    /// households share a few review days, which come back in any order: the last few are
    /// kept (`recentReviewDays`), a date from a day number costing a hundred-odd instructions.
    @inline(never) private func reference(ofReviewDay day: Int64) -> ReviewDay {
        if let known = recentReviewDays.first(where: { $0.day == day }) { return known }
        let date = day == RecordTable.absent ? asOf ?? today : CivilDate(dayNumber: Int32(truncatingIfNeeded: day))
        let known = ReviewDay(day: day, date: date, limit: members.birthLimit(date))
        if recentReviewDays.count == SurveyReader.recentReviewDayCount { recentReviewDays.removeFirst() }
        recentReviewDays.append(known)
        return known
    }

    /// A review day (or absent) with its reference date and birth limit.
    private struct ReviewDay {
        let day: Int64
        let date: CivilDate
        let limit: TableInput.BirthLimit
    }
    @exclusivity(unchecked) private var recentReviewDays: [ReviewDay] = []
    private static let recentReviewDayCount = 8

    /// Decodes the clean households of the chunk a column at a time, then puts the chunk's
    /// households into the batch in file order: the clean ones whose cells all decode as they
    /// are, the others through the row path (`processHousehold`), which finds their problems.
    private func takeChunk(_ batch: inout SurveyBatch) {
        let ch = chunk
        let hcsv = households.csv, mcsv = members.csv
        let nh = ch.householdCells.count, nm = ch.memberCells.count
        ch.reserve(households: nh, members: nm)
        // The values of the rows the row path appended before the chunk's.
        batch.households.takeValues(hStore)
        batch.members.takeValues(mStore)
        var valuesInBatch = false
        if nh > 0 && ch.householdRowsTaken == ch.households.count {
            // Every household of the chunk is clean (nearly always): its rows are the batch's
            // next rows, in order, and are decoded straight into its columns. When a cell
            // fails, the values go back to the chunk for the households to be put in one by one.
            valuesInBatch = batch.households.writeValues(rows: nh) { householdColumns in
                decodeHouseholds(into: householdColumns)
                return batch.members.writeValues(rows: nm) { memberColumns in
                    decodeMembers(into: memberColumns)
                    if !ch.anyFailed(households: nh, members: nm) { return true }
                    ch.keepValues(households: householdColumns, nh, members: memberColumns, nm)
                    return false
                }
            }
        } else if nh > 0 {
            decodeHouseholds(into: ch.householdColumns)
            decodeMembers(into: ch.memberColumns)
        }
        var runStart = 0
        var readAgain = false
        // Nearly always every household of the chunk is clean and all its cells decoded: then
        // none is looked at one by one.
        for i in 0..<(valuesInBatch ? 0 : ch.households.count) {
            let h = ch.households[i]
            if h.row >= 0 && !ch.householdFailed[h.row] && !h.memberRows.contains(where: { ch.memberFailed[$0] }) { continue }
            appendClean(ch.households.all[runStart..<i], &batch, valuesInBatch: false)
            runStart = i + 1
            hcsv.seek(fileOffset: h.record, line: Int(h.line))
            _ = hcsv.next()
            processHousehold(&batch, recorded: ch.memberRowsMet(h))
            readAgain = true
        }
        appendClean(ch.households.all[runStart...], &batch, valuesInBatch: valuesInBatch)
        if readAgain {
            // Back where `readChunk` left both files.
            hcsv.seek(fileOffset: ch.householdsEnd.offset, line: ch.householdsEnd.line)
            mcsv.seek(fileOffset: ch.membersEnd.offset, line: ch.membersEnd.line)
            if ch.memberPendingAtEnd { _ = mcsv.next() }
            memberPending = ch.memberPendingAtEnd
        }
    }

    /// Decodes the chunk's clean household rows into `columns` (field f's at `columns[f]`), with
    /// each one's reference date and birth limit, and marks each member row with its household.
    private func decodeHouseholds(into columns: UnsafePointer<UnsafeMutablePointer<Int64>>) {
        let ch = chunk, nh = ch.householdCells.count
        households.decodeColumns(ch.householdCells, base: households.csv.bufferBase, columns: columns, failed: ch.householdFailed,
                                 births: nil)
        // The review day of each household (absent when `--as-of` overrides it), its
        // reference date and birth limit looked up again only when it changes.
        let reviews: UnsafePointer<Int64>? = asOf == nil ? hReview.map { UnsafePointer(columns[$0]) } : nil
        var last: ReviewDay?
        for k in 0..<nh {
            let day = reviews?[k] ?? RecordTable.absent
            if last?.day != day { last = reference(ofReviewDay: day) }
            ch.references[k] = last.unsafelyUnwrapped.date
            ch.limits[k] = last.unsafelyUnwrapped.limit
        }
        for h in ch.households.all where h.row >= 0 {
            for j in h.memberRows { ch.householdOfMember[j] = Int32(truncatingIfNeeded: h.row) }
        }
    }

    /// Decodes the chunk's member rows (of clean households) into `columns`, with their ages.
    private func decodeMembers(into columns: UnsafePointer<UnsafeMutablePointer<Int64>>) {
        let ch = chunk
        members.decodeColumns(ch.memberCells, base: members.csv.bufferBase, columns: columns, failed: ch.memberFailed,
                              births: TableInput.BirthColumn(households: ch.householdOfMember, limits: ch.limits, ageMonths: ch.ageMonths))
    }

    /// Appends clean households of the chunk, consecutive in file order, whose cells all
    /// decoded, with their members: their values (unless `valuesInBatch`: decoded there
    /// already), texts and lines a column at a time.
    private func appendClean(_ run: Slice<UnsafeBufferPointer<ColumnChunk.Household>>, _ batch: inout SurveyBatch, valuesInBatch: Bool) {
        guard let first = run.first, let last = run.last else { return }
        let ch = chunk
        let k0 = first.row, nh = last.row + 1 - k0
        let j0 = first.memberRows.lowerBound, nm = last.memberRows.upperBound - j0
        if !valuesInBatch {
            // The values of the rows the row path appended before these.
            batch.households.takeValues(hStore)
            batch.members.takeValues(mStore)
            batch.households.appendValues(ch.householdValues, stride: ch.householdStride, from: k0, count: nh)
            batch.members.appendValues(ch.memberValues, stride: ch.memberStride, from: j0, count: nm)
        }
        let hBase = households.csv.bufferBase, mBase = members.csv.bufferBase
        // The household ids, one String each, which their members' rows take too.
        let hidField = households.hidField
        batch.households.appendDistinctTexts(hidField, count: nh) { households.distinctText(hidField, ch.householdCells, k0 &+ $0, base: hBase) }
        households.appendTexts(ch.householdCells, rows: k0..<(k0 + nh), base: hBase, to: &batch.households, except: hidField)
        let memberBase = batch.members.count - j0
        let memberHidField = members.hidField
        let hidRows = (batch.households.count - nh)..<batch.households.count
        let runStart = run.startIndex
        batch.members.appendTexts(memberHidField, of: batch.households, field: hidField, rows: hidRows) { run[runStart &+ $0].memberRows.count }
        members.appendTexts(ch.memberCells, rows: j0..<(j0 + nm), base: mBase, to: &batch.members, except: memberHidField)
        batch.ageMonths.append(contentsOf: UnsafeBufferPointer(start: ch.ageMonths + j0, count: nm))
        withUnsafeTemporaryAllocation(of: Range<Int>.self, capacity: nh) { ranges in
            for (i, h) in run.enumerated() {
                (ranges.baseAddress! + i).initialize(to: (memberBase &+ h.memberRows.lowerBound)..<(memberBase &+ h.memberRows.upperBound))
            }
            batch.memberRanges.append(contentsOf: UnsafeBufferPointer(ranges))
        }
        batch.referenceDates.append(contentsOf: UnsafeBufferPointer(start: ch.references + k0, count: nh))
        counts.householdsRead += nh
        counts.householdsAccepted += nh
        counts.membersRead += nm
        counts.membersAccepted += nm
    }

    /// Reads the whole survey, calling `body` with each batch.
    public func forEachBatch(maxHouseholds: Int = 4096, _ body: (SurveyBatch) throws -> Void) throws {
        while let b = try next(maxHouseholds: maxHouseholds) { try body(b) }
    }

    /// Problems sorted by file, line and column, for reports.
    public var sortedProblems: [DataProblem] {
        problems.sorted { a, b in
            let la = a.diagnostic.location, lb = b.diagnostic.location
            switch (la, lb) {
            case let (x?, y?): return x < y
            case (nil, _?): return true
            default: return false
            }
        }
    }
}

/// One chunk of households read by the column path: the cells of its clean rows and what they
/// decode to, and where every row of it is, to read the others again row by row.
private final class ColumnChunk {
    struct Household {
        /// File offset and line of the household row.
        var record: Int
        var line: Int32
        /// Its row in `householdCells`, or -1 when it is not clean.
        var row: Int
        /// Its members' rows in `memberCells` (none when it is not clean).
        var memberRows: Range<Int>
        /// The member rows met for it, in `memberRecords`; none kept for a clean household met
        /// by `matchSplitHouseholds` (see `memberRowsMet`).
        var memberRecords: Range<Int>
    }

    /// The chunk's households in file order.
    let households = PlainList<Household>()
    /// The clean household rows, then any rows split ahead of the households read.
    let householdCells: CellSpans
    /// The member rows of clean households, then any rows split ahead of the members matched.
    let memberCells: CellSpans
    /// The rows of the cells that belong to households read; the rest are split ahead.
    @exclusivity(unchecked) var householdRowsTaken = 0
    @exclusivity(unchecked) var memberRowsTaken = 0
    /// Every member row met, in file order (orphans too).
    let memberRecords = PlainList<MemberRecord>()
    struct MemberRecord {
        var offset: Int
        var line: Int32
        /// True for a row with no household (`orphanMember`).
        var orphan: Bool

        /// The current record of `csv`.
        init(_ csv: CSVReader, orphan: Bool) {
            self.init(offset: csv.recordFileOffset, line: Int32(truncatingIfNeeded: csv.recordLine), orphan: orphan)
        }

        /// Row `r` of `cells` (not an orphan).
        @inline(__always) init(_ cells: CellSpans, _ r: Int) {
            self.init(offset: cells.recordStart(r), line: cells.lines[r], orphan: false)
        }

        init(offset: Int, line: Int32, orphan: Bool) {
            self.offset = offset
            self.line = line
            self.orphan = orphan
        }
    }

    /// Values in plain memory: an append costs a few stores, not an array append (no check
    /// that the storage is not shared).
    final class PlainList<Element> {
        @exclusivity(unchecked) private(set) var count = 0
        @exclusivity(unchecked) private var capacity = 1024
        @exclusivity(unchecked) private var items = UnsafeMutablePointer<Element>.allocate(capacity: 1024)

        deinit {
            items.deinitialize(count: count)
            items.deallocate()
        }

        subscript(i: Int) -> Element { items[i] }

        /// All of them, valid until the next change.
        var all: UnsafeBufferPointer<Element> { UnsafeBufferPointer(start: items, count: count) }

        func removeAll() {
            items.deinitialize(count: count)
            count = 0
        }

        @inline(__always) func append(_ item: Element) {
            reserve(1)
            (items + count).initialize(to: item)
            count += 1
        }

        /// Adds `n` values, `item(i)` for i in `0..<n`.
        @inline(__always) func append(count n: Int, _ item: (Int) -> Element) {
            reserve(n)
            let out = items + count
            for i in 0..<n { (out + i).initialize(to: item(i)) }
            count += n
        }

        @inline(__always) private func reserve(_ n: Int) {
            guard count + n > capacity else { return }
            capacity = max(capacity * 2, count + n)
            let more = UnsafeMutablePointer<Element>.allocate(capacity: capacity)
            more.moveInitialize(from: items, count: count)
            items.deallocate()
            items = more
        }
    }

    /// The member rows met for household `h`, in file order, to read it again row by row: a
    /// clean household's are its member rows (it met no orphan), another's its records.
    func memberRowsMet(_ h: Household) -> [MemberRecord] {
        guard h.row >= 0 else { return h.memberRecords.map { memberRecords[$0] } }
        return h.memberRows.map { MemberRecord(memberCells, $0) }
    }

    /// Where `readChunk` left the files: the next household row, and the member row pending
    /// (`memberPendingAtEnd`) or the next one.
    @exclusivity(unchecked) var householdsEnd = (offset: 0, line: 0)
    @exclusivity(unchecked) var membersEnd = (offset: 0, line: 0)
    @exclusivity(unchecked) var memberPendingAtEnd = false

    // Decoded, column-major (`decodeColumns`), with room for `householdStride` and
    // `memberStride` rows.
    let householdFields: Int, memberFields: Int
    @exclusivity(unchecked) private(set) var householdStride = 0, memberStride = 0
    @exclusivity(unchecked) private(set) var householdValues: UnsafeMutablePointer<Int64> = .allocate(capacity: 1)
    @exclusivity(unchecked) private(set) var householdFailed: UnsafeMutablePointer<Bool> = .allocate(capacity: 1)
    @exclusivity(unchecked) private(set) var references: UnsafeMutablePointer<CivilDate> = .allocate(capacity: 1)
    @exclusivity(unchecked) private(set) var limits: UnsafeMutablePointer<TableInput.BirthLimit> = .allocate(capacity: 1)
    @exclusivity(unchecked) private(set) var memberValues: UnsafeMutablePointer<Int64> = .allocate(capacity: 1)
    @exclusivity(unchecked) private(set) var memberFailed: UnsafeMutablePointer<Bool> = .allocate(capacity: 1)
    @exclusivity(unchecked) private(set) var householdOfMember: UnsafeMutablePointer<Int32> = .allocate(capacity: 1)
    @exclusivity(unchecked) private(set) var ageMonths: UnsafeMutablePointer<Int32> = .allocate(capacity: 1)
    /// Where each field's values are in `householdValues` and `memberValues`, as
    /// `TableInput.decodeColumns` takes them.
    let householdColumns: UnsafeMutablePointer<UnsafeMutablePointer<Int64>>
    let memberColumns: UnsafeMutablePointer<UnsafeMutablePointer<Int64>>

    init(householdFields: Int, householdColumns: Int, memberFields: Int, memberColumns: Int) {
        self.householdFields = max(1, householdFields)
        self.memberFields = max(1, memberFields)
        householdCells = CellSpans(columns: householdColumns, capacity: SurveyReader.chunkHouseholds)
        memberCells = CellSpans(columns: memberColumns, capacity: SurveyReader.chunkHouseholds * 8)
        self.householdColumns = .allocate(capacity: self.householdFields)
        self.memberColumns = .allocate(capacity: self.memberFields)
        ColumnChunk.point(self.householdColumns, self.householdFields, into: householdValues, stride: 0)
        ColumnChunk.point(self.memberColumns, self.memberFields, into: memberValues, stride: 0)
    }

    deinit {
        householdValues.deallocate()
        householdFailed.deallocate()
        references.deallocate()
        limits.deallocate()
        memberValues.deallocate()
        memberFailed.deallocate()
        householdOfMember.deallocate()
        ageMonths.deallocate()
        householdColumns.deallocate()
        memberColumns.deallocate()
    }

    func removeAll() {
        households.removeAll()
        householdCells.removeAll()
        memberCells.removeAll()
        householdRowsTaken = 0
        memberRowsTaken = 0
        memberRecords.removeAll()
    }

    /// True when a cell of one of the first `nh` household rows or `nm` member rows did not
    /// decode (`householdFailed`, `memberFailed`).
    func anyFailed(households nh: Int, members nm: Int) -> Bool {
        ColumnChunk.anyTrue(householdFailed, nh) || ColumnChunk.anyTrue(memberFailed, nm)
    }

    /// `p[0..<n].contains(true)` as one loop of byte ORs (vectorised), with no early exit.
    private static func anyTrue(_ p: UnsafePointer<Bool>, _ n: Int) -> Bool {
        UnsafeRawPointer(p).withMemoryRebound(to: UInt8.self, capacity: n) { bytes in
            var any: UInt8 = 0
            for i in 0..<n { any |= bytes[i] }
            return any != 0
        }
    }

    /// Room for the decoded values of `nh` household rows and `nm` member rows (all trivial
    /// values: the memory is only ever assigned, never deinitialized).
    func reserve(households nh: Int, members nm: Int) {
        if nh > householdStride {
            let n = max(nh, householdStride * 2)
            ColumnChunk.reallocate(&householdValues, n * householdFields)
            ColumnChunk.reallocate(&householdFailed, n)
            ColumnChunk.reallocate(&references, n)
            ColumnChunk.reallocate(&limits, n)
            householdStride = n
            ColumnChunk.point(householdColumns, householdFields, into: householdValues, stride: n)
        }
        if nm > memberStride {
            let n = max(nm, memberStride * 2)
            ColumnChunk.reallocate(&memberValues, n * memberFields)
            ColumnChunk.reallocate(&memberFailed, n)
            ColumnChunk.reallocate(&householdOfMember, n)
            ColumnChunk.reallocate(&ageMonths, n)
            memberStride = n
            ColumnChunk.point(memberColumns, memberFields, into: memberValues, stride: n)
        }
    }

    /// Sets `columns[f]` to field f's column of `values`, `stride` values apart.
    private static func point(_ columns: UnsafeMutablePointer<UnsafeMutablePointer<Int64>>, _ fields: Int,
                              into values: UnsafeMutablePointer<Int64>, stride: Int) {
        for f in 0..<fields { columns[f] = values + f &* stride }
    }

    /// Copies the values of the first `nh` household rows and `nm` member rows, decoded into
    /// `households` and `members` (field f's at `[f]`), into `householdValues` and
    /// `memberValues`: for a chunk decoded into its batch in which a cell failed.
    func keepValues(households: UnsafePointer<UnsafeMutablePointer<Int64>>, _ nh: Int,
                    members: UnsafePointer<UnsafeMutablePointer<Int64>>, _ nm: Int) {
        for f in 0..<householdFields { householdColumns[f].update(from: households[f], count: nh) }
        for f in 0..<memberFields { memberColumns[f].update(from: members[f], count: nm) }
    }

    /// Frees `p` and makes it `n` values of room (their old values are not kept: `reserve`
    /// makes room before a chunk's values are written).
    private static func reallocate<T>(_ p: inout UnsafeMutablePointer<T>, _ n: Int) {
        p.deallocate()
        p = .allocate(capacity: n)
    }
}
