import Foundation

/// Renders a diff report as plain text (terminals, CI logs), Markdown (a pull-request comment) or
/// JSON (other tools).
public enum DiffFormat: String, Sendable, CaseIterable {
    case text, markdown, json
}

extension DiffReport {
    /// Classes with a household on either side, in display order.
    public var shownClasses: [String] {
        classes.filter { baseCount($0) > 0 || headCount($0) > 0 }
    }

    public func render(_ format: DiffFormat) -> String {
        switch format {
        case .text: return text()
        case .markdown: return markdown()
        case .json: return json()
        }
    }

    static func signed(_ n: Int) -> String { n > 0 ? "+\(n)" : String(n) }

    var sidesLine: (base: String, head: String) {
        func side(_ label: String, _ sets: [String], _ asOf: String?) -> String {
            "\(label) (\(sets.isEmpty ? "no household classified" : sets.joined(separator: ", "))\(asOf.map { ", as of \($0)" } ?? ""))"
        }
        return (side(baseLabel, baseRuleSets, baseAsOf), side(headLabel, headRuleSets, headAsOf))
    }

    var headline: String {
        if changed == 0 { return "No household changes: \(households) households compared." }
        return "\(changed) of \(households) households change; \(statusChanged) change class."
    }

    // MARK: text

    func text() -> String {
        var out: [String] = []
        out.append("base: \(sidesLine.base)")
        out.append("head: \(sidesLine.head)")
        out.append("surveys: \(surveys.joined(separator: ", "))")
        out.append(headline)
        out.append("")
        let cls = shownClasses
        out.append("Class transitions (rows: base, columns: head):")
        var rows: [[String]] = [["base \\ head"] + cls + ["total"]]
        for a in cls { rows.append([a] + cls.map { String(transition(a, $0)) } + [String(baseCount(a))]) }
        rows.append(["total"] + cls.map { String(headCount($0)) } + [String(households)])
        rows.append(["change"] + cls.map { Self.signed(headCount($0) - baseCount($0)) } + [""])
        out.append(contentsOf: Self.table(rows).map { "  " + $0 })
        out.append("")
        out.append("Indicators (households deprived):")
        var irows: [[String]] = [["indicator", "base", "head", "gained", "lost", "net"]]
        for i in indicators {
            irows.append([i.id + (i.presence == "both" ? "" : " (\(i.presence))"), String(i.baseDeprived), String(i.headDeprived),
                          String(i.gained), String(i.lost), Self.signed(i.net)])
        }
        out.append(contentsOf: Self.table(irows).map { "  " + $0 })
        out.append("")
        out.append("Income test: \(incomeTestGained) households newly at or below the line, \(incomeTestLost) newly above it.")
        out.append("Newly escaped: \(newlyEscapedGained) gained, \(newlyEscapedLost) lost.")
        for p in programmes { out.append("Programme \(p.id): eligibility gained \(p.gained), lost \(p.lost).") }
        if !sample.isEmpty {
            out.append("")
            out.append("Sample of changed households (\(sample.count) of \(changed)):")
            for s in sample {
                out.append("")
                out.append("== \(s.householdID) (\(s.village); \(s.survey)): \(s.baseStatus) -> \(s.headStatus)" + changeNote(s))
                out.append("-- before (base):")
                out.append(s.baseExplanation.trimmedTrailingNewlines)
                out.append("-- after (head):")
                out.append(s.headExplanation.trimmedTrailingNewlines)
            }
        }
        return out.joined(separator: "\n") + "\n"
    }

    func changeNote(_ s: ChangedHousehold) -> String {
        var parts: [String] = []
        if !s.gainedIndicators.isEmpty { parts.append("newly deprived: " + s.gainedIndicators.joined(separator: ", ")) }
        if !s.lostIndicators.isEmpty { parts.append("no longer deprived: " + s.lostIndicators.joined(separator: ", ")) }
        return parts.isEmpty ? "" : "; " + parts.joined(separator: "; ")
    }

