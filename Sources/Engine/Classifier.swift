import CEL
import Diagnostics
import RuleModel
import Survey

/// What the rules decided for one household. A class: results travel through outcome arrays,
/// batches and formatters, and a struct of this many references was copied, reference by
/// reference, at every step.
public final class HouseholdResult: Sendable {
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
    /// Values for explanations, when the rule set declares them and the classifier renders
    /// explanations (`Classifier.withReasons`); nil otherwise.
    public let incomeAmount: Value?
    public let incomeLine: Value?
    public let scoreAmount: Value?
    public let scoreLine: Value?
    /// The explanation texts of each indicator in Vietnamese and English; empty when the
    /// classifier was told not to render them (`Classifier.withReasons` false: CSV output).
    public let reasons: [[String]]
    /// Where the member ids are read from (the batch's member table), and the member rows.
    let memberIDSource: MemberIDSource
    let memberRows: Range<Int>
    /// Member ids in household order, for person-level work (eligibility). Read from the
    /// batch on demand: most commands never ask, and building them cost an array per household.
    public var memberIDs: [String] { memberIDSource.ids(memberRows) }

    init(householdID: String, village: String, area: String, referenceDate: CivilDate, rules: CompiledRuleSet, status: String,
         deprivationCount: Int, incomeBelowLine: Bool, deprived: [Bool], unknownIndicators: [Int], deprivedMembers: [[String]],
         newlyEscaped: Bool, incomeAmount: Value?, incomeLine: Value?, scoreAmount: Value?, scoreLine: Value?, reasons: [[String]],
         memberIDSource: MemberIDSource, memberRows: Range<Int>) {
        self.householdID = householdID
        self.village = village
        self.area = area
        self.referenceDate = referenceDate
        self.rules = rules
        self.status = status
        self.deprivationCount = deprivationCount
        self.incomeBelowLine = incomeBelowLine
        self.deprived = deprived
        self.unknownIndicators = unknownIndicators
        self.deprivedMembers = deprivedMembers
        self.newlyEscaped = newlyEscaped
        self.incomeAmount = incomeAmount
        self.incomeLine = incomeLine
        self.scoreAmount = scoreAmount
        self.scoreLine = scoreLine
        self.reasons = reasons
        self.memberIDSource = memberIDSource
        self.memberRows = memberRows
    }
}

/// The member ids of one batch (its member table and id field), shared by its results.
final class MemberIDSource: Sendable {
    let members: RecordTable
    let field: Int?

    init(_ batch: SurveyBatch, field: Int?) {
        members = batch.members
        self.field = field
    }

    /// The id of member `row` of a household whose first member row is `start`; the member's
    /// position (1-based) when the survey has no id.
    func id(_ row: Int, start: Int) -> String {
        field.flatMap { members.text($0, row) } ?? String(row - start + 1)
    }

    func ids(_ rows: Range<Int>) -> [String] {
        rows.map { id($0, start: rows.lowerBound) }
    }
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
    @exclusivity(unchecked) private var paramCache: [Int32: (CompiledRuleSet, [Value])] = [:]
    @exclusivity(unchecked) private var activations: [ObjectIdentifier: HouseholdActivation] = [:]
    /// Render the explanation texts (`HouseholdResult.reasons`) of every household. They cost
    /// more than the classification itself; output that does not show them (CSV, aggregates)
    /// turns this off.
    public var withReasons = true
    // The rule set of the last reference date and its activation: most households of a survey
    // share both, so the dictionaries above are consulted only when the date changes.
    @exclusivity(unchecked) private var lastDate: CivilDate?
    @exclusivity(unchecked) private var lastRules: (CompiledRuleSet, [Value])?
    /// The distinct parameter value arrays built so far, per rule set.
    @exclusivity(unchecked) private var distinctParams: [(CompiledRuleSet, [Value])] = []
    @exclusivity(unchecked) private var lastActivation: HouseholdActivation?
    /// Bumped for every batch (or single household) handed in, so an activation re-binds its
    /// columns once per batch instead of once per household.
    @exclusivity(unchecked) private var generation = 0

