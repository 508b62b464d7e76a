import CEL
import Diagnostics
import RuleModel
import Survey

/// What the rules decided for one household.
public struct HouseholdResult: Sendable {
    public let householdID: String
    public let village: String
    public let area: String
    public let referenceDate: CivilDate
    public let rules: CompiledRuleSet
    public let status: String
    public let deprivationCount: Int
    public let incomeBelowLine: Bool
    /// One per indicator of `rules`, in rule order.
    public let deprived: [Bool]
    /// Indicators whose input was missing under the `unknown` policy.
    public let unknownIndicators: [Int]
    /// For member-level indicators: the member ids that made the household deprived.
    public let deprivedMembers: [[String]]
    public let newlyEscaped: Bool
    /// Values for explanations, when the rule set declares them.
    public let incomeAmount: Value?
    public let incomeLine: Value?
    public let scoreAmount: Value?
    public let scoreLine: Value?
    /// The explanation texts of each indicator in Vietnamese and English.
    public let reasons: [[String]]
    /// Member ids in household order, for person-level work (eligibility).
    public let memberIDs: [String]
}

/// A household the engine could not classify, with the reason.
public struct RejectedHousehold: Sendable {
    public let householdID: String
    public let problem: DataProblem
    public init(householdID: String, problem: DataProblem) {
        self.householdID = householdID
        self.problem = problem
    }
}

public enum HouseholdOutcome: Sendable {
    case classified(HouseholdResult)
    case rejected(RejectedHousehold)
}

/// How a run chooses the reference date (domain.md §10.2).
public struct ReferencePolicy: Sendable {
    public var asOf: CivilDate?
    public var today: CivilDate
    public init(asOf: CivilDate?, today: CivilDate = .today()) {
        self.asOf = asOf
        self.today = today
    }
}

/// Classifies households with the rule sets of a library, each household under the rule set in
/// force on its reference date. Pure: no I/O; one instance per thread.
public final class Classifier {
    public let library: [CompiledRuleSet]
    public let policy: ReferencePolicy
    public let standard: String?
    private var paramCache: [Int32: (CompiledRuleSet, [Value])] = [:]
    private var activations: [ObjectIdentifier: HouseholdActivation] = [:]

    public let codeLabels: CodeLabels

    public init(library: [CompiledRuleSet], policy: ReferencePolicy, standard: String? = nil, codeLabels: CodeLabels = CodeLabels()) {
        self.library = library
        self.policy = policy
        self.standard = standard
        self.codeLabels = codeLabels
    }

    public func classify(_ batch: SurveyBatch) -> [HouseholdOutcome] {
        var out: [HouseholdOutcome] = []
        out.reserveCapacity(batch.households.count)
        for h in 0..<batch.households.count {
            out.append(classify(household: h, of: batch))
        }
        return out
    }

    func referenceDate(_ batch: SurveyBatch, _ h: Int, reviewField: Int?) -> CivilDate {
        if let d = policy.asOf { return d }
        if let f = reviewField, let d = batch.households.date(f, h) { return d }
        return policy.today
    }

    /// The rule set in force on `date` and its parameter values on that day.
    func rules(on date: CivilDate) -> Result<(CompiledRuleSet, [Value]), NoRuleSet> {
        if let cached = paramCache[date.dayNumber] { return .success(cached) }
        let d = RuleDate(year: date.year, month: date.month, day: date.day)!
        let candidates = library.filter { $0.ruleSet.period.contains(d) && (standard == nil || $0.ruleSet.standard == standard) }
        guard let rules = candidates.first else {
            let periods = library.map { "\($0.ruleSet.id) \($0.ruleSet.period)" }.joined(separator: "; ")
            return .failure(NoRuleSet(message: "no rule set is in force on \(date) (rule sets: \(periods))"))
        }
        if candidates.count > 1 {
            return .failure(NoRuleSet(message: "several rule sets are in force on \(date): \(candidates.map(\.ruleSet.reference).joined(separator: ", "))"))
        }
        let values: [Value] = rules.environment.parameterFields.map { f in
            guard let e = rules.ruleSet.parameters[f.name]?.entry(on: d) else { return .null }
            return Self.value(e.value)
        }
        paramCache[date.dayNumber] = (rules, values)
        return .success((rules, values))
    }

    static func value(_ p: ParameterValue) -> Value {
        switch p {
        case .int(let v): return .int(v)
        case .double(let v): return .double(v)
        case .bool(let v): return .bool(v)
        case .string(let v): return .string(v)
        case .strings(let v): return .list(.array(v.map(Value.string)))
        }
    }

    func activation(_ rules: CompiledRuleSet, _ batch: SurveyBatch) -> HouseholdActivation {
        let key = ObjectIdentifier(rules)
        if let a = activations[key] {
            a.batch = batch
            return a
        }
        let a = HouseholdActivation(rules: rules, batch: batch)
        activations[key] = a
        return a
    }

