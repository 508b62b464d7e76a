import Diagnostics
import Engine
import Output
import RuleModel
import Survey
#if canImport(Glibc)
import Glibc
#endif

/// One row of a submitted beneficiary list (data-contract.md §1, beneficiaries.csv).
public struct BeneficiaryEntry: Sendable, Equatable {
    public let line: Int
    public let householdID: String
    public let memberID: String
    public let program: String
    public let date: String
    public init(line: Int, householdID: String, memberID: String, program: String, date: String = "") {
        self.line = line
        self.householdID = householdID
        self.memberID = memberID
        self.program = program
        self.date = date
    }
}

/// A beneficiary list as read from CSV: header `household_id, member_id, program[, date]`
/// (the Vietnamese headers `Mã hộ, Mã thành viên, Chương trình, Ngày` are accepted too).
public struct BeneficiaryList: Sendable {
    public let path: String
    public let entries: [BeneficiaryEntry]

    public init(path: String, entries: [BeneficiaryEntry]) {
        self.path = path
        self.entries = entries
    }

    static let aliases: [String: String] = [
        "household_id": "household_id", "mã hộ": "household_id",
        "member_id": "member_id", "mã thành viên": "member_id",
        "program": "program", "programme": "program", "chương trình": "program",
        "date": "date", "ngày": "date",
    ]

    /// Reads the file; an unreadable file, bad CSV or a missing required column is an error.
    public static func read(path: String) throws(Diagnostic) -> BeneficiaryList {
        guard let f = fopen(path, "rb") else {
            throw Diagnostic.error(at: nil, "\(path): cannot open file: \(String(cString: strerror(errno)))")
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        fclose(f)
        return try parse(String(decoding: bytes, as: UTF8.self), path: path)
    }

    /// Parses RFC 4180 text (BOM, CRLF or LF, quoted fields with `""`).
    public static func parse(_ text: String, path: String) throws(Diagnostic) -> BeneficiaryList {
        var records: [(line: Int, cells: [String])] = []
        var cells: [String] = []
        var cell = ""
        var line = 1, recordLine = 1
        var quoted = false, wasQuoted = false
        var scalars = Array(text.unicodeScalars)
        if scalars.first == "\u{FEFF}" { scalars.removeFirst() }
        var i = 0
        func endRecord() {
            cells.append(cell)
            if !(cells.count == 1 && cells[0].isEmpty && !wasQuoted) { records.append((recordLine, cells)) }
            cells = []
            cell = ""
            wasQuoted = false
        }
        while i < scalars.count {
            let c = scalars[i]
            if quoted {
                if c == "\"" {
                    if i + 1 < scalars.count, scalars[i + 1] == "\"" { cell.unicodeScalars.append("\""); i += 1 } else { quoted = false }
                } else {
                    if c == "\n" { line += 1 }
                    cell.unicodeScalars.append(c)
                }
            } else if c == "\"" && cell.isEmpty {
                quoted = true
                wasQuoted = true
            } else if c == "," {
                cells.append(cell)
                cell = ""
            } else if c == "\r" || c == "\n" {
                if c == "\r", i + 1 < scalars.count, scalars[i + 1] == "\n" { i += 1 }
                endRecord()
                line += 1
                recordLine = line
            } else {
                cell.unicodeScalars.append(c)
            }
            i += 1
        }
        if quoted {
            throw Diagnostic.error(at: SourceLocation(file: path, line: recordLine, column: 1), "unterminated quoted field",
                                   hint: "close the quote with \"")
        }
        if !cell.isEmpty || !cells.isEmpty { endRecord() }
        guard let header = records.first else {
            throw Diagnostic.error(at: SourceLocation(file: path, line: 1, column: 1), "the list is empty: expected a header row household_id,member_id,program,date")
        }
        var index: [String: Int] = [:]
        for (k, name) in header.cells.enumerated() {
            let key = name.trimmingCharacters().lowercased()
            if let canonical = aliases[key], index[canonical] == nil { index[canonical] = k }
        }
        for required in ["household_id", "program"] where index[required] == nil {
            throw Diagnostic.error(at: SourceLocation(file: path, line: 1, column: 1),
                                   "missing required column '\(required)'",
                                   hint: "the header must name household_id, member_id, program (and optionally date)")
        }
        var entries: [BeneficiaryEntry] = []
        for r in records.dropFirst() {
            func value(_ key: String) -> String {
                guard let k = index[key], k < r.cells.count else { return "" }
                return r.cells[k].trimmingCharacters()
            }
            entries.append(BeneficiaryEntry(line: r.line, householdID: value("household_id"), memberID: value("member_id"),
                                            program: value("program"), date: value("date")))
        }
        return BeneficiaryList(path: path, entries: entries)
    }
}

/// What the survey says, for checking a list: every classified household's eligibility results
/// (in and out of scope), its member ids, and the households that were rejected.
public struct SurveyEligibility: Sendable {
    /// Household ids in input order, with their member ids in household order.
    public var households: [(id: String, members: [String])] = []
    /// Every result, in survey order (household, member, programme).
    public var results: [EligibilityResult] = []
    /// Households rejected while reading or classifying, with the reason.
    public var rejected: [String: String] = [:]

    public init() {}

    public mutating func add(householdID: String, memberIDs: [String], results: [EligibilityResult]) {
        households.append((householdID, memberIDs))
        self.results += results
    }
}

/// Compares a submitted list with the eligibility the rules give (domain.md §6). Pure.
public struct BeneficiaryCheck {
    public let programmes: [Programme]
    public let language: Language

    public init(programmes: [Programme], language: Language) {
        self.programmes = programmes
        self.language = language
    }

    private func say(_ vi: String, _ en: String) -> String { language == .vi ? vi : en }

