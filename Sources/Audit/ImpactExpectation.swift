import Diagnostics
import Foundation

/// The impact a rule change is declared to have, checked against a diff (`povrules diff --expect`).
///
/// One bound per line or per `;`, `#` starts a comment:
///
///     poor: -40..-20            # net change in poor households (head − base)
///     near_poor: 0..+50
///     poor->near_poor: 10..30   # households moving from one class to another
///     d_water: +5..             # net change in households deprived on indicator 'water'
///     income_below_line: 0      # net change in households at or below the income line
///     newly_escaped: ..0
///     changed: ..100            # households that change at all
///     P2: -10..0                # net change in people eligible for programme P2
///     P3.2.gained: 0..5         # people not eligible under base, eligible under head
///     P3.2.lost: ..3            # people eligible under base, not under head
///     nothing else              # every quantity not named above must not change
///
/// A plain name is a class when one of the rule sets has that class, else a programme; `ID.net`
/// always names programme ID's net change.
///
/// A bound is `LO..HI`, `LO..`, `..HI`, a single number, or `any` (allowed to change freely, which
/// matters under `nothing else`); numbers may carry a sign.
public struct ImpactExpectation: Sendable {
    public enum Quantity: Sendable, Hashable, CustomStringConvertible {
        case classNet(String)
        case transition(String, String)
        case indicatorNet(String)
        case incomeBelowLine
        case newlyEscaped
        case changed
        case classChanged
        /// People (households, for a household-level programme) eligible for a programme.
        case programme(String, ProgrammeMeasure)

        public var description: String {
            switch self {
            case .classNet(let c): return c
            case .transition(let a, let b): return "\(a)->\(b)"
            case .indicatorNet(let i): return "d_\(i)"
            case .incomeBelowLine: return "income_below_line"
            case .newlyEscaped: return "newly_escaped"
            case .changed: return "changed"
            case .classChanged: return "class_changed"
            case .programme(let p, .net): return p
            case .programme(let p, let m): return "\(p).\(m.rawValue)"
            }
        }

        /// The programme a quantity bounds, if any.
        public var programmeID: String? {
            if case .programme(let p, _) = self { return p }
            return nil
        }
    }

    public enum ProgrammeMeasure: String, Sendable, Hashable, CaseIterable {
        case net, gained, lost
    }

    public struct Bound: Sendable {
        public var quantity: Quantity
        public var low: Int?
        public var high: Int?
        public var location: SourceLocation

        public func contains(_ v: Int) -> Bool { (low.map { v >= $0 } ?? true) && (high.map { v <= $0 } ?? true) }

        public var rangeText: String {
            func s(_ n: Int) -> String { n > 0 ? "+\(n)" : String(n) }
            if let low, let high, low == high { return s(low) }
            return (low.map(s) ?? "") + ".." + (high.map(s) ?? "")
        }
    }

    public var bounds: [Bound]
    /// Where `nothing else` was written, when it was.
    public var nothingElse: SourceLocation?
    public var file: String

    public init(bounds: [Bound], nothingElse: SourceLocation?, file: String) {
        self.bounds = bounds
        self.nothingElse = nothingElse
        self.file = file
    }

