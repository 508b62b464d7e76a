import Engine
import RuleModel

/// One problem found in a submitted beneficiary list.
public struct ListFinding: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// On the list but not eligible (out of scope or no path holds).
        case notEligible = "not_eligible"
        /// On the list twice for the same programme.
        case duplicate
        /// A household or member id that is not in the survey.
        case unknownID = "unknown_id"
        /// In the survey, but the household was rejected (data error), so it cannot be checked.
        case unclassified
        /// A row that cannot be read as an entry (no id, unknown programme, bad date).
        case invalidRow = "invalid_row"
        /// Eligible and of a priority group, missing while non-priority people are listed.
        case priorityMissing = "priority_missing"
        /// Eligible but not on the list.
        case missing

        public func label(_ language: Language) -> String {
            switch (self, language) {
            case (.notEligible, .vi): return "Không đủ điều kiện nhưng có trong danh sách"
            case (.notEligible, .en): return "Listed but not eligible"
            case (.duplicate, .vi): return "Trùng lặp"
            case (.duplicate, .en): return "Duplicates"
            case (.unknownID, .vi): return "Mã không có trong khảo sát"
            case (.unknownID, .en): return "Ids not in the survey"
            case (.unclassified, .vi): return "Hộ không phân loại được (lỗi dữ liệu khảo sát)"
            case (.unclassified, .en): return "Households that could not be classified (survey data errors)"
            case (.invalidRow, .vi): return "Dòng không hợp lệ"
            case (.invalidRow, .en): return "Invalid rows"
            case (.priorityMissing, .vi): return "Thuộc diện ưu tiên nhưng bị bỏ sót, trong khi người không ưu tiên có trong danh sách"
            case (.priorityMissing, .en): return "Priority people left out while non-priority people are listed"
            case (.missing, .vi): return "Đủ điều kiện nhưng bị bỏ sót"
            case (.missing, .en): return "Eligible but left out"
            }
        }
    }

    public let kind: Kind
    /// Line in the list file; nil for people missing from it.
    public let line: Int?
    public let householdID: String
    public let memberID: String
    public let program: String
    public let priority: String
    public let reason: String

    public init(kind: Kind, line: Int?, householdID: String, memberID: String, program: String, priority: String = "", reason: String) {
        self.kind = kind
        self.line = line
        self.householdID = householdID
        self.memberID = memberID
        self.program = program
        self.priority = priority
        self.reason = reason
    }
}

/// Per programme: how many are eligible in the survey, how many are listed, how many listed are eligible.
public struct ListProgrammeCount: Sendable, Equatable {
    public let program: String
    public let eligible: Int
    public let listed: Int
    public let listedEligible: Int
    public init(program: String, eligible: Int, listed: Int, listedEligible: Int) {
        self.program = program
        self.eligible = eligible
        self.listed = listed
        self.listedEligible = listedEligible
    }
}

/// The whole outcome of checking a list against a survey.
public struct ListCheckResult: Sendable {
    public let listPath: String
    public let rows: Int
    public let programmes: [ListProgrammeCount]
    /// List rows first (in line order), then people left out (in survey order).
    public let findings: [ListFinding]
    public var isClean: Bool { findings.isEmpty }

    public init(listPath: String, rows: Int, programmes: [ListProgrammeCount], findings: [ListFinding]) {
        self.listPath = listPath
        self.rows = rows
        self.programmes = programmes
        self.findings = findings
    }

    public func count(_ kind: ListFinding.Kind) -> Int { findings.filter { $0.kind == kind }.count }
}

/// Renders a list check as readable text, CSV, JSON or Markdown. Bytes depend only on the result.
public enum ListCheckReport {
    public enum Format: String, Sendable, CaseIterable { case text, csv, json, markdown }

    public static let csvColumns = ["kind", "line", "household_id", "member_id", "program", "priority", "reason"]

    public static func render(_ r: ListCheckResult, format: Format, language: Language) -> String {
        switch format {
        case .text: return text(r, language)
        case .csv: return csv(r)
        case .json: return json(r)
        case .markdown: return markdown(r, language)
        }
    }

    static func person(_ f: ListFinding) -> String {
        f.memberID.isEmpty ? f.householdID : f.householdID + "/" + f.memberID
    }