    public let codeLabels: CodeLabels
    /// Rule sets with an expression the column kernels do not cover: their batches are
    /// classified household by household.
    /// Classify batches over columns where that gives the same results (off: household by
    /// household always, for comparison).
    public var useColumns = true
    @exclusivity(unchecked) var columnsUnsupported: Set<ObjectIdentifier> = []
    /// Households handed to the column path, and those of them it sent back to be classified
    /// one by one (for measurement).
    @exclusivity(unchecked) public internal(set) var columnHouseholds = 0
    @exclusivity(unchecked) public internal(set) var scalarHouseholds = 0

    public init(library: [CompiledRuleSet], policy: ReferencePolicy, standard: String? = nil, codeLabels: CodeLabels = CodeLabels()) {
        self.library = library
        self.policy = policy
        self.standard = standard
        self.codeLabels = codeLabels
    }

    public func classify(_ batch: SurveyBatch) -> [HouseholdOutcome] {
        classifyBatch(batch).allOutcomes()
    }

    /// The batch classified, the households decided over columns kept as columns (for output
    /// that reads them from there: `ClassifiedBatch.row`).
    public func classifyBatch(_ batch: SurveyBatch) -> ClassifiedBatch {
        generation &+= 1
        let fields = BatchFields(batch)
        // Explanations are rendered household by household; without them the batch is
        // classified over columns (`classifyColumns`), with the same results.
        if !withReasons && useColumns, let out = classifyColumns(batch, fields: fields) { return out }
        return ClassifiedBatch(batch: batch, fields: fields, outcomes: classifyEach(batch, fields: fields))
    }

    /// The batch household by household, as `classify(household:of:)`.
    func classifyEach(_ batch: SurveyBatch, fields: BatchFields) -> [HouseholdOutcome] {
        var out: [HouseholdOutcome] = []
        out.reserveCapacity(batch.households.count)
        for h in 0..<batch.households.count {
            out.append(classify(household: h, of: batch, fields: fields))
        }
        return out
    }

    /// Fields the classifier reads by name, resolved once per batch.
    struct BatchFields {
        let householdID: Int?, reviewDate: Int?, village: Int?, area: Int?, memberID: Int?
        let memberIDs: MemberIDSource
        init(_ batch: SurveyBatch) {
            householdID = batch.households.fieldIndex("household_id")
            reviewDate = batch.households.fieldIndex("review_date")
            village = batch.households.fieldIndex("village")
            area = batch.households.fieldIndex("area")
            memberID = batch.members.fieldIndex("member_id")
            memberIDs = MemberIDSource(batch, field: memberID)
        }
    }

    /// `count` empty member lists, shared by every household when no reasons are rendered
    /// (never mutated then, so never copied).
    @exclusivity(unchecked) private var noMembers: [[String]] = []
    func emptyMemberLists(_ count: Int) -> [[String]] {
        if noMembers.count != count { noMembers = [[String]](repeating: [], count: count) }
        return noMembers
    }

    func referenceDate(_ batch: SurveyBatch, _ h: Int, reviewField: Int?) -> CivilDate {
        if let d = policy.asOf { return d }
        if let f = reviewField, let d = batch.households.date(f, h) { return d }
        return policy.today
    }

