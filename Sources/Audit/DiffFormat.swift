import Foundation
import Output

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
        out.append("")
        out.append(contentsOf: programmesText())
        if let t = targets {
            out.append("")
            out.append(contentsOf: targetsText(t))
        }
        if !sample.isEmpty {
            out.append("")
            out.append("Sample of changed households (\(sample.count) of \(changed)):")
            for s in sample {
                out.append("")
                out.append("== \(s.householdID) (\(s.village); \(s.survey)): \(s.baseStatus) -> \(s.headStatus)" + changeNote(s))
                if !s.eligibility.isEmpty {
                    out.append("-- programme eligibility:")
                    for e in s.eligibility {
                        out.append("   \(e.program), \(e.unit): \(e.kind)")
                        out.append("     before: \(e.before)")
                        out.append("     after:  \(e.after)")
                    }
                }
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
        if !s.eligibilityGained.isEmpty { parts.append("eligibility gained: " + s.eligibilityGained.joined(separator: ", ")) }
        if !s.eligibilityLost.isEmpty { parts.append("eligibility lost: " + s.eligibilityLost.joined(separator: ", ")) }
        let otherwise = Self.programmesOf(s.eligibility.filter { $0.kind == "changed" })
        if !otherwise.isEmpty { parts.append("priority or band changed: " + otherwise.joined(separator: ", ")) }
        let baseOnly = Self.programmesOf(s.eligibility.filter { $0.kind == "base only" })
        if !baseOnly.isEmpty { parts.append("eligible under base for programmes the head rules do not declare: " + baseOnly.joined(separator: ", ")) }
        let headOnly = Self.programmesOf(s.eligibility.filter { $0.kind == "head only" })
        if !headOnly.isEmpty { parts.append("eligible under head for programmes the base rules do not declare: " + headOnly.joined(separator: ", ")) }
        return parts.isEmpty ? "" : "; " + parts.joined(separator: "; ")
    }

    static func programmesOf(_ list: [EligibilityChange]) -> [String] { ChangedHousehold.programmes(list) }

    // MARK: programmes and targets, shared

    /// Why the programme table is the way it is, when a side declares no programme or a
    /// programme only one side declares; nil when there is nothing to explain.
    var programmesNote: String? {
        let bSets = baseRuleSets.isEmpty ? "base" : baseRuleSets.joined(separator: ", ")
        let hSets = headRuleSets.isEmpty ? "head" : headRuleSets.joined(separator: ", ")
        if !baseHasProgrammes && !headHasProgrammes { return nil }
        if baseHasProgrammes && !headHasProgrammes {
            return "The head rules (\(hSets)) declare no programmes, so eligibility cannot be compared: nobody is found ineligible by a head rule, there is simply no programme to be eligible for. The base figures are shown for reference; whether these people keep their support is decided outside these rules."
        }
        if !baseHasProgrammes && headHasProgrammes {
            return "The base rules (\(bSets)) declare no programmes, so eligibility cannot be compared: the head figures are shown for reference."
        }
        let one = programmes.filter { $0.presence != "both" }.map(\.id)
        if one.isEmpty { return nil }
        return "Declared by one side only: \(one.joined(separator: ", ")); their eligibility is shown for that side and not compared."
    }

    static func programmeCells(_ p: ProgrammeChange) -> [String] {
        let both = p.presence == "both"
        return [p.presence == "head only" ? "—" : String(p.baseEligible),
                p.presence == "base only" ? "—" : String(p.headEligible),
                both ? String(p.gained) : "—", both ? String(p.lost) : "—", both ? signed(p.net) : "—",
                both ? "\(p.priorityChanged) / \(p.bandChanged)" : "—"]
    }

    func programmesText() -> [String] {
        var out: [String] = []
        if programmes.isEmpty {
            out.append("Programme eligibility: neither side's rules declare a programme.")
            return out
        }
        out.append("Programme eligibility (people; households for a household-level programme):")
        var rows: [[String]] = [["programme", "counts", "base", "head", "gained", "lost", "net", "priority/band changed"]]
        for p in programmes {
            rows.append([p.id + (p.presence == "both" ? "" : " (\(p.presence))"), p.unit] + Self.programmeCells(p))
        }
        out.append(contentsOf: Self.table(rows).map { "  " + $0 })
        if let note = programmesNote { out.append("  Note: " + note) }
        return out
    }

    static func number(_ v: Double?) -> String {
        guard let v else { return "—" }
        return v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(format: "%.2f", v)
    }

    static func rate(_ v: Double?, goalKind: String) -> String {
        guard let v else { return "—" }
        if goalKind == "reduce_by" || goalKind == "reduce_rate_by" { return String(format: "%.2f pp", v * 100) }
        return String(format: "%.1f%%", v * 100)
    }

    static func verdict(_ f: TargetFigures) -> String {
        if f.state == "not_measurable" { return "not measurable" }
        let v = verdictWord(f.met)
        return f.state == "reported" ? v + " (reported)" : v
    }

    static func verdictWord(_ m: Bool?) -> String {
        switch m {
        case true?: return "met"
        case false?: return "missed"
        case nil: return "—"
        }
    }

    /// Before → after when they differ, the value once otherwise.
    static func beforeAfter(_ a: String, _ b: String, bold: Bool = false) -> String {
        if a == b { return a }
        return bold ? "**\(a) → \(b)**" : "\(a) → \(b)"
    }

    static func targetCells(_ c: TargetChange, bold: Bool) -> [String] {
        [beforeAfter(number(c.base.numerator), number(c.head.numerator), bold: bold),
         beforeAfter(number(c.base.denominator), number(c.head.denominator), bold: bold),
         beforeAfter(rate(c.base.rate, goalKind: c.goalKind), rate(c.head.rate, goalKind: c.goalKind), bold: bold),
         beforeAfter(verdict(c.base), verdict(c.head), bold: bold)]
    }

    func targetsHeadline(_ t: TargetsDiff) -> String {
        guard t.compared else { return "The targets cannot be compared." }
        let counted = "measured over \(t.baseCounted) households under base and \(t.headCounted) under head"
        if t.changes.isEmpty { return "No target result changes (\(t.targets) targets, \(counted))." }
        return "\(t.changes.count) of \(t.targets) targets change (\(counted))."
    }

    func targetNotes(_ t: TargetsDiff) -> [String] {
        var out: [String] = []
        let year = t.year.map(String.init) ?? "the plan's year"
        if let p = t.baseProblem { out.append("Not measured under base: " + p) }
        if let p = t.headProblem { out.append("Not measured under head: " + p) }
        if t.baseProblem == nil && t.baseOutside > 0 {
            out.append("\(t.baseOutside) households classified under base fall under a rule set not in force in \(year) and are not counted.")
        }
        if t.headProblem == nil && t.headOutside > 0 {
            out.append("\(t.headOutside) households classified under head fall under a rule set not in force in \(year) and are not counted.")
        }
        return out
    }

    func targetsText(_ t: TargetsDiff) -> [String] {
        var out: [String] = ["Plan targets (\(t.planID), \(t.planFile)): " + targetsHeadline(t)]
        for n in targetNotes(t) { out.append("  " + n.replacingAll("\n", "\n    ")) }
        if !t.changes.isEmpty {
            var rows: [[String]] = [["target", "numerator", "denominator", "rate", "result"]]
            for c in t.changes { rows.append([c.id] + Self.targetCells(c, bold: false)) }
            out.append(contentsOf: Self.table(rows).map { "  " + $0 })
        }
        return out
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
        out.append("")
        out.append("### Programme eligibility")
        out.append("")
        if programmes.isEmpty {
            out.append("Neither side's rules declare a programme.")
        } else {
            if let note = programmesNote {
                out.append("> **Note:** " + note)
                out.append("")
            }
            out.append("People eligible (households, for a household-level programme); gained: not eligible under base, eligible under head.")
            out.append("")
            out.append("| programme | counts | base eligible | head eligible | gained | lost | net | priority / band changed |")
            out.append("|---|---|---:|---:|---:|---:|---:|---:|")
            for p in programmes {
                var cells = Self.programmeCells(p)
                if p.presence == "both" {
                    if p.gained > 0 { cells[2] = "**\(cells[2])**" }
                    if p.lost > 0 { cells[3] = "**\(cells[3])**" }
                    if p.net != 0 { cells[4] = "**\(cells[4])**" }
                } else {
                    cells[p.presence == "base only" ? 1 : 0] = "not declared"
                }
                let name = "`\(p.id)` \(Self.html(p.title))"
                out.append("| \(name) | \(p.unit) | " + cells.joined(separator: " | ") + " |")
            }
        }
        if let t = targets {
            out.append("")
            out.append("### Plan targets")
            out.append("")
            out.append("Plan \(Self.code(t.planID)) (\(Self.code(t.planFile))): **\(targetsHeadline(t))**")
            let notes = targetNotes(t)
            if !notes.isEmpty {
                out.append("")
                for n in notes {
                    let lines = n.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                    if lines.count == 1 {
                        out.append("- " + Self.html(n))
                    } else {
                        out.append("- " + Self.html(lines[0]))
                        out.append("")
                        out.append("  ```text")
                        for l in lines.dropFirst() { out.append("  " + l) }
                        out.append("  ```")
                    }
                }
            }
            if !t.changes.isEmpty {
                out.append("")
                out.append("| target | numerator | denominator | rate | result |")
                out.append("|---|---:|---:|---:|---|")
                for c in t.changes {
                    out.append("| `\(c.id)` \(Self.html(c.label)) | " + Self.targetCells(c, bold: true).joined(separator: " | ") + " |")
                }
            }
        }
        if !sample.isEmpty {
            out.append("")
            out.append("### Sample of changed households (\(sample.count) of \(changed))")
            out.append("")
            for s in sample {
                out.append("<details><summary><code>\(Self.html(s.householdID))</code> (\(Self.html(s.village))): <b>\(Self.html(s.baseStatus)) → \(Self.html(s.headStatus))</b>\(Self.html(changeNote(s)))</summary>")
                out.append("")
                if !s.eligibility.isEmpty {
                    out.append("Programme eligibility:")
                    out.append("")
                    for e in s.eligibility {
                        out.append("- `\(e.program)`, \(e.unit): **\(e.kind)**. Before: \(Self.html(e.before)). After: \(Self.html(e.after)).")
                    }
                    out.append("")
                }
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
        for p in programmes {
            o.open("{")
            o.field("id", p.id); o.field("level", p.level); o.field("presence", p.presence)
            o.field("base", p.baseEligible); o.field("head", p.headEligible)
            o.field("gained", p.gained); o.field("lost", p.lost); o.field("net", p.net)
            o.field("priority_changed", p.priorityChanged); o.field("band_changed", p.bandChanged)
            o.close("}")
        }
        o.close("]")
        o.field("base_has_programmes", baseHasProgrammes)
        o.field("head_has_programmes", headHasProgrammes)
        o.field("programmes_note", programmesNote)
        if let t = targets {
            o.key("targets"); o.open("{")
            o.field("plan", t.planID); o.field("file", t.planFile)
            o.key("year"); o.raw(t.year.map(String.init) ?? "null")
            o.field("targets", t.targets)
            o.field("compared", t.compared)
            o.field("base_problem", t.baseProblem); o.field("head_problem", t.headProblem)
            o.field("base_counted", t.baseCounted); o.field("head_counted", t.headCounted)
            o.field("base_outside_plan_year", t.baseOutside); o.field("head_outside_plan_year", t.headOutside)
            o.key("changes"); o.open("[")
            for c in t.changes {
                o.open("{")
                o.field("id", c.id); o.field("label", c.label); o.field("goal", c.goalKind)
                o.key("changed"); o.strings(c.changedFields)
                for (name, f) in [("base", c.base), ("head", c.head)] {
                    o.key(name); o.open("{")
                    o.field("state", f.state)
                    o.key("numerator"); o.raw(Self.jsonNumber(f.numerator))
                    o.key("denominator"); o.raw(Self.jsonNumber(f.denominator))
                    o.key("rate"); o.raw(Self.jsonNumber(f.rate))
                    o.key("met"); o.raw(f.met.map { $0 ? "true" : "false" } ?? "null")
                    o.close("}")
                }
                o.close("}")
            }
            o.close("]")
            o.close("}")
        }
        o.key("sample"); o.open("[")
        for s in sample {
            o.open("{")
            o.field("survey", s.survey); o.field("household_id", s.householdID); o.field("village", s.village)
            o.field("base_status", s.baseStatus); o.field("head_status", s.headStatus)
            o.key("newly_deprived"); o.strings(s.gainedIndicators)
            o.key("no_longer_deprived"); o.strings(s.lostIndicators)
            o.key("eligibility"); o.open("[")
            for e in s.eligibility {
                o.open("{")
                o.field("program", e.program); o.field("member_id", e.memberID); o.field("change", e.kind)
                o.field("before", e.before); o.field("after", e.after)
                o.close("}")
            }
            o.close("]")
            o.field("base_explanation", s.baseExplanation); o.field("head_explanation", s.headExplanation)
            o.close("}")
        }
        o.close("]")
        o.close("}")
        return o.text + "\n"
    }

    /// A JSON number: integers without a fraction, others with up to 6 decimals (stable text).
    static func jsonNumber(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "null" }
        if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
        var t = String(format: "%.6f", v)
        while t.hasSuffix("0") { t.removeLast() }
        return t
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
    mutating func field(_ k: String, _ v: Bool) { key(k); sep(); text += v ? "true" : "false" }
    mutating func raw(_ v: String) { sep(); text += v }
    mutating func strings(_ v: [String]) { sep(); text += "[" + v.map(Self.quote).joined(separator: ",") + "]" }

    static func quote(_ s: String) -> String { JSONValue.quote(s) }
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