    static func summary(_ r: ListCheckResult, _ l: Language) -> [String] {
        var lines: [String] = []
        let progs = r.programmes.map(\.program).joined(separator: ", ")
        switch l {
        case .vi:
            lines.append("Danh sách: \(r.listPath) (\(r.rows) dòng); chương trình kiểm tra: \(progs.isEmpty ? "không có" : progs)")
            for p in r.programmes {
                lines.append("  \(p.program): \(p.eligible) người đủ điều kiện trong khảo sát, \(p.listed) trong danh sách, \(p.listedEligible) trong số đó đủ điều kiện")
            }
            if r.isClean {
                lines.append("Danh sách hợp lệ: không phát hiện vấn đề nào.")
            } else {
                let parts = ListFinding.Kind.allCases.filter { r.count($0) > 0 }.map { "\($0.rawValue) \(r.count($0))" }
                lines.append("Phát hiện \(r.findings.count) vấn đề: \(parts.joined(separator: ", "))")
            }
        case .en:
            lines.append("List: \(r.listPath) (\(r.rows) rows); programmes checked: \(progs.isEmpty ? "none" : progs)")
            for p in r.programmes {
                lines.append("  \(p.program): \(p.eligible) eligible in the survey, \(p.listed) listed, \(p.listedEligible) of them eligible")
            }
            if r.isClean {
                lines.append("The list is clean: no problem found.")
            } else {
                let parts = ListFinding.Kind.allCases.filter { r.count($0) > 0 }.map { "\($0.rawValue) \(r.count($0))" }
                lines.append("Found \(r.findings.count) problems: \(parts.joined(separator: ", "))")
            }
        }
        return lines
    }

    static func text(_ r: ListCheckResult, _ l: Language) -> String {
        var lines = summary(r, l)
        let lineWord = l == .vi ? "dòng" : "line"
        for kind in ListFinding.Kind.allCases {
            let items = r.findings.filter { $0.kind == kind }
            guard !items.isEmpty else { continue }
            lines.append("")
            lines.append("\(kind.label(l)) (\(kind.rawValue), \(items.count)):")
            for f in items {
                let place = f.line.map { "\(lineWord) \($0): " } ?? ""
                let prog = f.program.isEmpty ? "" : " \(f.program)"
                let prio = f.priority.isEmpty ? "" : " [\(f.priority)]"
                lines.append("  \(place)\(person(f))\(prog)\(prio): \(f.reason)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func csv(_ r: ListCheckResult) -> String {
        var out = csvColumns.joined(separator: ",") + "\n"
        for f in r.findings {
            out += [f.kind.rawValue, f.line.map(String.init) ?? "", f.householdID, f.memberID, f.program, f.priority, f.reason]
                .map(CSVText.cell).joined(separator: ",") + "\n"
        }
        return out
    }

    static func json(_ r: ListCheckResult) -> String {
        var o = JSONObject()
        o.add("list", .string(r.listPath))
        o.add("rows", .int(r.rows))
        o.add("clean", .bool(r.isClean))
        o.add("programmes", .array(r.programmes.map { p in
            var po = JSONObject()
            po.add("program", .string(p.program))
            po.add("eligible", .int(p.eligible))
            po.add("listed", .int(p.listed))
            po.add("listed_eligible", .int(p.listedEligible))
            return .object(po)
        }))
        var counts = JSONObject()
        for k in ListFinding.Kind.allCases { counts.add(k.rawValue, .int(r.count(k))) }
        o.add("counts", .object(counts))
        o.add("findings", .array(r.findings.map { f in
            var fo = JSONObject()
            fo.add("kind", .string(f.kind.rawValue))
            fo.add("line", f.line.map { .int($0) } ?? .null)
            fo.add("household_id", .string(f.householdID))
            fo.add("member_id", .string(f.memberID))
            fo.add("program", .string(f.program))
            fo.add("priority", .string(f.priority))
            fo.add("reason", .string(f.reason))
            return .object(fo)
        }))
        return JSONValue.object(o).text + "\n"
    }

    static func markdown(_ r: ListCheckResult, _ l: Language) -> String {
        func cell(_ s: String) -> String {
            var out = ""
            for c in s { if c == "|" { out += "\\|" } else if c == "\n" { out += " " } else { out.append(c) } }
            return out
        }
        var lines: [String] = [l == .vi ? "# Kiểm tra danh sách thụ hưởng" : "# Beneficiary list check", ""]
        for s in summary(r, l) {
            if s.hasPrefix("  ") {
                lines.append("- " + s.dropFirst(2))
            } else {
                if lines.last?.hasPrefix("- ") == true { lines.append("") }
                lines.append(s)
                lines.append("")
            }
        }
        let head = l == .vi ? "| dòng | hộ | thành viên | chương trình | ưu tiên | lý do |" : "| line | household | member | programme | priority | reason |"
        for kind in ListFinding.Kind.allCases {
            let items = r.findings.filter { $0.kind == kind }
            guard !items.isEmpty else { continue }
            lines.append("## \(kind.label(l)) (`\(kind.rawValue)`, \(items.count))")
            lines.append("")
            lines.append(head)
            lines.append("|---|---|---|---|---|---|")
            for f in items {
                lines.append("| \(f.line.map(String.init) ?? "") | \(cell(f.householdID)) | \(cell(f.memberID)) | \(cell(f.program)) | \(cell(f.priority)) | \(cell(f.reason)) |")
            }
            lines.append("")
        }
        while lines.last == "" { lines.removeLast() }
        return lines.joined(separator: "\n") + "\n"
    }
}
