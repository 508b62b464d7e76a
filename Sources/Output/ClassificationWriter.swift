import CEL
import Engine
import RuleModel

/// Writes classification results in the contract's CSV or JSONL (data-contract.md §2), one
/// household a row, in input order. Bytes depend only on the results, so runs are reproducible.
public struct ClassificationWriter {
    public enum Format: String, Sendable, CaseIterable { case csv, jsonl }

    public let format: Format
    /// Indicator columns, from the rule set of the first household (the contract's order).
    public private(set) var indicatorIDs: [String]?
    public private(set) var mismatchedRuleSets: Set<String> = []

    public init(format: Format) {
        self.format = format
    }

    /// The header line (CSV only), once the first result fixes the indicator columns.
    public mutating func header(for first: HouseholdResult) -> String? {
        indicatorIDs = first.rules.ruleSet.indicators.map(\.id)
        guard format == .csv else { return nil }
        var cols = ["household_id", "village", "area", "status", "deprivation_count", "income_below_line"]
        cols += indicatorIDs!.map { "d_" + $0 }
        cols += ["newly_escaped", "ruleset"]
        return cols.joined(separator: ",") + "\n"
    }

    /// The rule set whose indicator order was last matched against the columns, with the
    /// indicator index of each column (-1: the rule set has no such indicator).
    private var columnsOf: (rules: ObjectIdentifier, indicators: [Int], reference: [UInt8])?

    /// Appends the row of `r` to `out` as bytes: the same bytes as `row`, without building
    /// strings (the streaming path of `povrules classify`).
    public mutating func appendRow(_ r: HouseholdResult, to out: inout [UInt8]) {
        guard format == .csv else {
            out.append(contentsOf: row(r).utf8)
            return
        }
        if indicatorIDs == nil { _ = header(for: r) }
        let key = ObjectIdentifier(r.rules)
        if columnsOf?.rules != key {
            let own = r.rules.ruleSet.indicators.map(\.id)
            if own != indicatorIDs! { mismatchedRuleSets.insert(r.rules.ruleSet.reference) }
            columnsOf = (key, indicatorIDs!.map { own.firstIndex(of: $0) ?? -1 },
                         Array(CSVText.cell(r.rules.ruleSet.reference).utf8))
        }
        let comma = UInt8(ascii: ","), zero = UInt8(ascii: "0"), one = UInt8(ascii: "1")
        CSVText.appendCell(r.householdID, to: &out)
        out.append(comma)
        CSVText.appendCell(r.village, to: &out)
        out.append(comma)
        CSVText.appendCell(r.area, to: &out)
        out.append(comma)
        CSVText.appendCell(r.status, to: &out)
        out.append(comma)
        CSVText.appendInt(r.deprivationCount, to: &out)
        out.append(comma)
        out.append(r.incomeBelowLine ? one : zero)
        let unknown = r.unknownIndicators
        for i in columnsOf!.indicators {
            out.append(comma)
            if i >= 0 && !(!unknown.isEmpty && unknown.contains(i)) { out.append(r.deprived[i] ? one : zero) }
        }
        out.append(comma)
        out.append(r.newlyEscaped ? one : zero)
        out.append(comma)
        out.append(contentsOf: columnsOf!.reference)
        out.append(10)
    }

    public mutating func row(_ r: HouseholdResult) -> String {
        if indicatorIDs == nil { _ = header(for: r) }
        let ids = indicatorIDs!
        let own = r.rules.ruleSet.indicators.map(\.id)
        if own != ids { mismatchedRuleSets.insert(r.rules.ruleSet.reference) }
        switch format {
        case .csv:
            var cells = [r.householdID, r.village, r.area, r.status, String(r.deprivationCount), r.incomeBelowLine ? "1" : "0"]
            for id in ids {
                if let i = own.firstIndex(of: id) {
                    cells.append(r.unknownIndicators.contains(i) ? "" : (r.deprived[i] ? "1" : "0"))
                } else {
                    cells.append("")
                }
            }
            cells.append(r.newlyEscaped ? "1" : "0")
            cells.append(r.rules.ruleSet.reference)
            return cells.map(CSVText.cell).joined(separator: ",") + "\n"
        case .jsonl:
            var o = JSONObject()
            o.add("household_id", .string(r.householdID))
            o.add("village", .string(r.village))
            o.add("area", .string(r.area))
            o.add("status", .string(r.status))
            o.add("deprivation_count", .int(r.deprivationCount))
            o.add("income_below_line", .int(r.incomeBelowLine ? 1 : 0))
            for (i, id) in own.enumerated() {
                o.add("d_" + id, r.unknownIndicators.contains(i) ? .null : .int(r.deprived[i] ? 1 : 0))
            }
            o.add("newly_escaped", .int(r.newlyEscaped ? 1 : 0))
            o.add("ruleset", .string(r.rules.ruleSet.reference))
            o.add("reference_date", .string(r.referenceDate.description))
            var reasons = JSONObject()
            for (i, id) in own.enumerated() where r.deprived[i] {
                var reason = JSONObject()
                reason.add("vi", .string(r.reasons[i][0]))
                reason.add("en", .string(r.reasons[i][1]))
                reason.add("members", .array(r.deprivedMembers[i].map(JSONValue.string)))
                reasons.add(id, .object(reason))
            }
            o.add("reasons", .object(reasons))
            return JSONValue.object(o).text + "\n"
        }
    }
}