    /// The rule set in force on `date` and its parameter values on that day.
    func rules(on date: CivilDate) -> Result<(CompiledRuleSet, [Value]), NoRuleSet> {
        if date == lastDate, let last = lastRules { return .success(last) }
        if let cached = paramCache[date.dayNumber] {
            lastDate = date
            lastRules = cached
            return .success(cached)
        }
        let d = RuleDate(year: date.year, month: date.month, day: date.day)!
        let candidates = library.filter { $0.ruleSet.period.contains(d) && (standard == nil || $0.ruleSet.standard == standard) }
        guard let rules = candidates.first else {
            let periods = library.map { "\($0.ruleSet.id) \($0.ruleSet.period)" }.joined(separator: "; ")
            return .failure(NoRuleSet(message: "no rule set is in force on \(date) (rule sets: \(periods))"))
        }
        if candidates.count > 1 {
            return .failure(NoRuleSet(message: "several rule sets are in force on \(date): \(candidates.map(\.ruleSet.reference).joined(separator: ", "))"))
        }
        var values = Self.parameterValues(rules, on: d)
        // Dates with the same parameter values share one array, so the activation sees the
        // same values (`HouseholdActivation.setParams`) without comparing them again.
        if let same = distinctParams.first(where: { $0.0 === rules && $0.1 == values }) {
            values = same.1
        } else {
            distinctParams.append((rules, values))
        }
        paramCache[date.dayNumber] = (rules, values)
        lastDate = date
        lastRules = (rules, values)
        return .success((rules, values))
    }

    /// Every parameter of `rules` valued on `date`, in the order of the Params object's fields.
    public static func parameterValues(_ rules: CompiledRuleSet, on date: RuleDate) -> [Value] {
        rules.environment.parameterFields.map { f in
            rules.ruleSet.parameters[f.name]?.entry(on: date).map { value($0.value) } ?? .null
        }
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
        if let a = lastActivation, a.rules === rules {
            if a.generation != generation { a.bind(batch, generation: generation) }
            return a
        }
        let key = ObjectIdentifier(rules)
        if let a = activations[key] {
            if a.generation != generation { a.bind(batch, generation: generation) }
            lastActivation = a
            return a
        }
        let a = HouseholdActivation(rules: rules, batch: batch)
        a.generation = generation
        activations[key] = a
        lastActivation = a
        return a
    }

    public func classify(household h: Int, of batch: SurveyBatch) -> HouseholdOutcome {
        generation &+= 1
        return classify(household: h, of: batch, fields: BatchFields(batch))
    }

