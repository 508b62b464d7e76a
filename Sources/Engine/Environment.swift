import CEL
import RuleModel
import Survey

/// The variables a rule expression may name. Which ones exist depends on where the expression
/// stands: an indicator cannot see the class, a class can see the deprivation count.
public enum RuleVariable: String, Sendable, CaseIterable {
    case h, members, params, m
    case incomeBelowLine = "income_below_line"
    case deprivations, deprived, status
    case newlyEscaped = "newly_escaped"
}

/// Where an expression stands in a rule set, and so what it may see.
public enum RuleStage: Sendable {
    case householdRequirement, memberRequirement
    case householdDerived, memberDerived
    case householdIndicator, memberIndicator
    case incomeTest
    case householdClass
    case newlyEscaped
    case householdProgramme, memberProgramme
    /// Plan targets (Rules/plans): a classified household, and one of its members.
    case planHousehold, planMember

    static let allStages: [RuleStage] = [.householdRequirement, .memberRequirement, .householdDerived, .memberDerived,
                                         .householdIndicator, .memberIndicator, .incomeTest, .householdClass, .newlyEscaped,
                                         .householdProgramme, .memberProgramme, .planHousehold, .planMember]

    /// Position in `allStages`.
    var ordinal: Int {
        switch self {
        case .householdRequirement: return 0
        case .memberRequirement: return 1
        case .householdDerived: return 2
        case .memberDerived: return 3
        case .householdIndicator: return 4
        case .memberIndicator: return 5
        case .incomeTest: return 6
        case .householdClass: return 7
        case .newlyEscaped: return 8
        case .householdProgramme: return 9
        case .memberProgramme: return 10
        case .planHousehold: return 11
        case .planMember: return 12
        }
    }

    var variables: [RuleVariable] {
        switch self {
        case .householdRequirement, .householdDerived, .householdIndicator, .incomeTest:
            return [.h, .members, .params]
        case .memberRequirement, .memberDerived, .memberIndicator:
            return [.h, .members, .params, .m]
        case .householdClass:
            return [.h, .members, .params, .incomeBelowLine, .deprivations, .deprived]
        case .newlyEscaped:
            return [.h, .members, .params, .incomeBelowLine, .deprivations, .deprived, .status]
        case .householdProgramme, .planHousehold:
            return [.h, .members, .params, .incomeBelowLine, .deprivations, .deprived, .status, .newlyEscaped]
        case .memberProgramme, .planMember:
            return [.h, .members, .params, .incomeBelowLine, .deprivations, .deprived, .status, .newlyEscaped, .m]
        }
    }
}

/// Names of the host object types as rule authors see them in messages.
enum ObjectTypeName {
    static let household = "Household"
    static let member = "Member"
    static let params = "Params"
    static let deprived = "Deprivations"
}

/// A field of the Household or Member object as the rules see it: read from the survey,
/// computed from dates, or derived by a rule.
public enum FieldOrigin: Sendable {
    case survey(Int)               // index into the RecordTable's fields
    case monthsSince(Int)          // completed months from a date field to the reference date
    case ageYears(Int)             // completed years from the birth date field
    case ageMonths(Int)
    case derived(Int)              // index into the rule set's derived fields of this scope
}

/// The object types and fields of one rule set over one survey schema.
public struct RuleEnvironment: Sendable {
    public let schema: SurveySchema
    public private(set) var householdFields: [(name: String, type: CELType, origin: FieldOrigin)] = []
    public private(set) var memberFields: [(name: String, type: CELType, origin: FieldOrigin)] = []
    public let parameterFields: [(name: String, type: CELType)]
    /// The distinct values each parameter takes over its dates (same order as `parameterFields`).
    let parameterValues: [[Value]]
    public let indicatorIDs: [String]