/// RFC 4180 cells that are safe to open in a spreadsheet: a cell that starts like a formula
/// (`=`, `+`, `-`, `@`) and is not a number is prefixed with `'` so it stays text.
public enum CSVText {
    public static func cell(_ s: String) -> String {
        var text = s
        if let first = text.utf8.first, first == UInt8(ascii: "=") || first == UInt8(ascii: "+") || first == UInt8(ascii: "-") || first == UInt8(ascii: "@"),
           !isNumber(text) {
            text = "'" + text
        }
        if text.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 10 || $0 == 13 }) {
            return "\"" + text.replacingAll("\"", with: "\"\"") + "\""
        }
        return text
    }

    /// Appends `cell(s)` to `out`, copying the bytes straight when the text needs neither a
    /// formula guard nor quotes (almost always).
    public static func appendCell(_ s: String, to out: inout [UInt8]) {
        var s = s
        let plain = s.withUTF8 { b -> Bool in
            if let first = b.first, first == UInt8(ascii: "=") || first == UInt8(ascii: "+") || first == UInt8(ascii: "-") || first == UInt8(ascii: "@") {
                return false
            }
            for c in b where c == UInt8(ascii: ",") || c == UInt8(ascii: "\"") || c == 10 || c == 13 { return false }
            out.append(contentsOf: b)
            return true
        }
        if !plain { out.append(contentsOf: cell(s).utf8) }
    }

    /// Appends the decimal digits of `v`.
    public static func appendInt(_ v: Int, to out: inout [UInt8]) {
        if v >= 0 && v < 10 {
            out.append(UInt8(ascii: "0") + UInt8(v))
        } else {
            out.append(contentsOf: String(v).utf8)
        }
    }

    static func isNumber(_ s: String) -> Bool {
        var u = Substring(s)
        if u.first == "-" || u.first == "+" { u = u.dropFirst() }
        guard !u.isEmpty else { return false }
        var dot = false
        for c in u {
            if c == "." { if dot { return false }; dot = true } else if !c.isASCII || !c.isNumber { return false }
        }
        return true
    }
}

extension String {
    /// Replaces every `target` with `replacement`. An ASCII target is replaced byte by byte
    /// (what quoting a CSV cell asks for, and much cheaper than walking grapheme clusters: the
    /// reasons of an eligibility list are quoted sentences, one per person and programme).
    func replacingAll(_ target: Character, with replacement: String) -> String {
        guard let t = target.asciiValue else {
            var out = ""
            for c in self { if c == target { out += replacement } else { out.append(c) } }
            return out
        }
        guard utf8.contains(t) else { return self }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count + 16)
        let r = replacement.utf8
        for b in utf8 { if b == t { out.append(contentsOf: r) } else { out.append(b) } }
        return String(decoding: out, as: UTF8.self)
    }
}

/// A small ordered JSON builder: keys keep insertion order so output is deterministic.
public struct JSONObject: Sendable {
    public private(set) var pairs: [(String, JSONValue)] = []
    public init() {}
    public mutating func add(_ key: String, _ value: JSONValue) { pairs.append((key, value)) }
}

public indirect enum JSONValue: Sendable {
    case null, bool(Bool), int(Int), double(Double), string(String), array([JSONValue]), object(JSONObject)

    public var text: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d):
            if d.isFinite, d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) + ".0" }
            return d.isFinite ? String(d) : "null"
        case .string(let s): return JSONValue.quote(s)
        case .array(let items): return "[" + items.map(\.text).joined(separator: ",") + "]"
        case .object(let o): return "{" + o.pairs.map { JSONValue.quote($0.0) + ":" + $0.1.text }.joined(separator: ",") + "}"
        }
    }

    /// One JSON string escape for every output: the expression language's.
    public static func quote(_ s: String) -> String { CELJSON.quoteJSON(s) }
}