    static func table(_ rows: [[String]]) -> [String] {
        guard let n = rows.first?.count else { return [] }
        var widths = [Int](repeating: 0, count: n)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        return rows.map { r in
            r.enumerated().map { i, c in
                let pad = String(repeating: " ", count: widths[i] - c.count)
                return i == 0 ? c + pad : pad + c
            }.joined(separator: "  ")
        }
    }

    // MARK: markdown

    func markdown() -> String {
        var out: [String] = []
        out.append("## povrules diff: what this rule change does to households")
        out.append("")
        out.append("- **base:** \(Self.code(sidesLine.base))")
        out.append("- **head:** \(Self.code(sidesLine.head))")
        out.append("- **surveys:** \(surveys.map(Self.code).joined(separator: ", "))")
        out.append("")
        out.append("**\(headline)**")
        out.append("")
        let cls = shownClasses
        out.append("### Class transitions")
        out.append("")
        out.append("Rows: class under base; columns: class under head. Off the diagonal, households change class.")
        out.append("")
        out.append("| base \\ head | " + cls.map { "`\($0)`" }.joined(separator: " | ") + " | base total |")
        out.append("|---|" + cls.map { _ in "---:|" }.joined() + "---:|")
        for a in cls {
            let cells = cls.map { b -> String in
                let n = transition(a, b)
                return a != b && n > 0 ? "**\(n)**" : String(n)
            }
            out.append("| `\(a)` | " + cells.joined(separator: " | ") + " | \(baseCount(a)) |")
        }
        out.append("| **head total** | " + cls.map { String(headCount($0)) }.joined(separator: " | ") + " | \(households) |")
        out.append("| **change** | " + cls.map { Self.signed(headCount($0) - baseCount($0)) }.joined(separator: " | ") + " | |")
        out.append("")
        out.append("### Indicators")
        out.append("")
        out.append("| indicator | base deprived | head deprived | newly deprived | no longer deprived | net |")
        out.append("|---|---:|---:|---:|---:|---:|")
        for i in indicators {
            let name = "`\(i.id)`" + (i.presence == "both" ? "" : " (\(i.presence))")
            let net = i.net == 0 ? "0" : "**\(Self.signed(i.net))**"
            out.append("| \(name) | \(i.baseDeprived) | \(i.headDeprived) | \(i.gained) | \(i.lost) | \(net) |")
        }
        out.append("")
        out.append("- Income test: \(incomeTestGained) households newly at or below the line, \(incomeTestLost) newly above it.")
        out.append("- Newly escaped: \(newlyEscapedGained) gained, \(newlyEscapedLost) lost.")
        for p in programmes { out.append("- Programme `\(p.id)`: eligibility gained by \(p.gained), lost by \(p.lost).") }
        if !sample.isEmpty {
            out.append("")
            out.append("### Sample of changed households (\(sample.count) of \(changed))")
            out.append("")
            for s in sample {
                out.append("<details><summary><code>\(Self.html(s.householdID))</code> (\(Self.html(s.village))): <b>\(Self.html(s.baseStatus)) → \(Self.html(s.headStatus))</b>\(Self.html(changeNote(s)))</summary>")
                out.append("")
                out.append("Before (base):")
                out.append("")
                out.append("```text")
                out.append(s.baseExplanation.trimmedTrailingNewlines)
                out.append("```")
                out.append("")
                out.append("After (head):")
                out.append("")
                out.append("```text")
                out.append(s.headExplanation.trimmedTrailingNewlines)
                out.append("```")
                out.append("")
                out.append("</details>")
                out.append("")
            }
        }
        return out.joined(separator: "\n") + "\n"
    }

    static func code(_ s: String) -> String { "`" + s.replacingAll("`", "'") + "`" }
    static func html(_ s: String) -> String {
        s.replacingAll("&", "&amp;").replacingAll("<", "&lt;").replacingAll(">", "&gt;")
    }

