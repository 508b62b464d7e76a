import CEL
import Diagnostics
import RuleModel
import Survey

/// A text with `{{ expression }}` holes, compiled once. `{{members}}` in an indicator's template
/// names the members that made the household deprived.
public struct Template: Sendable {
    public enum Segment: Sendable {
        case text(String)
        case members
        case expression(Program)
        /// A code field (`h.water_source`): shown with its label in the officer's language.
        case code(Program, table: String, field: String)
    }
    public let segments: [Segment]
}

public struct CompiledIndicator: Sendable {
    public let indicator: Indicator
    public let program: Program
    public let isMemberLevel: Bool
    public let explain: [Template]          // indexed by Language order: vi, en
    public let explainNotDeprived: [Template]?
}

// Classes, not structs: eligibility walks these for every member of every household, and a
// struct of a programme, its rules and their texts would be copied, field by field, each time.
public final class CompiledProgrammeRule: Sendable {
    public let rule: ProgrammeRule
    public let program: Program
    /// The rule's reason in Vietnamese and English, with `{{ expression }}` holes.
    public let reason: [Template]

    init(rule: ProgrammeRule, program: Program, reason: [Template]) {
        self.rule = rule
        self.program = program
        self.reason = reason
    }
}

public final class CompiledProgramme: Sendable {
    public let programme: Programme
    public let scope: CompiledProgrammeRule?
    public let paths: [CompiledProgrammeRule]
    public let priorities: [CompiledProgrammeRule]
    public let bands: [CompiledProgrammeRule]
    /// Why a person in scope is not eligible, in Vietnamese and English.
    public let notEligibleReason: [Template]

    init(programme: Programme, scope: CompiledProgrammeRule?, paths: [CompiledProgrammeRule], priorities: [CompiledProgrammeRule],
         bands: [CompiledProgrammeRule], notEligibleReason: [Template]) {
        self.programme = programme
        self.scope = scope
        self.paths = paths
        self.priorities = priorities
        self.bands = bands
        self.notEligibleReason = notEligibleReason
    }
}

public struct CompiledRequirement: Sendable {
    public let field: FieldSpec
    public let fieldIndex: Int
    public let program: Program
}

/// A rule set with every expression parsed, type-checked against the survey schema and
/// compiled, ready to run over households.
public final class CompiledRuleSet: Sendable {
    public let ruleSet: RuleSet
    public let environment: RuleEnvironment
    public let householdRequirements: [CompiledRequirement]
    public let memberRequirements: [CompiledRequirement]
    public let householdDerived: [Program]
    public let memberDerived: [Program]
    public let indicators: [CompiledIndicator]
    public let incomeBelowLine: Program
    public let incomeAmount: Program?
    public let incomeLine: Program?
    public let scoreAmount: Program?
    public let scoreLine: Program?
    public let classes: [(HouseholdClass, Program)]
    public let newlyEscaped: Program?
    public let programmes: [CompiledProgramme]

    init(ruleSet: RuleSet, environment: RuleEnvironment, householdRequirements: [CompiledRequirement],
         memberRequirements: [CompiledRequirement], householdDerived: [Program], memberDerived: [Program],
         indicators: [CompiledIndicator], incomeBelowLine: Program, incomeAmount: Program?, incomeLine: Program?,
         scoreAmount: Program?, scoreLine: Program?, classes: [(HouseholdClass, Program)],
         newlyEscaped: Program?, programmes: [CompiledProgramme]) {
        self.ruleSet = ruleSet
        self.environment = environment
        self.householdRequirements = householdRequirements
        self.memberRequirements = memberRequirements
        self.householdDerived = householdDerived
        self.memberDerived = memberDerived
        self.indicators = indicators
        self.incomeBelowLine = incomeBelowLine
        self.incomeAmount = incomeAmount
        self.incomeLine = incomeLine
        self.scoreAmount = scoreAmount
        self.scoreLine = scoreLine
        self.classes = classes
        self.newlyEscaped = newlyEscaped
        self.programmes = programmes
    }

