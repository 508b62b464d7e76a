import Diagnostics
import YAML

/// A commune's plan: dated targets, each measured over classified households or their members
/// (Rules/plans/*.yaml, docs/reports.md). Thresholds and conditions are data; the engine only
/// counts.
public struct Plan: Sendable {
    public var id: String
    public var title: Bilingual
    public var source: String
    public var year: Int?
    public var targets: [PlanTarget]
    public var file: String
    public var location: SourceLocation
}

public struct PlanTarget: Sendable {
    public enum Level: String, Sendable { case household, member }

    /// What a target counts, as its figures are labelled. A measured target counts households
    /// (`level: household`) or people (`level: member`); a target the survey cannot measure may
    /// count something else: poverty-reduction models, staff, or a unit of the plan's own.
    public enum Unit: Sendable, Equatable {
        case households, people, models, staff
        /// A unit of the plan's own, in both languages.
        case custom(Bilingual)

        /// The codes a plan file may give as `unit:`.
        public static let codes = ["households", "people", "models", "staff"]

        public init?(code: String) {
            switch code {
            case "households": self = .households
            case "people": self = .people
            case "models": self = .models
            case "staff": self = .staff
            default: return nil
            }
        }

        /// The unit a target of this level counts when the plan gives none.
        public init(level: Level) { self = level == .member ? .people : .households }

        /// The code, or nil for a unit of the plan's own.
        public var code: String? {
            switch self {
            case .households: return "households"
            case .people: return "people"
            case .models: return "models"
            case .staff: return "staff"
            case .custom: return nil
            }
        }

        public var label: Bilingual {
            switch self {
            case .households: return Bilingual(vi: "hộ", en: "households")
            case .people: return Bilingual(vi: "người", en: "people")
            case .models: return Bilingual(vi: "mô hình", en: "models")
            case .staff: return Bilingual(vi: "cán bộ", en: "staff")
            case .custom(let b): return b
            }
        }
    }

    /// What the target asks for.
    public enum Goal: Sendable, Equatable {
        /// At least this share (0…1) of the population meets the condition.
        case share(Double)
        /// At least this many of the population meet the condition.
        case atLeast(Int)
        /// At most this many of the population meet the condition.
        case atMost(Int)
        /// `before` minus `after` (counts of households or members) is at least this many.
        case reduceBy(Int)
        /// (`before` − `after`) / all is at least this share (0.0015 = 0.15 percentage points).
        case reduceRateBy(Double)
        /// An activity without a figure.
        case none
    }

    /// A figure reported from outside the survey, for targets the data cannot measure.
    public struct Reported: Sendable {
        public var numerator: Double?
        public var denominator: Double?
        public var rate: Double?
        public var date: RuleDate?
        public var source: String?
        public init(numerator: Double?, denominator: Double?, rate: Double?, date: RuleDate?, source: String?) {
            self.numerator = numerator
            self.denominator = denominator
            self.rate = rate
            self.date = date
            self.source = source
        }
    }

    public init(id: String, section: String?, label: Bilingual, text: String, level: Level, population: Located<String>?,
                condition: Located<String>?, before: Located<String>?, after: Located<String>?, goal: Goal, measurable: Bool,
                note: String?, reported: Reported?, location: SourceLocation, unit: Unit? = nil) {
        self.id = id
        self.section = section
        self.label = label
        self.text = text
        self.level = level
        self.population = population
        self.condition = condition
        self.before = before
        self.after = after
        self.goal = goal
        self.measurable = measurable
        self.note = note
        self.reported = reported
        self.location = location
        self.unit = unit ?? Unit(level: level)
    }

    public var id: String
    public var section: String?
    public var label: Bilingual
    /// The plan's own words (Vietnamese), quoted.
    public var text: String
    public var level: Level
    /// Who is counted (the denominator). For reductions: unused.
    public var population: Located<String>?
    /// Who meets the target (numerator, among the population).
    public var condition: Located<String>?
    /// Reductions: who counted before (usually from `h.prior_status`) and who counts now.
    public var before: Located<String>?
    public var after: Located<String>?
    public var goal: Goal
    public var measurable: Bool
    /// Why the survey cannot measure it, or how a proxy reads it.
    public var note: String?
    public var reported: Reported?
    public var location: SourceLocation
    /// What the target counts (default: households or people, by level).
    public var unit: Unit
}

public enum PlanLoader {
    static let planKeys = ["id", "title", "source", "year", "note"]
    static let targetKeys = ["id", "section", "label", "text", "level", "unit", "population", "condition", "before", "after",
                             "goal", "measurable", "note", "reported"]
    static let goalKeys = ["share", "at_least", "at_most", "reduce_by", "reduce_rate_by", "none"]

