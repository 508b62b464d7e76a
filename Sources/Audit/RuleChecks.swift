import CEL
import Diagnostics
import Engine
import Foundation
import RuleModel
import Survey

/// The deeper checks of `povrules check`, beyond loading and type-checking: parameters nobody
/// uses, periods no rule set covers, household classes that overlap or leave a case out, and the
/// version discipline of changed rule sets.
public enum RuleChecks {
    /// Every check that needs only the rules. Unused parameters are warnings (errors with `strict`).
    public static func all(_ rules: AuditRules, strict: Bool = false) -> [Diagnostic] {
        var out: [Diagnostic] = []
        for set in rules.library.ruleSets {
            out += unusedParameters(set, schema: rules.schema, strict: strict)
        }
        out += gaps(rules.library.ruleSets)
        for set in rules.compiled {
            out += partition(set)
        }
        return out
    }

    // MARK: - Unused parameters

    /// Every expression and template text of a rule set, for searching names.
    static func texts(_ set: RuleSet, schema: SurveySchema) -> [String] {
        var t: [String] = []
        t += set.derived.map(\.expression.value)
        for i in set.indicators {
            if let c = i.memberCondition { t.append(c.value) }
            if let c = i.condition { t.append(c.value) }
            t += [i.explain.vi, i.explain.en]
            if let n = i.explainNotDeprived { t += [n.vi, n.en] }
        }
        if let it = set.incomeTest {
            t.append(it.belowLine.value)
            t += [it.amount, it.line, it.scoreAmount, it.scoreLine].compactMap { $0?.value }
        }
        t += set.classes.map(\.when.value)
        if let n = set.newlyEscaped { t.append(n.when.value) }
        for p in set.programmes {
            for r in [p.scope].compactMap({ $0 }) + p.paths + p.priorities + p.bands {
                t += [r.when.value, r.reason.vi, r.reason.en]
            }
            t += [p.notEligibleReason.vi, p.notEligibleReason.en]
        }
        for f in schema.households + schema.members {
            if case .requiredWhen(let e, _) = f.requirement { t.append(e) }
        }
        return t
    }

    static func uses(_ text: String, parameter id: String) -> Bool {
        for form in ["params['\(id)']", "params[\"\(id)\"]"] where text.contains(form) { return true }
        var rest = Substring(text)
        let needle = "params." + id
        while let r = rest.range(of: needle) {
            let before = r.lowerBound == rest.startIndex ? nil : rest[rest.index(before: r.lowerBound)]
            let after = r.upperBound == rest.endIndex ? nil : rest[r.upperBound]
            let isIdent: (Character?) -> Bool = { c in c.map { $0.isLetter || $0.isNumber || $0 == "_" } ?? false }
            if !isIdent(before) && !isIdent(after) { return true }
            rest = rest[r.upperBound...]
        }
        return false
    }

    public static func unusedParameters(_ set: RuleSet, schema: SurveySchema, strict: Bool = false) -> [Diagnostic] {
        let all = texts(set, schema: schema)
        var out: [Diagnostic] = []
        for id in set.parameterOrder {
            guard let p = set.parameters[id], !all.contains(where: { uses($0, parameter: id) }) else { continue }
            out.append(Diagnostic(strict ? .error : .warning, at: p.location,
                                  "parameter '\(id)' of rule set '\(set.id)' is not used by any rule",
                                  hint: "use it as params.\(id), or remove it"))
        }
        return out
    }

    // MARK: - Periods