    public static func load(_ path: String) throws(DiagnosticList) -> ImpactExpectation {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DiagnosticList([.error(at: nil, "\(path): cannot read the expectation file")])
        }
        return try parse(String(decoding: data, as: UTF8.self), file: path)
    }

    public static func parse(_ text: String, file: String) throws(DiagnosticList) -> ImpactExpectation {
        var bounds: [Bound] = []
        var nothingElse: SourceLocation?
        var bag = DiagnosticBag()
        for (n, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(rawLine)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            // Columns count Unicode scalars from 1.
            var offset = 0
            for part in line.split(separator: ";", omittingEmptySubsequences: false) {
                defer { offset += part.unicodeScalars.count + 1 }
                let lead = part.prefix { $0 == " " || $0 == "\t" || $0 == "\r" }.unicodeScalars.count
                let term = part.trimmingCharacters(in: .whitespacesAndNewlines)
                if term.isEmpty { continue }
                let loc = SourceLocation(file: file, line: n + 1, column: offset + lead + 1)
                if term.lowercased().split(separator: " ").joined(separator: " ") == "nothing else" {
                    nothingElse = loc
                    continue
                }
                guard let colon = term.firstIndex(of: ":") else {
                    bag.error(at: loc, "'\(term)' is not a bound", hint: "write NAME: LO..HI (e.g. poor: -40..-20) or 'nothing else'")
                    continue
                }
                let name = term[..<colon].trimmingCharacters(in: .whitespaces)
                let range = term[term.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                guard let q = quantity(name) else {
                    bag.error(at: loc, "'\(name)' is not a quantity of a diff", hint: "use a class id (poor), a transition (poor->near_poor), d_INDICATOR, a programme (P2, P3.2.gained, P3.2.lost), income_below_line, newly_escaped, changed or class_changed")
                    continue
                }
                guard let (lo, hi) = parseRange(range) else {
                    bag.error(at: loc, "'\(range)' is not a bound for '\(name)'", hint: "write LO..HI, LO.., ..HI or a number, e.g. -40..-20 or +5..")
                    continue
                }
                if let lo, let hi, lo > hi {
                    bag.error(at: loc, "the bound \(range) of '\(name)' is empty (\(lo) > \(hi))", hint: "write the lower number first")
                    continue
                }
                if bounds.contains(where: { $0.quantity == q }) {
                    bag.error(at: loc, "'\(name)' is bounded twice")
                    continue
                }
                bounds.append(Bound(quantity: q, low: lo, high: hi, location: loc))
            }
        }
        if bag.hasErrors { throw DiagnosticList(bag.diagnostics) }
        return ImpactExpectation(bounds: bounds, nothingElse: nothingElse, file: file)
    }

    static func quantity(_ name: String) -> Quantity? {
        guard !name.isEmpty, !name.contains(" ") else { return nil }
        switch name {
        case "changed": return .changed
        case "class_changed": return .classChanged
        case "income_below_line": return .incomeBelowLine
        case "newly_escaped": return .newlyEscaped
        default: break
        }
        if let r = name.range(of: "->") {
            let a = String(name[..<r.lowerBound]), b = String(name[r.upperBound...])
            return a.isEmpty || b.isEmpty ? nil : .transition(a, b)
        }
        if name.hasPrefix("d_"), name.count > 2 { return .indicatorNet(String(name.dropFirst(2))) }
        for m in ProgrammeMeasure.allCases where name.hasSuffix("." + m.rawValue) {
            let id = String(name.dropLast(m.rawValue.count + 1))
            return id.isEmpty ? nil : .programme(id, m)
        }
        return .classNet(name)
    }

    /// A plain name is a class when either rule set has that class, else a programme when one
    /// has that programme (its net change).
    public static func resolve(_ q: Quantity, in r: DiffReport) -> Quantity {
        if case .classNet(let c) = q, !r.classes.contains(c), r.programmes.contains(where: { $0.id == c }) { return .programme(c, .net) }
        return q
    }

    static func parseRange(_ s: String) -> (Int?, Int?)? {
        if s.lowercased() == "any" { return (nil, nil) }
        func num(_ t: Substring) -> Int?? {
            let x = t.trimmingCharacters(in: .whitespaces)
            if x.isEmpty { return .some(nil) }
            let body = x.hasPrefix("+") ? String(x.dropFirst()) : x
            guard let v = Int(body) else { return nil }
            return .some(v)
        }
        if let r = s.range(of: "..") {
            guard let lo = num(s[..<r.lowerBound]), let hi = num(s[r.upperBound...]) else { return nil }
            return (lo, hi)
        }
        guard let v = num(Substring(s)), let v else { return nil }
        return (v, v)
    }

    /// A bound that broke, or a change `nothing else` forbids.
    public struct Breach: Sendable, CustomStringConvertible {
        public let location: SourceLocation?
        public let message: String
        public var description: String { (location.map { "\($0): " } ?? "") + "error: " + message }
    }

    /// Names the expectation uses that the diff does not know (a typo would otherwise pass).
    public func unknownNames(in report: DiffReport) -> [Diagnostic] {
        var out: [Diagnostic] = []
        let classes = report.classes
        let indicators = report.indicators.map(\.id)
        let programmes = report.programmes.map(\.id)
        func checkClass(_ c: String, _ b: Bound) {
            if !classes.contains(c) {
                out.append(.error(at: b.location, "'\(c)' is not a household class of either rule set (classes: \(classes.joined(separator: ", ")))",
                                  hint: Suggestion.didYouMean(c, in: classes)))
            }
        }
        for b in bounds {
            switch Self.resolve(b.quantity, in: report) {
            case .classNet(let c) where !classes.contains(c):
                let known = "classes: \(classes.joined(separator: ", "))" + (programmes.isEmpty ? "; no programmes" : "; programmes: \(programmes.joined(separator: ", "))")
                out.append(.error(at: b.location, "'\(c)' is not a household class or programme of either rule set (\(known))",
                                  hint: Suggestion.didYouMean(c, in: classes + programmes)))
            case .programme(let p, _) where !programmes.contains(p):
                out.append(.error(at: b.location, "'\(p)' is not a programme of either rule set (" + (programmes.isEmpty ? "they declare none" : "programmes: \(programmes.joined(separator: ", "))") + ")",
                                  hint: Suggestion.didYouMean(p, in: programmes)))
            case .transition(let x, let y): checkClass(x, b); checkClass(y, b)
            case .indicatorNet(let i) where !indicators.contains(i):
                out.append(.error(at: b.location, "'\(i)' is not an indicator of either rule set",
                                  hint: Suggestion.didYouMean(i, in: indicators).map { $0.replacingOccurrences(of: "'", with: "'d_", options: [], range: nil) }))
            default: break
            }
        }
        return out
    }

    public static func value(_ q: Quantity, in r: DiffReport) -> Int {
        switch resolve(q, in: r) {
        case .classNet(let c): return r.headCount(c) - r.baseCount(c)
        case .transition(let a, let b): return r.transition(a, b)
        case .indicatorNet(let i): return r.indicators.first { $0.id == i }?.net ?? 0
        case .incomeBelowLine: return r.incomeTestGained - r.incomeTestLost
        case .newlyEscaped: return r.newlyEscapedGained - r.newlyEscapedLost
        case .changed: return r.changed
        case .classChanged: return r.statusChanged
        case .programme(let p, let m):
            guard let pc = r.programmes.first(where: { $0.id == p }) else { return 0 }
            switch m {
            case .net: return pc.net
            case .gained: return pc.gained
            case .lost: return pc.lost
            }
        }
    }

    static func programmeDetail(_ pc: ProgrammeChange) -> String {
        var d = " (\(pc.unit) eligible: base \(pc.baseEligible), head \(pc.headEligible); \(pc.gained) gained, \(pc.lost) lost"
        if pc.presence != "both" { d += "; '\(pc.id)' is declared by the \(pc.presence == "base only" ? "base" : "head") rules only" }
        return d + ")"
    }

    /// Every bound the real impact falls outside of; empty when the change is as declared.
    public func check(_ r: DiffReport) -> [Breach] {
        var out: [Breach] = []
        for b in bounds {
            let q = Self.resolve(b.quantity, in: r)
            let v = Self.value(q, in: r)
            if b.contains(v) { continue }
            var detail = ""
            switch q {
            case .classNet(let c): detail = " (base \(r.baseCount(c)), head \(r.headCount(c)))"
            case .indicatorNet(let i):
                if let ic = r.indicators.first(where: { $0.id == i }) {
                    detail = " (deprived: base \(ic.baseDeprived), head \(ic.headDeprived); \(ic.gained) newly, \(ic.lost) no longer)"
                }
            case .incomeBelowLine: detail = " (\(r.incomeTestGained) newly at or below the line, \(r.incomeTestLost) newly above)"
            case .newlyEscaped: detail = " (\(r.newlyEscapedGained) gained, \(r.newlyEscapedLost) lost)"
            case .programme(let p, _):
                if let pc = r.programmes.first(where: { $0.id == p }) { detail = Self.programmeDetail(pc) }
            default: break
            }
            let side = b.low.map { v < $0 } ?? false ? "below the lower bound" : "above the upper bound"
            out.append(Breach(location: b.location,
                              message: "\(q): \(DiffReport.signed(v)) is \(side) of \(b.rangeText)\(detail)"))
        }
        guard let ne = nothingElse else { return out }
        let declared = Set(bounds.map { Self.resolve($0.quantity, in: r) })
        for c in r.classes where !declared.contains(.classNet(c)) {
            let v = r.headCount(c) - r.baseCount(c)
            if v != 0 {
                out.append(Breach(location: ne, message: "\(c): \(DiffReport.signed(v)) (base \(r.baseCount(c)), head \(r.headCount(c))), but the expectation declares no change of '\(c)'"))
            }
        }
        for a in r.classes {
            for b in r.classes where a != b {
                let n = r.transition(a, b)
                guard n > 0, !declared.contains(.transition(a, b)), !declared.contains(.classNet(a)), !declared.contains(.classNet(b)) else { continue }
                out.append(Breach(location: ne, message: "\(a)->\(b): \(n) households change class, but the expectation declares nothing for '\(a)' or '\(b)'"))
            }
        }
        for i in r.indicators where (i.gained > 0 || i.lost > 0) && !declared.contains(.indicatorNet(i.id)) {
            out.append(Breach(location: ne, message: "d_\(i.id): \(i.gained) households newly deprived and \(i.lost) no longer deprived, but the expectation declares no change of 'd_\(i.id)'"))
        }
        if (r.incomeTestGained > 0 || r.incomeTestLost > 0) && !declared.contains(.incomeBelowLine) {
            out.append(Breach(location: ne, message: "income_below_line: \(r.incomeTestGained) households newly at or below the line and \(r.incomeTestLost) newly above it, but the expectation declares no change of 'income_below_line'"))
        }
        if (r.newlyEscapedGained > 0 || r.newlyEscapedLost > 0) && !declared.contains(.newlyEscaped) {
            out.append(Breach(location: ne, message: "newly_escaped: \(r.newlyEscapedGained) gained and \(r.newlyEscapedLost) lost, but the expectation declares no change of 'newly_escaped'"))
        }
        let boundedProgrammes = Set(declared.compactMap(\.programmeID))
        for p in r.programmes where (p.gained > 0 || p.lost > 0) && !boundedProgrammes.contains(p.id) {
            let side = p.presence == "both" ? "" : "; declared by the \(p.presence == "base only" ? "base" : "head") rules only"
            out.append(Breach(location: ne, message: "\(p.id): eligibility gained by \(p.gained) and lost by \(p.lost) \(p.unit) (eligible: base \(p.baseEligible), head \(p.headEligible)\(side)), but the expectation declares no change of '\(p.id)'"))
        }
        return out
    }
}