    /// Reads a plan file strictly; every problem is reported with its place.
    public static func load(_ path: String) throws(DiagnosticList) -> Plan {
        let root: YAMLNode?
        do { root = try YAMLParser.parseFile(path) } catch { throw DiagnosticList([error]) }
        guard let root else { throw DiagnosticList([.error(at: SourceLocation(file: path, line: 1, column: 1), "the plan file is empty")]) }
        var bag = DiagnosticBag()
        let plan = read(root, file: path, &bag)
        if bag.hasErrors || plan == nil { throw DiagnosticList(RuleLoader.sorted(bag.diagnostics)) }
        return plan!
    }

    static func read(_ root: YAMLNode, file: String, _ bag: inout DiagnosticBag) -> Plan? {
        guard let top = MappingReader(root, what: "a plan file", allowed: ["plan", "targets"], diagnostics: &bag) else { return nil }
        var id: String?, title: Bilingual?, source: String?, year: Int?
        if let node = top.required("plan", &bag), let p = MappingReader(node, what: "'plan'", allowed: planKeys, diagnostics: &bag) {
            id = p.string("id", required: true, &bag)
            title = p.required("title", &bag).flatMap { bilingual($0, what: "'title'", &bag) }
            source = p.string("source", required: true, &bag)
            year = p.value("year").flatMap { Scalars.int($0, key: "year", &bag) }.map { Int($0) }
        }
        var targets: [PlanTarget] = []
        if let node = top.required("targets", &bag) {
            if let items = node.sequence {
                var seen: Set<String> = []
                for item in items {
                    guard let t = readTarget(item, &bag) else { continue }
                    if !seen.insert(t.id).inserted {
                        bag.error(at: t.location, "target '\(t.id)' is defined twice")
                    }
                    targets.append(t)
                }
            } else {
                bag.error(at: node.location, "'targets' must be a list, found \(node.kindName)")
            }
        }
        guard let id, let title, let source else { return nil }
        return Plan(id: id, title: title, source: source, year: year, targets: targets, file: file, location: root.location)
    }

    static func readTarget(_ node: YAMLNode, _ bag: inout DiagnosticBag) -> PlanTarget? {
        let name = node["id"]?.scalar.map { "target '\($0)'" } ?? "a target"
        guard let r = MappingReader(node, what: name, allowed: targetKeys, diagnostics: &bag) else { return nil }
        let id = r.string("id", required: true, &bag)
        let label = r.required("label", &bag).flatMap { bilingual($0, what: "'label' of \(name)", &bag) }
        let text = r.string("text", required: true, &bag)
        var level = PlanTarget.Level.household
        if let l = r.value("level") {
            if let s = Scalars.string(l, key: "level", &bag) {
                if let v = PlanTarget.Level(rawValue: s) { level = v } else {
                    bag.error(at: l.location, "'level' of \(name) must be household or member, found '\(s)'",
                              hint: Suggestion.didYouMean(s, in: ["household", "member"]))
                }
            }
        }
        let measurable = r.value("measurable").flatMap { Scalars.bool($0, key: "measurable", &bag) } ?? true
        let unit = r.value("unit").flatMap { readUnit($0, name: name, level: level, measurable: measurable, &bag) }
        var goal = PlanTarget.Goal.none
        if let g = r.required("goal", &bag) { goal = readGoal(g, name: name, &bag) ?? .none }
        let population = r.located("population", required: false, &bag)
        let condition = r.located("condition", required: false, &bag)
        let before = r.located("before", required: false, &bag)
        let after = r.located("after", required: false, &bag)
        var reported: PlanTarget.Reported?
        if let rep = r.value("reported"),
           let m = MappingReader(rep, what: "'reported' of \(name)", allowed: ["numerator", "denominator", "rate", "date", "source"], diagnostics: &bag) {
            reported = PlanTarget.Reported(
                numerator: m.value("numerator").flatMap { number($0, key: "numerator", &bag) },
                denominator: m.value("denominator").flatMap { number($0, key: "denominator", &bag) },
                rate: m.value("rate").flatMap { number($0, key: "rate", &bag) },
                date: m.value("date").flatMap { Scalars.date($0, key: "date", &bag) },
                source: m.string("source", required: false, &bag))
            if let rp = reported, rp.rate == nil, rp.numerator == nil || rp.denominator == nil {
                bag.error(at: rep.location, "'reported' of \(name) needs 'rate', or 'numerator' and 'denominator'")
            }
        }
        // Which expressions each kind of target needs.
        if measurable {
            switch goal {
            case .reduceBy, .reduceRateBy:
                if before == nil { bag.error(at: node.location, "\(name): a reduction needs 'before' (who counted at the previous review)") }
                if after == nil { bag.error(at: node.location, "\(name): a reduction needs 'after' (who counts now)") }
            case .share, .atLeast, .atMost:
                if population == nil { bag.error(at: node.location, "\(name): missing required key 'population' (who is counted)") }
                if condition == nil { bag.error(at: node.location, "\(name): missing required key 'condition' (who meets the target)") }
            case .none:
                bag.error(at: node.location, "\(name): a measurable target needs a goal other than 'none'",
                          hint: "give 'measurable: false' and a 'note' for an activity without a figure")
            }
        } else if r.value("note") == nil {
            bag.error(at: node.location, "\(name): a target the survey cannot measure needs a 'note' saying why")
        }
        guard let id, let label, let text else { return nil }
        return PlanTarget(id: id, section: r.string("section", required: false, &bag), label: label, text: text, level: level,
                          population: population, condition: condition, before: before, after: after, goal: goal,
                          measurable: measurable, note: r.string("note", required: false, &bag), reported: reported,
                          location: node.location, unit: unit)
    }