    /// Days between consecutive rule sets of one standard that no rule set covers, unless the
    /// earlier one declares `gap_after`.
    public static func gaps(_ sets: [RuleSet]) -> [Diagnostic] {
        var out: [Diagnostic] = []
        let standards = Set(sets.map(\.standard))
        for standard in standards.sorted() {
            let ordered = sets.filter { $0.standard == standard }.sorted { $0.period.from < $1.period.from }
            for (a, b) in zip(ordered, ordered.dropFirst()) {
                guard let end = a.period.to, end.nextDay < b.period.from else {
                    if a.gapAfter != nil, let end = a.period.to, end.nextDay == b.period.from {
                        out.append(Diagnostic(.warning, at: a.location, "rule set '\(a.id)' declares gap_after, but '\(b.id)' starts the day after it ends",
                                              hint: "remove gap_after"))
                    }
                    continue
                }
                if a.gapAfter != nil { continue }
                out.append(.error(at: a.location,
                                  "no rule set of standard '\(standard)' is in force from \(end.nextDay) to \(b.period.from.previousDay), between '\(a.id)' (\(a.period)) and '\(b.id)' (\(b.period))",
                                  hint: "end '\(a.id)' on \(b.period.from.previousDay), or declare the gap with gap_after: \"why\" in its ruleset"))
            }
        }
        return out
    }

    // MARK: - Classes form a partition

    /// Evaluates the class rules over a grid of area × income test × deprivation count × income
    /// figure (missing, and every amount parameter ±1) on each day a parameter changes, and reports
    /// each combination where no class or several classes hold.
    public static func partition(_ set: CompiledRuleSet) -> [Diagnostic] {
        let rules = set.ruleSet
        guard !set.classes.isEmpty else { return [] }
        let schema = set.environment.schema
        var areas: [String] = []
        var incomeIsDouble = false
        if let f = schema.households.first(where: { $0.name == "area" }), case .code(let list) = f.type {
            areas = schema.codeLists[list]?.codes ?? []
        }
        if let f = schema.households.first(where: { $0.name == "income_per_capita" }), case .decimal = f.type { incomeIsDouble = true }
        if areas.isEmpty { areas = [""] }
        let scoreField = schema.households.first(where: { $0.name == "score_a" })

        // Only parameters the income test, the classes or household-derived fields read can move
        // a boundary of the partition: their values (±1) make the income grid, their dates the days.
        var classTexts = rules.classes.map(\.when.value) + rules.derived.filter { $0.scope == .household }.map(\.expression.value)
        if let t = rules.incomeTest { classTexts.append(t.belowLine.value) }
        let relevant = rules.parameters.values.filter { p in classTexts.contains { uses($0, parameter: p.id) } }
        var dates: [RuleDate] = [rules.period.from]
        for p in relevant {
            for e in p.entries where e.from > rules.period.from && rules.period.contains(e.from) && !dates.contains(e.from) { dates.append(e.from) }
        }
        dates.sort()
        let maxD = rules.indicators.count

        struct Problem { var matched: [String]; var example: String; var count: Int }
        var problems: [String: Problem] = [:]
        var order: [String] = []
        var evalErrors: [Diagnostic] = []

        for date in dates {
            let params = Classifier.parameterValues(set, on: date)
            var amounts = Set<Int64>([0, 1_000_000_000])
            for p in relevant {
                if let e = p.entry(on: date), case .int(let v) = e.value, v > 0 { amounts.formUnion([v - 1, v, v + 1]) }
            }
            let incomes: [Value?] = [nil] + amounts.sorted().map { incomeIsDouble ? .double(Double($0)) : .int($0) }
            let a = GridActivation(set: set, params: params)
            // A proxy score varies only when the schema has one and the income test reads it.
            let usesScore = scoreField != nil && (rules.incomeTest?.belowLine.value.contains("score_a") ?? false)
            let scores: [Value?] = usesScore ? [nil] + amounts.sorted().map { .int($0) } : [nil]
            for area in areas {
                for income in incomes {
                    for score in scores {
                        a.area = area
                        a.income = income
                        a.score = score
                        a.computeDerived()
                        // The income test as the engine runs it; a household it cannot decide is
                        // rejected before the classes, so it is not a hole in the partition.
                        a.stage = .derived
                        guard let below = try? set.incomeBelowLine.evaluateBool(a) else { continue }
                        for d in 0...maxD {
                            a.below = below
                            a.deprivations = d
                            a.stage = .householdClass
                            var matched: [String] = []
                            for (c, p) in set.classes {
                                do {
                                    if try p.evaluateBool(a) { matched.append(c.id) }
                                } catch let e as EvalError where e.kind == .missingValue {
                                    continue
                                } catch {
                                    if evalErrors.count < 3 {
                                        evalErrors.append(.error(at: c.when.location, "class '\(c.id)' fails on area=\(area), income_below_line=\(below), deprivations=\(d): \(error)"))
                                    }
                                }
                            }
                            if matched.count == 1 { continue }
                            let key = matched.joined(separator: "+")
                            let example = "area=\(area.isEmpty ? "?" : area), income_per_capita=\(income.map { "\($0)" } ?? "missing")"
                                + (usesScore ? ", score_a=\(score.map { "\($0)" } ?? "missing")" : "")
                                + " (income_below_line=\(below)), deprivations=\(d)" + (dates.count > 1 ? ", on \(date)" : "")
                            if problems[key] == nil {
                                order.append(key)
                                problems[key] = Problem(matched: matched, example: example, count: 1)
                            } else {
                                problems[key]!.count += 1
                            }
                        }
                    }
                }
            }
        }
        var out = evalErrors
        for key in order {
            let p = problems[key]!
            let more = p.count > 1 ? " (and \(p.count - 1) other combination\(p.count == 2 ? "" : "s") of the grid)" : ""
            if p.matched.isEmpty {
                out.append(.error(at: set.classes[0].0.location,
                                  "no household class of rule set '\(rules.id)' holds for \(p.example)\(more)",
                                  hint: "the classes must cover every combination of area, income test and deprivation count: widen a class's 'when', or add a class"))
            } else {
                let loc = set.classes.first { $0.0.id == p.matched[1] }?.0.when.location
                out.append(.error(at: loc,
                                  "household classes \(p.matched.map { "'\($0)'" }.joined(separator: " and ")) of rule set '\(rules.id)' both hold for \(p.example)\(more)",
                                  hint: "the classes must not overlap: make their 'when' conditions exclusive"))
            }
        }
        return out
    }