    public func classify(household h: Int, of batch: SurveyBatch) -> HouseholdOutcome {
        let table = batch.households
        let idField = table.fieldIndex("household_id")
        let householdID = idField.flatMap { table.text($0, h) } ?? "?"
        func reject(_ kind: String, _ message: String, hint: String? = nil, line: Int? = nil, file: String? = nil) -> HouseholdOutcome {
            let loc = SourceLocation(file: file ?? table.file, line: line ?? table.line(h), column: 1)
            return .rejected(RejectedHousehold(householdID: householdID,
                                               problem: DataProblem(kind: kind, diagnostic: .error(at: loc, "household '\(householdID)': \(message)", hint: hint),
                                                                    householdID: householdID)))
        }
        let ref = referenceDate(batch, h, reviewField: table.fieldIndex("review_date"))
        let rules: CompiledRuleSet
        let params: [Value]
        switch self.rules(on: ref) {
        case .success(let r): (rules, params) = r
        case .failure(let e): return reject("no_rule_set", e.message, hint: "give --as-of a date that a rule set covers")
        }
        let a = activation(rules, batch)
        a.household = h
        a.memberStart = batch.memberRanges[h].lowerBound
        a.memberCount = batch.memberRanges[h].count
        a.referenceDate = ref
        a.params = params
        let memberIDField = batch.members.fieldIndex("member_id")
        func memberID(_ row: Int) -> String { memberIDField.flatMap { batch.members.text($0, row) } ?? String(row - a.memberStart + 1) }

        // Derived values, household then member, in rule order.
        a.householdDerived = []
        a.use(.householdDerived)
        for (k, p) in rules.householdDerived.enumerated() {
            do { a.householdDerived.append(try p.evaluate(a)) } catch let e as EvalError where e.kind == .missingValue {
                a.householdDerived.append(nil)
            } catch {
                return reject("rule_error", "derived field '\(rules.ruleSet.derived.filter { $0.scope == .household }[k].id)': \(error)")
            }
        }
        let nDerived = rules.memberDerived.count
        a.memberDerived = []
        a.memberDerived.reserveCapacity(a.memberCount * nDerived)
        a.use(.memberDerived)
        let memberDerivedDefs = rules.ruleSet.derived.filter { $0.scope == .member }
        for row in batch.memberRanges[h] {
            a.member = row
            for (k, p) in rules.memberDerived.enumerated() {
                do { a.memberDerived.append(try p.evaluate(a)) } catch let e as EvalError where e.kind == .missingValue {
                    a.memberDerived.append(nil)
                } catch {
                    return reject("rule_error", "member '\(memberID(row))', derived field '\(memberDerivedDefs[k].id)': \(error)")
                }
            }
        }

        // Fields required only in some cases (age bands, a dwelling) must be there when they are.
        a.use(.householdRequirement)
        for req in rules.householdRequirements where !table.isPresent(req.fieldIndex, h) {
            if (try? req.program.evaluateBool(a)) == true {
                return reject("missing_value", "'\(req.field.name)' is required here (\(req.program.source)) but is empty",
                              hint: "fill in '\(req.field.name)'")
            }
        }
        a.use(.memberRequirement)
        for row in batch.memberRanges[h] {
            a.member = row
            for req in rules.memberRequirements where !batch.members.isPresent(req.fieldIndex, row) {
                if (try? req.program.evaluateBool(a)) == true {
                    return reject("missing_value", "member '\(memberID(row))': '\(req.field.name)' is required here (\(req.program.source)) but is empty",
                                  hint: "fill in '\(req.field.name)'", line: batch.members.line(row), file: batch.members.file)
                }
            }
        }

        // Indicators.
        var deprived = [Bool](repeating: false, count: rules.indicators.count)
        var deprivedMembers = [[String]](repeating: [], count: rules.indicators.count)
        var unknown: [Int] = []
        for (i, ind) in rules.indicators.enumerated() {
            do {
                if ind.isMemberLevel {
                    a.use(.memberIndicator)
                    for row in batch.memberRanges[h] {
                        a.member = row
                        if try ind.program.evaluateBool(a) {
                            deprived[i] = true
                            deprivedMembers[i].append(memberID(row))
                        }
                    }
                } else {
                    a.use(.householdIndicator)
                    deprived[i] = try ind.program.evaluateBool(a)
                }
            } catch let e as EvalError where e.kind == .missingValue {
                switch ind.indicator.missing {
                case .error:
                    return reject("missing_value", "indicator '\(ind.indicator.id)' needs a value that is missing: \(e.message)",
                                  hint: "fill in the value, or declare another missing-data policy for the indicator")
                case .deprived: deprived[i] = true
                case .notDeprived: deprived[i] = false
                case .unknown: unknown.append(i)
                }
            } catch {
                return reject("rule_error", "indicator '\(ind.indicator.id)': \(error)")
            }
        }
        let count = deprived.reduce(0) { $0 + ($1 ? 1 : 0) }
        a.deprived = deprived
        a.deprivationCount = count

        // Income test and class.
        a.use(.incomeTest)
        let below: Bool
        do {
            below = try rules.incomeBelowLine.evaluateBool(a)
        } catch let e as EvalError where e.kind == .missingValue {
            return reject("missing_value", "the income test needs a value that is missing: \(e.message)",
                          hint: "give income_per_capita or score_a")
        } catch {
            return reject("rule_error", "income test: \(error)")
        }
        func optional(_ p: Program?) -> Value? { p.flatMap { try? $0.evaluate(a) } }
        let amount = optional(rules.incomeAmount), line = optional(rules.incomeLine)
        let scoreAmount = optional(rules.scoreAmount), scoreLine = optional(rules.scoreLine)
        a.incomeBelowLine = below

        var status: String
        if !unknown.isEmpty {
            status = "undetermined"
        } else {
            a.use(.householdClass)
            var matched: [String] = []
            for (c, p) in rules.classes {
                do {
                    if try p.evaluateBool(a) { matched.append(c.id) }
                } catch let e as EvalError where e.kind == .missingValue {
                    continue
                } catch {
                    return reject("rule_error", "class '\(c.id)': \(error)")
                }
            }
            guard matched.count == 1 else {
                let detail = matched.isEmpty ? "no household class matches" : "several household classes match: \(matched.joined(separator: ", "))"
                return reject("class_rules", "\(detail) (income test \(below ? "at or below" : "above") the line, \(count) deprivations)",
                              hint: "the classes of rule set \(rules.ruleSet.reference) must cover every case exactly once")
            }
            status = matched[0]
        }
        a.status = status

        var newlyEscaped = false
        if let p = rules.newlyEscaped {
            a.use(.newlyEscaped)
            do { newlyEscaped = try p.evaluateBool(a) } catch let e as EvalError where e.kind == .missingValue {
                newlyEscaped = false
            } catch {
                return reject("rule_error", "newly_escaped: \(error)")
            }
        }
        a.newlyEscaped = newlyEscaped

        var reasons: [[String]] = []
        reasons.reserveCapacity(rules.indicators.count)
        a.use(.householdIndicator)
        for (i, ind) in rules.indicators.enumerated() {
            if deprived[i] {
                reasons.append(Language.allCases.map { render(ind.explain[$0 == .vi ? 0 : 1], a, members: deprivedMembers[i], language: $0) })
            } else if let not = ind.explainNotDeprived {
                reasons.append(Language.allCases.map { render(not[$0 == .vi ? 0 : 1], a, members: [], language: $0) })
            } else {
                reasons.append(["", ""])
            }
        }

        let villageField = table.fieldIndex("village"), areaField = table.fieldIndex("area")
        var area = ""
        if let f = areaField, let c = table.code(f, h), case .code(let list) = table.fields[f].type {
            area = rules.environment.schema.codeLists[list]?.codes[Int(c)] ?? ""
        }
        return .classified(HouseholdResult(
            householdID: householdID, village: villageField.flatMap { table.text($0, h) } ?? "",
            area: area, referenceDate: ref, rules: rules, status: status, deprivationCount: count,
            incomeBelowLine: below, deprived: deprived, unknownIndicators: unknown, deprivedMembers: deprivedMembers,
            newlyEscaped: newlyEscaped, incomeAmount: amount, incomeLine: line, scoreAmount: scoreAmount,
            scoreLine: scoreLine, reasons: reasons, memberIDs: batch.memberRanges[h].map(memberID)))
    }