    /// `only`: check this programme alone (rows of others are skipped); else every programme on the list.
    public func check(_ list: BeneficiaryList, against survey: SurveyEligibility, only: String? = nil) -> ListCheckResult {
        let programmeIDs = programmes.map(\.id)
        let level = Dictionary(programmes.map { ($0.id, $0.level) }, uniquingKeysWith: { a, _ in a })
        var members: [String: Set<String>] = [:]
        for h in survey.households { members[h.id] = Set(h.members) }
        struct Key: Hashable { let h: String, m: String, p: String }
        var result: [Key: EligibilityResult] = [:]
        for r in survey.results { result[Key(h: r.householdID, m: r.memberID, p: r.program)] = r }

        var findings: [ListFinding] = []
        var firstLine: [Key: Int] = [:]
        var listed: [Key] = []
        var listedOf: [String: Int] = [:]
        for e in list.entries {
            if let only, e.program != only { continue }
            func finding(_ kind: ListFinding.Kind, _ reason: String, member: String? = nil, priority: String = "") {
                findings.append(ListFinding(kind: kind, line: e.line, householdID: e.householdID, memberID: member ?? e.memberID,
                                            program: e.program, priority: priority, reason: reason))
            }
            if e.householdID.isEmpty {
                finding(.invalidRow, say("thiếu mã hộ", "no household_id")); continue
            }
            if e.program.isEmpty {
                finding(.invalidRow, say("thiếu chương trình", "no program")); continue
            }
            guard let lvl = level[e.program] else {
                let hint = language == .en ? (Suggestion.didYouMean(e.program, in: programmeIDs).map { " (\($0))" } ?? "") : ""
                finding(.invalidRow, say("chương trình '\(e.program)' không có trong bộ quy tắc; có: \(programmeIDs.joined(separator: ", "))",
                                         "programme '\(e.program)' is not in the rules; they have: \(programmeIDs.joined(separator: ", "))") + hint)
                continue
            }
            if lvl == .member && e.memberID.isEmpty {
                finding(.invalidRow, say("thiếu mã thành viên: \(e.program) xét theo từng người", "no member_id: \(e.program) is for persons")); continue
            }
            if !e.date.isEmpty && CivilDate(e.date) == nil {
                finding(.invalidRow, say("ngày '\(e.date)' không đúng dạng YYYY-MM-DD", "date '\(e.date)' is not YYYY-MM-DD")); continue
            }
            let memberKey = lvl == .household ? "" : e.memberID
            let key = Key(h: e.householdID, m: memberKey, p: e.program)
            if let first = firstLine[key] {
                finding(.duplicate, say("trùng với dòng \(first)", "same person and programme as line \(first)"), member: memberKey)
                continue
            }
            firstLine[key] = e.line
            listedOf[e.program, default: 0] += 1
            if let why = survey.rejected[e.householdID] {
                finding(.unclassified, say("hộ có lỗi dữ liệu nên không xét được: \(why)", "the household has a data error and cannot be checked: \(why)"), member: memberKey)
                continue
            }
            guard let ids = members[e.householdID] else {
                finding(.unknownID, say("mã hộ '\(e.householdID)' không có trong khảo sát", "household '\(e.householdID)' is not in the survey"), member: memberKey)
                continue
            }
            if lvl == .member && !ids.contains(e.memberID) {
                finding(.unknownID, say("hộ \(e.householdID) không có thành viên '\(e.memberID)'", "household \(e.householdID) has no member '\(e.memberID)'"))
                continue
            }
            listed.append(key)
            guard let r = result[key] else { continue }
            if !r.eligible {
                finding(.notEligible, r.reason, member: memberKey)
            }
        }

        // Which programmes the list is about: the one asked for, else those it names.
        var checked: [String] = []
        if let only { checked = [only] } else {
            for e in list.entries where level[e.program] != nil && !checked.contains(e.program) { checked.append(e.program) }
            checked.sort { programmeIDs.firstIndex(of: $0)! < programmeIDs.firstIndex(of: $1)! }
        }
        let listedSet = Set(listed)
        var nonPriorityListed: Set<String> = []
        for k in listed where !(result[k].map { $0.eligible && $0.isPriority } ?? false) { nonPriorityListed.insert(k.p) }
        var counts: [ListProgrammeCount] = []
        for p in checked {
            var eligible = 0, listedEligible = 0
            for r in survey.results where r.program == p && r.eligible {
                eligible += 1
                if listedSet.contains(Key(h: r.householdID, m: r.memberID, p: p)) { listedEligible += 1 }
            }
            counts.append(ListProgrammeCount(program: p, eligible: eligible, listed: listedOf[p] ?? 0, listedEligible: listedEligible))
        }
        let checkedSet = Set(checked)
        for r in survey.results where r.eligible && checkedSet.contains(r.program) {
            guard !listedSet.contains(Key(h: r.householdID, m: r.memberID, p: r.program)) else { continue }
            if r.isPriority && nonPriorityListed.contains(r.program) {
                findings.append(ListFinding(kind: .priorityMissing, line: nil, householdID: r.householdID, memberID: r.memberID,
                                            program: r.program, priority: r.priority,
                                            reason: say("thuộc diện ưu tiên, không có trong danh sách trong khi người không ưu tiên được đưa vào: ",
                                                        "a priority person left out while non-priority people are listed: ") + r.reason))
            } else {
                findings.append(ListFinding(kind: .missing, line: nil, householdID: r.householdID, memberID: r.memberID,
                                            program: r.program, priority: r.priority,
                                            reason: say("đủ điều kiện, không có trong danh sách: ", "eligible, not on the list: ") + r.reason))
            }
        }
        return ListCheckResult(listPath: list.path, rows: list.entries.count, programmes: counts, findings: findings)
    }
}

extension String {
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