    // MARK: - Version discipline

    /// Compares each rule set with the same id in `old` (the rules at a git revision): when a rule
    /// file changed (test files excepted), the version must change and the changelog must have an
    /// entry for the new version.
    public static func versionDiscipline(current: AuditRules, old: RuleLibrary, oldRoot: String, revision: String) -> [Diagnostic] {
        var out: [Diagnostic] = []
        for set in current.library.ruleSets {
            let files = ruleFiles(set, root: current.root)
            guard let before = old.ruleSets.first(where: { $0.id == set.id }) else {
                if !set.changelog.contains(where: { $0.version == set.version }) {
                    out.append(.error(at: set.location, "rule set '\(set.id)' is new since \(revision) but its changelog has no entry for version \(set.version)",
                                      hint: "add to ruleset.yaml: changelog: [{version: \(set.version), date: YYYY-MM-DD, text: \"…\"}]"))
                }
                continue
            }
            let oldFiles = ruleFiles(before, root: oldRoot)
            var changed: [String] = []
            for (rel, path) in files {
                guard let o = oldFiles[rel] else { changed.append(rel + " (new)"); continue }
                if FileManager.default.contents(atPath: path) != FileManager.default.contents(atPath: o) { changed.append(rel) }
            }
            for rel in oldFiles.keys where files[rel] == nil { changed.append(rel + " (removed)") }
            guard !changed.isEmpty else { continue }
            changed.sort()
            if set.version == before.version {
                out.append(.error(at: set.location, "rule set '\(set.id)' changed since \(revision) (\(changed.joined(separator: ", "))) but its version is still \(set.version)",
                                  hint: "raise 'version' in ruleset.yaml and add a changelog entry for the new version"))
            } else if !set.changelog.contains(where: { $0.version == set.version }) {
                out.append(.error(at: set.location, "rule set '\(set.id)' changed since \(revision) (version \(before.version) → \(set.version)) but its changelog has no entry for \(set.version)",
                                  hint: "add to changelog: {version: \(set.version), date: YYYY-MM-DD, text: \"what changed and why\"}"))
            }
        }
        return out
    }