    /// Compiles every expression of `ruleSet`; throws all type errors, each at its place in the YAML.
    public static func compile(_ ruleSet: RuleSet, schema: SurveySchema) throws(DiagnosticList) -> CompiledRuleSet {
        var compiler = RuleCompiler(ruleSet: ruleSet, schema: schema)
        return try compiler.run()
    }
}

private let sourceMap = SourceMap()

struct RuleCompiler {
    let ruleSet: RuleSet
    let schema: SurveySchema
    private(set) var env: RuleEnvironment
    var bag = DiagnosticBag()
    /// Declarations by stage ordinal, built once per stage: building them hashes every field name
    /// of every object type, which per expression made loading rules cost more than classifying
    /// a survey of 20 thousand households. A derived field is appended to those built (`addDerived`).
    private var declarationsByStage = [Declarations?](repeating: nil, count: RuleStage.allStages.count)
    /// What every stage's declarations start from (`RuleEnvironment.objectDeclarations`), built
    /// once: its code lists and parameter values are most of the hashing.
    private var objectDeclarations: Declarations?

    init(ruleSet: RuleSet, schema: SurveySchema) {
        self.ruleSet = ruleSet
        self.schema = schema
        self.env = RuleEnvironment(schema: schema, ruleSet: ruleSet)
    }

    mutating func compile(_ expr: Located<String>, stage: RuleStage, expecting: CELType? = .bool, context: String) -> Program? {
        do {
            return try Program(expr.value, declarations: declarations(for: stage), expecting: expecting)
        } catch let error as CELError {
            bag.append(sourceMap.diagnostic(error, in: expr, context: context))
        } catch {
            bag.error(at: expr.location, "\(context): \(error)")
        }
        return nil
    }

    private mutating func declarations(for stage: RuleStage) -> Declarations {
        if let d = declarationsByStage[stage.ordinal] { return d }
        if objectDeclarations == nil { objectDeclarations = env.objectDeclarations() }
        var d = objectDeclarations!
        for v in stage.variables {
            d.declareVariable(v.rawValue, RuleEnvironment.type(of: v))
        }
        declarationsByStage[stage.ordinal] = d
        return d
    }

    private mutating func addDerived(_ name: String, scope: DerivedField.Scope, type: CELType, index: Int) {
        env.addDerived(name, scope: scope, type: type, index: index)
        let typeName = scope == .household ? ObjectTypeName.household : ObjectTypeName.member
        objectDeclarations?.appendField(name, type, toObjectType: typeName)
        for i in declarationsByStage.indices where declarationsByStage[i] != nil {
            declarationsByStage[i]!.appendField(name, type, toObjectType: typeName)
        }
    }