    init(schema: SurveySchema, ruleSet: RuleSet) {
        self.schema = schema
        for (i, f) in schema.households.enumerated() where !f.personal {
            householdFields.append((f.name, Self.celType(f.type), .survey(i)))
        }
        for (i, f) in schema.households.enumerated() where !f.personal && f.type.isDate {
            householdFields.append(("months_since_\(f.name)", .int, .monthsSince(i)))
        }
        for (i, f) in schema.members.enumerated() where !f.personal {
            memberFields.append((f.name, Self.celType(f.type), .survey(i)))
        }
        if let birth = schema.members.firstIndex(where: { $0.type.isBirthDate }) {
            memberFields.append(("age", .int, .ageYears(birth)))
            memberFields.append(("age_months", .int, .ageMonths(birth)))
        }
        parameterFields = ruleSet.parameterOrder.compactMap { id in
            guard let p = ruleSet.parameters[id], let first = p.entries.first else { return nil }
            return (id, Self.celType(first.value))
        }
        parameterValues = parameterFields.map { f in
            var distinct: [Value] = []
            for e in ruleSet.parameters[f.name]?.entries ?? [] {
                let v = Classifier.value(e.value)
                if !distinct.contains(v) { distinct.append(v) }
            }
            return distinct
        }
        indicatorIDs = ruleSet.indicators.map(\.id)
    }

    mutating func addDerived(_ name: String, scope: DerivedField.Scope, type: CELType, index: Int) {
        switch scope {
        case .household: householdFields.append((name, type, .derived(index)))
        case .member: memberFields.append((name, type, .derived(index)))
        }
    }

    /// Declarations for an expression at `stage`. Object type ids are the same in every stage.
    func declarations(for stage: RuleStage) -> Declarations {
        var d = objectDeclarations()
        for v in stage.variables {
            d.declareVariable(v.rawValue, Self.type(of: v))
        }
        return d
    }

    /// The object types, their code fields and parameter values, which every stage shares; a
    /// stage adds the variables it may see.
    func objectDeclarations() -> Declarations {
        var d = Declarations()
        d.declareObjectType(ObjectTypeDecl(name: ObjectTypeName.household, fields: householdFields.map { ($0.name, $0.type) }))
        d.declareObjectType(ObjectTypeDecl(name: ObjectTypeName.member, fields: memberFields.map { ($0.name, $0.type) }))
        d.declareObjectType(ObjectTypeDecl(name: ObjectTypeName.params, fields: parameterFields))
        d.declareObjectType(ObjectTypeDecl(name: ObjectTypeName.deprived, fields: indicatorIDs.map { ($0, .bool) }))
        // Code fields of the survey compare as code ids; parameters as one of their dated values.
        for (typeName, fields, specs) in [(ObjectTypeName.household, householdFields, schema.households),
                                          (ObjectTypeName.member, memberFields, schema.members)] {
            for f in fields {
                guard case .survey(let i) = f.origin, case .code(let list) = specs[i].type else { continue }
                d.declareCodes(schema.codeLists[list]?.codes ?? [], type: typeName, field: f.name)
            }
        }
        for (f, values) in zip(parameterFields, parameterValues) {
            d.declareValues(values, type: ObjectTypeName.params, field: f.name)
        }
        return d
    }

    static let householdTypeID: Int32 = 0
    static let memberTypeID: Int32 = 1
    static let paramsTypeID: Int32 = 2
    static let deprivedTypeID: Int32 = 3

    static func type(of v: RuleVariable) -> CELType {
        switch v {
        case .h: return .object(ObjectTypeName.household)
        case .members: return .list(.object(ObjectTypeName.member))
        case .params: return .object(ObjectTypeName.params)
        case .m: return .object(ObjectTypeName.member)
        case .incomeBelowLine, .newlyEscaped: return .bool
        case .deprivations: return .int
        case .deprived: return .object(ObjectTypeName.deprived)
        case .status: return .string
        }
    }

    static func celType(_ t: FieldType) -> CELType {
        switch t {
        case .text, .code, .date, .birthDate: return .string
        case .bool: return .bool
        case .int: return .int
        case .decimal: return .double
        case .codeSet: return .list(.string)
        }
    }

    static func celType(_ v: ParameterValue) -> CELType {
        switch v {
        case .int: return .int
        case .double: return .double
        case .bool: return .bool
        case .string: return .string
        case .strings: return .list(.string)
        }
    }
}

extension FieldType {
    var isDate: Bool { if case .date = self { return true } else { return false } }
    var isBirthDate: Bool { if case .birthDate = self { return true } else { return false } }
}
