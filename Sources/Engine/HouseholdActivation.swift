import CEL
import RuleModel
import Survey

/// Presents one household of a batch, its members and the parameters in force to compiled
/// expressions. Field names were resolved to indices when the rules were compiled; here a field
/// is read straight from the batch's columns.
final class HouseholdActivation: Activation {
    let rules: CompiledRuleSet
    var batch: SurveyBatch
    var household = 0
    var memberStart = 0
    var memberCount = 0
    var member = 0
    var referenceDate = CivilDate(year: 2000, month: 1, day: 1)!
    var params: [Value] = []
    var householdDerived: [Value?] = []
    /// Member-derived values, `memberCount × derived count`, row-major.
    var memberDerived: [Value?] = []
    var slots: [RuleVariable] = []

    var incomeBelowLine = false
    var deprivationCount = 0
    var deprived: [Bool] = []
    var status = ""
    var newlyEscaped = false

    private let householdOrigins: [FieldOrigin]
    private let memberOrigins: [FieldOrigin]
    private let householdCodes: [[Value]]
    private let memberCodes: [[Value]]
    private var codeSetCache: [UInt64: Value] = [:]

    init(rules: CompiledRuleSet, batch: SurveyBatch) {
        self.rules = rules
        self.batch = batch
        householdOrigins = rules.environment.householdFields.map(\.origin)
        memberOrigins = rules.environment.memberFields.map(\.origin)
        let schema = rules.environment.schema
        func codes(_ fields: [FieldSpec]) -> [[Value]] {
            fields.map { f in
                switch f.type {
                case .code(let list), .codeSet(let list):
                    return (schema.codeLists[list]?.codes ?? []).map { Value.string($0) }
                default: return []
                }
            }
        }
        householdCodes = codes(schema.households)
        memberCodes = codes(schema.members)
    }

    func use(_ stage: RuleStage) { slots = stage.variables }

    func variable(_ slot: Int) -> Value {
        switch slots[slot] {
        case .h: return .object(ObjectRef(type: RuleEnvironment.householdTypeID, row: Int32(household)))
        case .members: return .list(.rows(type: RuleEnvironment.memberTypeID, start: Int32(memberStart), count: Int32(memberCount)))
        case .params: return .object(ObjectRef(type: RuleEnvironment.paramsTypeID, row: 0))
        case .m: return .object(ObjectRef(type: RuleEnvironment.memberTypeID, row: Int32(member)))
        case .incomeBelowLine: return .bool(incomeBelowLine)
        case .deprivations: return .int(Int64(deprivationCount))
        case .deprived: return .object(ObjectRef(type: RuleEnvironment.deprivedTypeID, row: 0))
        case .status: return .string(status)
        case .newlyEscaped: return .bool(newlyEscaped)
        }
    }

    func field(_ field: Int, of object: ObjectRef) -> Value? {
        switch object.type {
        case RuleEnvironment.householdTypeID:
            return value(origin: householdOrigins[field], table: batch.households, row: Int(object.row), codes: householdCodes,
                         derived: { householdDerived[$0] })
        case RuleEnvironment.memberTypeID:
            let row = Int(object.row)
            let n = rules.memberDerived.count
            return value(origin: memberOrigins[field], table: batch.members, row: row, codes: memberCodes,
                         derived: { memberDerived[(row - memberStart) * n + $0] })
        case RuleEnvironment.paramsTypeID:
            return params[field]
        default:
            return .bool(deprived[field])
        }
    }

    @inline(__always)
    private func value(origin: FieldOrigin, table: RecordTable, row: Int, codes: [[Value]], derived: (Int) -> Value?) -> Value? {
        switch origin {
        case .survey(let i):
            return surveyValue(table, i, row, codes)
        case .monthsSince(let i):
            guard let d = table.date(i, row) else { return nil }
            return .int(Int64(Self.signedCompletedMonths(from: d, to: referenceDate)))
        case .ageYears(let i):
            guard let d = table.date(i, row) else { return nil }
            return .int(Int64(CivilDate.completedYears(from: d, to: referenceDate)))
        case .ageMonths(let i):
            guard let d = table.date(i, row) else { return nil }
            return .int(Int64(CivilDate.completedMonths(from: d, to: referenceDate)))
        case .derived(let k):
            return derived(k)
        }
    }

    private func surveyValue(_ table: RecordTable, _ i: Int, _ row: Int, _ codes: [[Value]]) -> Value? {
        switch table.fields[i].type {
        case .bool: return table.bool(i, row).map(Value.bool)
        case .int: return table.int(i, row).map(Value.int)
        case .decimal: return table.decimal(i, row).map(Value.double)
        case .text: return table.text(i, row).map(Value.string)
        case .code: return table.code(i, row).map { codes[i][Int($0)] }
        case .codeSet:
            guard let mask = table.codeSet(i, row) else { return nil }
            if let cached = codeSetCache[mask] { return cached }
            var items: [Value] = []
            for (bit, code) in codes[i].enumerated() where mask & (1 << UInt64(bit)) != 0 { items.append(code) }
            let v = Value.list(.array(items))
            codeSetCache[mask] = v
            return v
        case .date, .birthDate: return table.date(i, row).map { .string($0.description) }
        }
    }

    /// Completed months from `a` to `b`; a date after `b` gives a negative number (at least -1),
    /// so "on or before the reference date" reads `months_since_x >= 0`.
    static func signedCompletedMonths(from a: CivilDate, to b: CivilDate) -> Int {
        a <= b ? CivilDate.completedMonths(from: a, to: b) : -CivilDate.completedMonths(from: b, to: a) - 1
    }
}