    mutating func run() throws(DiagnosticList) -> CompiledRuleSet {
        // Derived fields first, in order: each may use those before it.
        var householdDerived: [Program] = []
        var memberDerived: [Program] = []
        for d in ruleSet.derived {
            let stage: RuleStage = d.scope == .household ? .householdDerived : .memberDerived
            guard let p = compile(d.expression, stage: stage, expecting: nil, context: "derived field '\(d.id)'") else { continue }
            switch d.scope {
            case .household:
                addDerived(d.id, scope: .household, type: p.resultType, index: householdDerived.count)
                householdDerived.append(p)
            case .member:
                addDerived(d.id, scope: .member, type: p.resultType, index: memberDerived.count)
                memberDerived.append(p)
            }
        }
        let householdRequirements = requirements(schema.households, stage: .householdRequirement)
        let memberRequirements = requirements(schema.members, stage: .memberRequirement)

        var indicators: [CompiledIndicator] = []
        for ind in ruleSet.indicators {
            let isMember = ind.memberCondition != nil
            guard let cond = ind.memberCondition ?? ind.condition,
                  let p = compile(cond, stage: isMember ? .memberIndicator : .householdIndicator, context: "indicator '\(ind.id)'") else { continue }
            let explain = [template(ind.explain.vi, at: ind, member: isMember), template(ind.explain.en, at: ind, member: isMember)]
            let not = ind.explainNotDeprived.map { [template($0.vi, at: ind, member: false), template($0.en, at: ind, member: false)] }
            indicators.append(CompiledIndicator(indicator: ind, program: p, isMemberLevel: isMember,
                                                explain: explain, explainNotDeprived: not))
        }

        var incomeBelow: Program?
        var amount: Program?, line: Program?, scoreAmount: Program?, scoreLine: Program?
        if let t = ruleSet.incomeTest {
            incomeBelow = compile(t.belowLine, stage: .incomeTest, context: "income_test.below_line")
            amount = t.amount.flatMap { compile($0, stage: .incomeTest, expecting: nil, context: "income_test.amount") }
            line = t.line.flatMap { compile($0, stage: .incomeTest, expecting: nil, context: "income_test.line") }
            scoreAmount = t.scoreAmount.flatMap { compile($0, stage: .incomeTest, expecting: nil, context: "income_test.score_amount") }
            scoreLine = t.scoreLine.flatMap { compile($0, stage: .incomeTest, expecting: nil, context: "income_test.score_line") }
        } else {
            bag.error(at: ruleSet.location, "rule set '\(ruleSet.id)' has no 'income_test'")
        }
        var classes: [(HouseholdClass, Program)] = []
        for c in ruleSet.classes {
            if let p = compile(c.when, stage: .householdClass, context: "class '\(c.id)'") { classes.append((c, p)) }
        }
        if ruleSet.classes.isEmpty {
            bag.error(at: ruleSet.location, "rule set '\(ruleSet.id)' declares no household classes")
        }
        let newlyEscaped = ruleSet.newlyEscaped.flatMap { compile($0.when, stage: .newlyEscaped, context: "newly_escaped") }

        var programmes: [CompiledProgramme] = []
        for prog in ruleSet.programmes {
            let stage: RuleStage = prog.level == .member ? .memberProgramme : .householdProgramme
            func rule(_ r: ProgrammeRule, _ context: String) -> CompiledProgrammeRule? {
                guard let p = compile(r.when, stage: stage, context: context) else { return nil }
                return CompiledProgrammeRule(rule: r, program: p, reason: [r.reason.vi, r.reason.en].map {
                    template($0, at: r.location, stage: stage, context: context + " reason")
                })
            }
            func rules(_ list: [ProgrammeRule], _ what: String) -> [CompiledProgrammeRule] {
                list.compactMap { r in rule(r, "programme '\(prog.id)' \(what) '\(r.id)'") }
            }
            let scope = prog.scope.flatMap { r in rule(r, "programme '\(prog.id)' scope") }
            let notEligible = [prog.notEligibleReason.vi, prog.notEligibleReason.en].map {
                template($0, at: prog.location, stage: stage, context: "programme '\(prog.id)' not_eligible_reason")
            }
            programmes.append(CompiledProgramme(programme: prog, scope: scope, paths: rules(prog.paths, "path"),
                                                priorities: rules(prog.priorities, "priority"), bands: rules(prog.bands, "band"),
                                                notEligibleReason: notEligible))
        }
        if bag.hasErrors { throw DiagnosticList(bag.diagnostics) }
        return CompiledRuleSet(ruleSet: ruleSet, environment: env, householdRequirements: householdRequirements,
                               memberRequirements: memberRequirements, householdDerived: householdDerived,
                               memberDerived: memberDerived, indicators: indicators, incomeBelowLine: incomeBelow!,
                               incomeAmount: amount, incomeLine: line, scoreAmount: scoreAmount, scoreLine: scoreLine,
                               classes: classes, newlyEscaped: newlyEscaped, programmes: programmes)
    }

    mutating func requirements(_ fields: [FieldSpec], stage: RuleStage) -> [CompiledRequirement] {
        var out: [CompiledRequirement] = []
        for (i, f) in fields.enumerated() {
            guard case .requiredWhen(let expr, let location) = f.requirement else { continue }
            if let p = compile(Located(expr, location: location, style: .doubleQuoted), stage: stage,
                               context: "required_when of '\(f.name)'") {
                out.append(CompiledRequirement(field: f, fieldIndex: i, program: p))
            }
        }
        return out
    }