    /// The rule files of a set (relative to the rules root → path), tests excepted, with the
    /// shared files it includes.
    static func ruleFiles(_ set: RuleSet, root: String) -> [String: String] {
        let rootPrefix = root.hasSuffix("/") ? root : root + "/"
        func rel(_ p: String) -> String {
            let n = normalize(p)
            let r = normalize(rootPrefix) + "/"
            return n.hasPrefix(r) ? String(n.dropFirst(r.count)) : n
        }
        var out: [String: String] = [:]
        for path in FileSystem.walk(set.folder) where (path.hasSuffix(".yaml") || path.hasSuffix(".yml")) {
            let inside = String(path.dropFirst(set.folder.count))
            if inside.hasPrefix("/tests/") || inside.contains("/tests/") { continue }
            out[rel(path)] = path
        }
        // Included shared parameter files.
        if let text = FileManager.default.contents(atPath: set.folder + "/ruleset.yaml").map({ String(decoding: $0, as: UTF8.self) }) {
            for line in text.split(separator: "\n") where line.contains("include:") {
                let items = line.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: CharacterSet(charactersIn: " []"))
                for item in items.split(separator: ",") {
                    let f = item.trimmingCharacters(in: CharacterSet(charactersIn: " \"'"))
                    if f.isEmpty { continue }
                    let path = f.hasPrefix("/") ? f : set.folder + "/" + f
                    out[rel(path)] = path
                }
            }
        }
        return out
    }

    static func normalize(_ p: String) -> String {
        var parts: [Substring] = []
        for c in p.split(separator: "/", omittingEmptySubsequences: true) {
            if c == "." { continue }
            if c == "..", let last = parts.last, last != ".." { parts.removeLast(); continue }
            parts.append(c)
        }
        return (p.hasPrefix("/") ? "/" : "") + parts.joined(separator: "/")
    }
}

/// A synthetic household for the partition grid: area, income figure, income test and
/// deprivation count are set; every other field is missing; the household has no members.
final class GridActivation: Activation {
    enum Stage { case derived, householdClass }
    let set: CompiledRuleSet
    let params: [Value]
    var stage: Stage = .derived
    var area = ""
    var income: Value?
    var score: Value?
    var below = false
    var deprivations = 0
    var derived: [Value?] = []
    let householdFieldNames: [String]
    let origins: [FieldOrigin]

    init(set: CompiledRuleSet, params: [Value]) {
        self.set = set
        self.params = params
        origins = set.environment.householdFields.map(\.origin)
        householdFieldNames = set.environment.schema.households.map(\.name)
    }

    func computeDerived() {
        stage = .derived
        derived = []
        for p in set.householdDerived {
            derived.append(try? p.evaluate(self))
        }
    }

    func variable(_ slot: Int) -> Value {
        // Slots follow the stage's variables: h, members, params, then (classes) income_below_line,
        // deprivations, deprived.
        switch slot {
        case 0: return .object(ObjectRef(type: 0, row: 0))
        case 1: return .list(.array([]))
        case 2: return .object(ObjectRef(type: 2, row: 0))
        case 3: return .bool(below)
        case 4: return .int(Int64(deprivations))
        default: return .object(ObjectRef(type: 3, row: 0))
        }
    }

    func field(_ field: Int, of object: ObjectRef) -> Value? {
        switch object.type {
        case 0:
            switch origins[field] {
            case .survey(let i):
                switch householdFieldNames[i] {
                case "area": return area.isEmpty ? nil : .string(area)
                case "income_per_capita": return income
                case "score_a": return score
                default: return nil
                }
            case .derived(let k): return k < derived.count ? derived[k] : nil
            default: return nil
            }
        case 2: return field < params.count ? params[field] : nil
        case 3: return .bool(field < deprivations)
        default: return nil
        }
    }
}