    /// `unit:` is one of `PlanTarget.Unit.codes` or a label of the plan's own, `{vi: …, en: …}`.
    /// A measured target counts what its level says: households or people (or a label of its own
    /// for them, such as workers).
    static func readUnit(_ node: YAMLNode, name: String, level: PlanTarget.Level, measurable: Bool,
                         _ bag: inout DiagnosticBag) -> PlanTarget.Unit? {
        let expected = "households, people, models or staff, or a label of your own {vi: \"…\", en: \"…\"}"
        if node.mapping != nil {
            return bilingual(node, what: "'unit' of \(name)", &bag).map { .custom($0) }
        }
        guard let code = Scalars.string(node, key: "unit", &bag) else { return nil }
        guard let unit = PlanTarget.Unit(code: code) else {
            bag.error(at: node.location, "'unit' of \(name) must be \(expected), found '\(code)'",
                      hint: Suggestion.didYouMean(code, in: PlanTarget.Unit.codes))
            return nil
        }
        if measurable, unit != PlanTarget.Unit(level: level) {
            let counted = PlanTarget.Unit(level: level)
            bag.error(at: node.location,
                      "\(name) is measured over \(counted.code!) (level: \(level.rawValue)), so its unit cannot be '\(code)'",
                      hint: unit == .people || unit == .households
                        ? "give 'level: \(unit == .people ? "member" : "household")' to count \(code)"
                        : "'\(code)' fits a target the survey cannot measure ('measurable: false' with a 'note')")
            return nil
        }
        return unit
    }

    static func readGoal(_ node: YAMLNode, name: String, _ bag: inout DiagnosticBag) -> PlanTarget.Goal? {
        if node.scalar == "none" { return PlanTarget.Goal.none }
        guard let m = MappingReader(node, what: "'goal' of \(name)", allowed: goalKeys, diagnostics: &bag) else { return nil }
        guard m.pairs.count == 1, let key = m.pairs[0].key.scalar, goalKeys.contains(key) else {
            if m.pairs.count != 1 {
                bag.error(at: node.location, "'goal' of \(name) must have exactly one of: \(goalKeys.joined(separator: ", "))")
            }
            return nil
        }
        let v = m.pairs[0].value
        switch key {
        case "share", "reduce_rate_by":
            guard let d = number(v, key: key, &bag) else { return nil }
            guard d >= 0, d <= 1 else {
                bag.error(at: v.location, "'\(key)' is a share between 0 and 1 (95% is 0.95), found \(d)")
                return nil
            }
            return key == "share" ? .share(d) : .reduceRateBy(d)
        case "none": return PlanTarget.Goal.none
        default:
            guard let i = Scalars.int(v, key: key, &bag) else { return nil }
            guard i >= 0 else { bag.error(at: v.location, "'\(key)' must not be negative"); return nil }
            switch key {
            case "at_least": return .atLeast(Int(i))
            case "at_most": return .atMost(Int(i))
            default: return .reduceBy(Int(i))
            }
        }
    }

    static func number(_ node: YAMLNode, key: String, _ bag: inout DiagnosticBag) -> Double? {
        if node.scalarStyle == .plain, let s = node.scalar, let d = Double(s.filter { $0 != "_" }), d.isFinite { return d }
        bag.error(at: node.location, "'\(key)' must be a number, found \(Scalars.describe(node))")
        return nil
    }

    static func bilingual(_ node: YAMLNode, what: String, _ bag: inout DiagnosticBag) -> Bilingual? {
        guard let r = MappingReader(node, what: what, allowed: ["vi", "en"], diagnostics: &bag) else { return nil }
        guard let vi = r.string("vi", required: true, &bag), let en = r.string("en", required: true, &bag) else { return nil }
        return Bilingual(vi: vi, en: en)
    }
}
