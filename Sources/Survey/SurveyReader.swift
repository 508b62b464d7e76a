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
    public static func open(householdsPath: String, membersPath: String, schema: SurveySchema, mapping: HeaderMapping?,
                            asOf: CivilDate? = nil, partSize: Int? = nil) throws(DiagnosticList) -> SurveyReader {
        try
        try SurveyReader(householdsPath: householdsPath, membersPath: membersPath, schema: schema, mapping: mapping,
                         asOf: asOf, today: CivilDate.today(), layout: nil, partSize: partSize)
    }

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
        r.finished = true
        return r
    }

    /// Positions a part reader at the start of `part`; `next` then reads its households only.
    public func read(part: SurveyPart) {
        precondition(streaming, "parts are read on their own only when the files are in the same order")
        households.csv.restrict(from: part.householdsStart, line: part.householdsLine, to: part.householdsEnd)
        members.csv.restrict(from: part.membersStart, line: part.membersLine, to: part.membersEnd)
        finished = false
        memberPending = false
    }

    /// What a part reader found since the last call (problems and counts), leaving it empty for
    /// the next part.
    public func takeReport() -> SurveyPartReport {
        defer {
            problems = []
            problemCounts = [:]
            counts = SurveyCounts()
        }
        return SurveyPartReport(problems: problems, problemCounts: problemCounts, counts: counts)
    }

    /// Adds a part's report, as if this reader had read the part itself.
    public func absorb(_ report: SurveyPartReport) {
        counts.add(report.counts)
        for (k, n) in report.problemCounts { problemCounts[k, default: 0] += n }
        for p in report.problems where problems.count < maxStoredProblems { problems.append(p) }
    }

    private init(householdsPath: String, membersPath: String, schema: SurveySchema, mapping: HeaderMapping?,
                 asOf: CivilDate?, today: CivilDate, layout: SurveyLayout?,
                 partSize: Int? = nil) throws(DiagnosticList) {
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
        if let path = schema.defaultMappingPath, path != mapping?.path {
            do { mappings.append(try HeaderMapping.load(path)) } catch { diags += error.diagnostics }
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
        if let layout {
            self.layout = layout
        } else {
            do {
                let expected = SurveyReader.estimatedRows(householdsPath)
                let size = partSize ?? min(SurveyLayout.defaultPartSize, max(256, expected / 16))
                self.layout = try SurveyLayout.scan(householdsPath, h.hidCol, membersPath, m.hidCol,
                                                    expectedHouseholds: expected, partSize: max(1, size))
            } catch { throw DiagnosticList([error]) }
        }
        streaming = self.layout.inOrder
        duplicateOf = self.layout.duplicateOf
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
        hStore.count = 0
        mStore.count = 0
        var blank = 0
        while batch.households.count < maxHouseholds {
            guard households.nextRecord(blankRows: &blank) else {
                finishMembers()
                finished = true
                break
            }
            processHousehold(&batch)
        }
        counts.blankRows += blank
        if batch.households.count == 0 && finished { return nil }
        batch.households.takeValues(hStore)
        batch.members.takeValues(mStore)
        return batch
    }

    private func processHousehold(_ batch: inout SurveyBatch) {
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
        var memberCount = 0
        var memberRejected = false
        @inline(__always) func takeMember() {
            memberCount += 1
            if self.takeMember(&batch, hid: hid, reference: ages, rejected: memberRejected) { memberRejected = true }
        }
        seenMemberIDs.removeAll()
        if haveHid {
            let hidBytes = hidBuf
            if streaming {
                while true {
                    if !memberPending {
                        var blank = 0
                        guard members.nextRecord(blankRows: &blank) else { counts.blankRows += blank; break }
                        counts.blankRows += blank
                        memberPending = true
                    }
                    guard let match = members.householdIDMatches(hidBytes) else {
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
            mStore.count = memberStart
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