    func classify(household h: Int, of batch: SurveyBatch, fields: BatchFields) -> HouseholdOutcome {
        let table = batch.households
        let householdID = fields.householdID.flatMap { table.text($0, h) } ?? "?"
        func reject(_ kind: String, _ message: String, hint: String? = nil, at place: SourceLocation? = nil) -> HouseholdOutcome {
            let loc = place ?? table.location(h)
            return .rejected(RejectedHousehold(householdID: householdID,
                                               problem: DataProblem(kind: kind, diagnostic: .error(at: loc, "household '\(householdID)': \(message)", hint: hint),
                                                                    householdID: householdID)))
        }
        let ref = referenceDate(batch, h, reviewField: fields.reviewDate)
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
        a.setParams(params)
        let memberIDs = fields.memberIDs, memberStart = a.memberStart, memberCount = a.memberCount
        func memberID(_ row: Int) -> String { memberIDs.id(row, start: memberStart) }

        // Derived values, household then member, in rule order.
        // Values are overwritten in place (a field reads only the fields before it, already set).
        let nHouseholdDerived = rules.householdDerived.count
        if a.householdDerived.count != nHouseholdDerived { a.householdDerived = Array(repeating: nil, count: nHouseholdDerived) }
        a.use(.householdDerived)
        for (k, p) in rules.householdDerived.enumerated() {
            do { a.householdDerived[k] = try p.evaluate(a) } catch let e as EvalError where e.kind == .missingValue {
                a.householdDerived[k] = nil
            } catch {
                return reject("rule_error", "derived field '\(rules.ruleSet.derived.filter { $0.scope == .household }[k].id)': \(error)")
            }
        }
        let nDerived = rules.memberDerived.count
        a.use(.memberDerived)
        // Each derived field for all members in one run (a field may use the fields before it,
        // of any member, so field by field is the order of dependencies). A missing value
        // leaves nil; any other error sends the household to the member-by-member loop below,
        // which reports the first error in member order as before.
        var derivedFailed = false
        // Only grows: the slots of the current household are all written below.
        if a.memberDerived.count < memberCount * nDerived {
            a.memberDerived = Array(repeating: nil, count: max(memberCount * nDerived, 2 * a.memberDerived.count))
        }
        if nDerived > 0 {
            // Every slot is written (nil for a missing value) before any later field reads it.
            for k in 0..<nDerived where !derivedFailed {
                rules.memberDerived[k].evaluateEach(a, count: memberCount, select: { a.member = memberStart + $0; return true }) { i, r in
                    switch r {
                    case .success(let v): a.memberDerived[i * nDerived + k] = v
                    case .failure(let e) where e.kind == .missingValue: a.memberDerived[i * nDerived + k] = nil
                    case .failure: derivedFailed = true; return false
                    }
                    return true
                }
            }
            if derivedFailed { a.memberDerived.removeAll(keepingCapacity: true) }
        }
        for row in batch.memberRanges[h] where derivedFailed {
            a.member = row
            for (k, p) in rules.memberDerived.enumerated() {
                do { a.memberDerived.append(try p.evaluate(a)) } catch let e as EvalError where e.kind == .missingValue {
                    a.memberDerived.append(nil)
                } catch {
                    let memberDerivedDefs = rules.ruleSet.derived.filter { $0.scope == .member }
                    return reject("rule_error", "member '\(memberID(row))', derived field '\(memberDerivedDefs[k].id)': \(error)")
                }
            }
        }

        // Fields required only in some cases (age bands, a dwelling) must be there when they are.
        a.use(.householdRequirement)
        for k in 0..<a.householdRequirementFields.count where !a.householdPresent(a.householdRequirementFields[k], h) {
            // The condition matters only when the field is empty.
            if (try? a.householdRequirementPrograms[k].evaluateBoolTyped(a)) == true {
                let req = rules.householdRequirements[k]
                return reject("missing_value", "'\(req.field.name)' is required here (\(req.program.source)) but is empty",
                              hint: "fill in '\(req.field.name)'", at: table.location(h, field: req.fieldIndex))
            }
        }
        a.use(.memberRequirement)
        let memberRequirementFields = a.memberRequirementFields, memberRequirementPrograms = a.memberRequirementPrograms
        for row in batch.memberRanges[h] where !memberRequirementFields.isEmpty {
            a.member = row
            for k in 0..<memberRequirementFields.count where !a.memberPresent(memberRequirementFields[k], row) {
                if (try? memberRequirementPrograms[k].evaluateBoolTyped(a)) == true {
                    let req = rules.memberRequirements[k]
                    return reject("missing_value", "member '\(memberID(row))': '\(req.field.name)' is required here (\(req.program.source)) but is empty",
                                  hint: "fill in '\(req.field.name)'", at: batch.members.location(row, field: req.fieldIndex))
                }
            }
        }

        // Indicators.
        let nIndicators = rules.indicators.count
        var deprived = [Bool](repeating: false, count: nIndicators)
        let wantMembers = withReasons
        var deprivedMembers = wantMembers ? [[String]](repeating: [], count: nIndicators) : emptyMemberLists(nIndicators)
        var unknown: [Int] = []
        let programs = a.indicatorPrograms, memberLevel = a.indicatorMemberLevel
        for i in 0..<nIndicators {
            do {
                if memberLevel[i] {
                    a.use(.memberIndicator)
                    // All members in one run; the first error stops, as it stopped the loop.
                    var failure: EvalError?
                    programs[i].evaluateBoolEach(a, count: memberCount, select: { a.member = memberStart + $0; return true }) { k, r in
                        switch r {
                        case .success(let b):
                            if b {
                                deprived[i] = true
                                if wantMembers { deprivedMembers[i].append(memberID(memberStart + k)) }
                            }
                            return true
                        case .failure(let e):
                            failure = e
                            return false
                        }
                    }
                    if let failure { throw failure }
                } else {
                    a.use(.householdIndicator)
                    deprived[i] = try programs[i].evaluateBool(a)
                }
            } catch let e as EvalError where e.kind == .missingValue {
                let ind = rules.indicators[i]
                switch ind.indicator.missing {
                case .error:
                    return reject("missing_value", "indicator '\(ind.indicator.id)' needs a value that is missing: \(e.message)",
                                  hint: "fill in the value, or declare another missing-data policy for the indicator")
                case .deprived: deprived[i] = true
                case .notDeprived: deprived[i] = false
                case .unknown: unknown.append(i)
                }
            } catch {
                return reject("rule_error", "indicator '\(rules.indicators[i].indicator.id)': \(error)")
            }
        }
        var count = 0
        for d in deprived where d { count += 1 }
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
        // Only explanations show these.
        func optional(_ p: Program?) -> Value? { withReasons ? p.flatMap { try? $0.evaluate(a) } : nil }
        let amount = optional(rules.incomeAmount), line = optional(rules.incomeLine)
        let scoreAmount = optional(rules.scoreAmount), scoreLine = optional(rules.scoreLine)
        a.incomeBelowLine = below

        var status: String
        if !unknown.isEmpty {
            status = "undetermined"
        } else {
            a.use(.householdClass)
            var first = -1, nMatched = 0
            let classPrograms = a.classPrograms
            for c in 0..<classPrograms.count {
                do {
                    if try classPrograms[c].evaluateBool(a) {
                        if nMatched == 0 { first = c }
                        nMatched += 1
                    }
                } catch let e as EvalError where e.kind == .missingValue {
                    continue
                } catch {
                    return reject("rule_error", "class '\(a.classIDs[c])': \(error)")
                }
            }
            guard nMatched == 1 else {
                let matched = (0..<classPrograms.count).filter { (try? classPrograms[$0].evaluateBool(a)) == true }.map { a.classIDs[$0] }
                let detail = matched.isEmpty ? "no household class matches" : "several household classes match: \(matched.joined(separator: ", "))"
                return reject("class_rules", "\(detail) (income test \(below ? "at or below" : "above") the line, \(count) deprivations)",
                              hint: "the classes of rule set \(rules.ruleSet.reference) must cover every case exactly once")
            }
            status = a.classIDs[first]
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
        if withReasons { reasons.reserveCapacity(rules.indicators.count) }
        a.use(.householdIndicator)
        // (A `where withReasons` on the loop would still copy every indicator's structure.)
        if withReasons {
            for (i, ind) in rules.indicators.enumerated() {
                if deprived[i] {
                    reasons.append(Language.allCases.map { render(ind.explain[$0 == .vi ? 0 : 1], a, members: deprivedMembers[i], language: $0) })
                } else if let not = ind.explainNotDeprived {
                    reasons.append(Language.allCases.map { render(not[$0 == .vi ? 0 : 1], a, members: [], language: $0) })
                } else {
                    reasons.append(["", ""])
                }
            }
        }

        var area = ""
        if let f = fields.area, let c = table.code(f, h) { area = a.householdCodeText(f, Int(c)) }
        return .classified(HouseholdResult(
            householdID: householdID, village: fields.village.flatMap { table.text($0, h) } ?? "",
            area: area, referenceDate: ref, rules: rules, status: status, deprivationCount: count,
            incomeBelowLine: below, deprived: deprived, unknownIndicators: unknown, deprivedMembers: deprivedMembers,
            newlyEscaped: newlyEscaped, incomeAmount: amount, incomeLine: line, scoreAmount: scoreAmount,
            scoreLine: scoreLine, reasons: reasons, memberIDSource: memberIDs, memberRows: batch.memberRanges[h]))
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