    // MARK: json

    func json() -> String {
        var o = JSONOut()
        o.open("{")
        o.key("base"); o.open("{")
        o.field("rules", baseLabel); o.key("rule_sets"); o.strings(baseRuleSets); o.field("as_of", baseAsOf)
        o.close("}")
        o.key("head"); o.open("{")
        o.field("rules", headLabel); o.key("rule_sets"); o.strings(headRuleSets); o.field("as_of", headAsOf)
        o.close("}")
        o.key("surveys"); o.strings(surveys)
        o.field("households", households)
        o.field("changed", changed)
        o.field("class_changed", statusChanged)
        o.key("classes"); o.open("[")
        for c in shownClasses {
            o.open("{")
            o.field("id", c); o.field("base", baseCount(c)); o.field("head", headCount(c)); o.field("change", headCount(c) - baseCount(c))
            o.close("}")
        }
        o.close("]")
        o.key("transitions"); o.open("[")
        for a in shownClasses { for b in shownClasses where transition(a, b) > 0 {
            o.open("{"); o.field("base", a); o.field("head", b); o.field("households", transition(a, b)); o.close("}")
        } }
        o.close("]")
        o.key("indicators"); o.open("[")
        for i in indicators {
            o.open("{")
            o.field("id", i.id); o.field("presence", i.presence); o.field("base", i.baseDeprived); o.field("head", i.headDeprived)
            o.field("gained", i.gained); o.field("lost", i.lost); o.field("net", i.net)
            o.close("}")
        }
        o.close("]")
        o.key("income_below_line"); o.open("{"); o.field("gained", incomeTestGained); o.field("lost", incomeTestLost); o.close("}")
        o.key("newly_escaped"); o.open("{"); o.field("gained", newlyEscapedGained); o.field("lost", newlyEscapedLost); o.close("}")
        o.key("programmes"); o.open("[")
        for p in programmes { o.open("{"); o.field("id", p.id); o.field("gained", p.gained); o.field("lost", p.lost); o.close("}") }
        o.close("]")
        o.key("sample"); o.open("[")
        for s in sample {
            o.open("{")
            o.field("survey", s.survey); o.field("household_id", s.householdID); o.field("village", s.village)
            o.field("base_status", s.baseStatus); o.field("head_status", s.headStatus)
            o.key("newly_deprived"); o.strings(s.gainedIndicators)
            o.key("no_longer_deprived"); o.strings(s.lostIndicators)
            o.field("base_explanation", s.baseExplanation); o.field("head_explanation", s.headExplanation)
            o.close("}")
        }
        o.close("]")
        o.close("}")
        return o.text + "\n"
    }
}

/// A small JSON writer with stable key order, so reports are byte-identical between runs.
struct JSONOut {
    var text = ""
    var needComma = [false]
    var afterKey = false

    mutating func sep() {
        if afterKey { afterKey = false; return }
        if needComma[needComma.count - 1] { text += "," }
        needComma[needComma.count - 1] = true
    }
    mutating func open(_ b: String) { sep(); text += b; needComma.append(false) }
    mutating func close(_ b: String) { needComma.removeLast(); text += b }
    mutating func key(_ k: String) { sep(); text += Self.quote(k) + ":"; afterKey = true }
    mutating func field(_ k: String, _ v: String?) { key(k); sep(); text += v.map(Self.quote) ?? "null" }
    mutating func field(_ k: String, _ v: Int) { key(k); sep(); text += String(v) }
    mutating func strings(_ v: [String]) { sep(); text += "[" + v.map(Self.quote).joined(separator: ",") + "]" }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}

extension String {
    var trimmedTrailingNewlines: String {
        var s = self
        while s.hasSuffix("\n") { s.removeLast() }
        return s
    }

    func replacingAll(_ a: String, _ b: String) -> String {
        replacingOccurrences(of: a, with: b)
    }
}