    func render(_ t: Template, _ a: HouseholdActivation, members: [String], language: Language) -> String {
        var out = ""
        for s in t.segments {
            switch s {
            case .text(let text): out += text
            case .members: out += NumberFormat.memberList(members, language)
            case .expression(let p):
                if let v = try? p.evaluate(a) { out += NumberFormat.text(v, language) } else { out += "?" }
            case .code(let p, let table, let field):
                if case .string(let code)? = try? p.evaluate(a) {
                    out += codeLabels.label(code, table: table, field: field, language: language)
                } else {
                    out += "?"
                }
            }
        }
        return out
    }
}

struct NoRuleSet: Error {
    let message: String
}

/// Labels of codes in the officer's language, from a header mapping (`nước máy` for `piped`).
public struct CodeLabels: Sendable {
    /// "table.field" → code → Vietnamese label.
    private var vi: [String: [String: String]] = [:]

    public init() {}

    public init(mapping: HeaderMapping) {
        for (table, fields) in mapping.codes {
            for (field, entries) in fields {
                var labels: [String: String] = [:]
                for e in entries where labels[e.target] == nil { labels[e.target] = e.spelling }
                vi[table + "." + field] = labels
            }
        }
    }

    public func label(_ code: String, table: String, field: String, language: Language) -> String {
        if language == .vi, let l = vi[table + "." + field]?[code] { return l }
        return code.replacingUnderscores()
    }
}

extension String {
    func replacingUnderscores() -> String {
        String(map { $0 == "_" ? " " : $0 })
    }
}
