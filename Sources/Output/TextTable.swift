import Engine
import RuleModel

/// Output formats of the aggregate commands (`report`, `targets`).
public enum ReportFormat: String, Sendable, CaseIterable {
    case table, csv, json, markdown
}

/// A titled table rendered aligned for a terminal or as a Markdown pipe table. Widths count
/// characters (grapheme clusters), so Vietnamese text with diacritics aligns.
public struct TextTable: Sendable {
    public var title: String
    public var headers: [String]
    public var rows: [[String]]
    /// Columns aligned left (text); the others align right (numbers).
    public var leftColumns: Set<Int>

    public init(title: String, headers: [String], rows: [[String]] = [], leftColumns: Set<Int> = [0]) {
        self.title = title
        self.headers = headers
        self.rows = rows
        self.leftColumns = leftColumns
    }

    public func terminal() -> String {
        var widths = headers.map(\.count)
        for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for (i, w) in widths.enumerated() {
                let c = i < cells.count ? cells[i] : ""
                let pad = String(repeating: " ", count: max(0, w - c.count))
                parts.append(leftColumns.contains(i) ? c + pad : pad + c)
            }
            var s = parts.joined(separator: "  ")
            while s.last == " " { s.removeLast() }
            return s
        }
        var out = title + "\n"
        out += line(headers) + "\n"
        out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
        for r in rows { out += line(r) + "\n" }
        return out + "\n"
    }

    public func markdown() -> String {
        func esc(_ s: String) -> String { s.replacingAll("|", with: "\\|") }
        var out = "### " + title + "\n\n"
        out += "| " + headers.map(esc).joined(separator: " | ") + " |\n"
        out += "|" + headers.indices.map { leftColumns.contains($0) ? "---|" : "---:|" }.joined() + "\n"
        for r in rows { out += "| " + r.map(esc).joined(separator: " | ") + " |\n" }
        return out + "\n"
    }
}

/// Number texts: for people in their language, and for machines (CSV, JSON) in a fixed form.
enum Num {
    static func percent(_ v: Double?, _ lang: Language) -> String {
        guard let v else { return "—" }
        return NumberFormat.decimal(v * 100, lang, fractionDigits: 2) + "%"
    }
    static func count(_ v: Int, _ lang: Language) -> String { NumberFormat.integer(Int64(v), lang) }
    static func amount(_ v: Double, _ lang: Language) -> String { NumberFormat.decimal(v, lang, fractionDigits: 2) }
    static func ratio(_ v: Double?, _ lang: Language) -> String {
        guard let v else { return "—" }
        return NumberFormat.decimal(v, lang, fractionDigits: 4)
    }
    /// Up to 6 decimals, no exponent, '.' as the decimal point.
    static func machine(_ v: Double) -> String {
        guard v.isFinite else { return "" }
        let r = (v * 1_000_000).rounded() / 1_000_000
        if r == r.rounded(), abs(r) < 1e15 { return String(Int64(r)) }
        var s = NumberFormat.decimal(r, .en, fractionDigits: 6)
        s = s.replacingAll(",", with: "")
        return s
    }
    static func json(_ v: Double?) -> JSONValue {
        guard let v, v.isFinite else { return .null }
        let r = (v * 1_000_000).rounded() / 1_000_000
        return .double(r)
    }
}

/// Bilingual labels of the aggregate outputs.
struct L {
    let lang: Language
    func callAsFunction(_ vi: String, _ en: String) -> String { lang == .vi ? vi : en }
}