    /// Splits `text` at `{{ … }}` and compiles each hole in the indicator's household stage.
    mutating func template(_ text: String, at ind: Indicator, member: Bool) -> Template {
        var segments: [Template.Segment] = []
        var rest = Substring(text)
        while let open = rest.firstRange(ofASCII: "{{") {
            if open.lowerBound > rest.startIndex { segments.append(.text(String(rest[..<open.lowerBound]))) }
            guard let close = rest[open.upperBound...].firstRange(ofASCII: "}}") else {
                bag.error(at: ind.location, "indicator '\(ind.id)': unclosed '{{' in explanation template")
                return Template(segments: segments)
            }
            let hole = rest[open.upperBound..<close.lowerBound].trimmingSpaces()
            if hole == "members" {
                if !member {
                    bag.error(at: ind.location, "indicator '\(ind.id)': '{{members}}' names the members that made the household deprived, so it needs 'deprived_when_member'")
                }
                segments.append(.members)
            } else if let p = compile(Located(String(hole), location: ind.location), stage: .householdIndicator, expecting: nil,
                                      context: "indicator '\(ind.id)' explanation '{{\(hole)}}'") {
                if let field = codeField(String(hole)) {
                    segments.append(.code(p, table: field.table, field: field.field))
                } else {
                    segments.append(.expression(p))
                }
            }
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { segments.append(.text(String(rest))) }
        return Template(segments: segments)
    }
}

extension RuleCompiler {
    /// Splits `text` at `{{ … }}` and compiles each hole at `stage` (programme reasons).
    mutating func template(_ text: String, at location: SourceLocation, stage: RuleStage, context: String) -> Template {
        var segments: [Template.Segment] = []
        var rest = Substring(text)
        while let open = rest.firstRange(ofASCII: "{{") {
            if open.lowerBound > rest.startIndex { segments.append(.text(String(rest[..<open.lowerBound]))) }
            guard let close = rest[open.upperBound...].firstRange(ofASCII: "}}") else {
                bag.error(at: location, "\(context): unclosed '{{' in reason template")
                return Template(segments: segments)
            }
            let hole = rest[open.upperBound..<close.lowerBound].trimmingSpaces()
            if let p = compile(Located(String(hole), location: location), stage: stage, expecting: nil,
                               context: "\(context) '{{\(hole)}}'") {
                segments.append(.expression(p))
            }
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { segments.append(.text(String(rest))) }
        return Template(segments: segments)
    }
}

extension RuleCompiler {
    /// `h.x` naming a code column of the survey, so explanations can show its label.
    func codeField(_ hole: String) -> (table: String, field: String)? {
        guard hole.hasPrefix("h.") else { return nil }
        let name = String(hole.dropFirst(2))
        guard let spec = schema.households.first(where: { $0.name == name }) else { return nil }
        if case .code = spec.type { return ("households", name) }
        return nil
    }
}

extension Substring {
    /// Where the ASCII `marker` (a template's `{{` or `}}`) first stands, compared byte by byte:
    /// Foundation's `range(of:)` went through NSString and cost more than compiling the holes
    /// it found (a quarter of compiling the shipped rules).
    func firstRange(ofASCII marker: StaticString) -> Range<Index>? {
        let bytes = utf8
        let count = marker.utf8CodeUnitCount
        return marker.withUTF8Buffer { want -> Range<Index>? in
            var start = bytes.startIndex
            while start != bytes.endIndex {
                var i = start, matched = 0
                while matched < count, i != bytes.endIndex, bytes[i] == want[matched] {
                    bytes.formIndex(after: &i)
                    matched += 1
                }
                if matched == count { return start..<i }
                bytes.formIndex(after: &start)
            }
            return nil
        }
    }

    func trimmingSpaces() -> Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}
