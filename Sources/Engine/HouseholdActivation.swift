import CEL
import RuleModel
import Survey

/// Presents one household of a batch, its members and the parameters in force to compiled
/// expressions. Field names were resolved to indices when the rules were compiled; here a field
/// is read straight from the batch's columns.
final class HouseholdActivation: Activation {
    let rules: CompiledRuleSet
    /// The batch being classified. Setting it re-binds the column pointers (`bind`).
    var batch: SurveyBatch {
        // A new batch reuses household and member row numbers: ages cached for the old one
        // must not be served for the new one, whoever sets the batch.
        didSet {
            bindColumns()
            agesValid = false
        }
    }
    // Setting any of these (a new household, batch or date) drops the cached ages.
    /// The classifier's batch counter when `batch` was last bound.
    @exclusivity(unchecked) var generation = 0 { didSet { agesValid = false } }
    @exclusivity(unchecked) var household = 0 { didSet { agesValid = false } }
    @exclusivity(unchecked) var memberStart = 0 { didSet { agesValid = false } }
    @exclusivity(unchecked) var memberCount = 0 { didSet { agesValid = false } }
    @exclusivity(unchecked) var member = 0
    @exclusivity(unchecked) var referenceDate = CivilDate(year: 2000, month: 1, day: 1)! { didSet { agesValid = false } }
    /// The parameter values in force; set with `setParams(_:)`.
    @exclusivity(unchecked) private(set) var params: [Value] = []
    @exclusivity(unchecked) var householdDerived: [Value?] = []
    /// Member-derived values, `memberCount × derived count`, row-major.
    @exclusivity(unchecked) var memberDerived: [Value?] = []
    @exclusivity(unchecked) var slots: [RuleVariable] = []

    @exclusivity(unchecked) var incomeBelowLine = false
    @exclusivity(unchecked) var deprivationCount = 0
    @exclusivity(unchecked) var deprived: [Bool] = []
    @exclusivity(unchecked) var status = ""
    @exclusivity(unchecked) var newlyEscaped = false

    private let householdOrigins: [FieldOrigin]
    private let memberOrigins: [FieldOrigin]
    private let householdCodes: [[Value]]
    private let memberCodes: [[Value]]
    /// Code texts of household code fields (`area` → "rural"), for the output row.
    private let householdCodeTexts: [[String]]
    /// For each parameter, the index of its value in `rules.environment.parameterValues`
    /// (-1: none), computed for the `params` array in `paramsIndexed`.
    @exclusivity(unchecked) private var paramIndexes: [Int] = []
    /// Field kinds of the survey tables, resolved once: no `FieldSpec` copies per access.
    private let householdKinds: [Kind]
    private let memberKinds: [Kind]
    /// Raw value columns of the bound batch (one pointer per field). The batch keeps the arrays
    /// alive and is never mutated while bound, so the pointers stay valid until the next bind.
    private let householdColumns: UnsafeMutablePointer<UnsafePointer<Int64>?>
    private let memberColumns: UnsafeMutablePointer<UnsafePointer<Int64>?>
    /// The compiled programs of the indicators and classes, in rule order, without the
    /// structures around them (copying those costs reference counting per household).
    let indicatorPrograms: [Program]
    let indicatorMemberLevel: [Bool]
    let classPrograms: [Program]
    let classIDs: [String]
    /// Field indices of the conditional requirements, in rule order.
    let householdRequirementFields: [Int]
    let memberRequirementFields: [Int]
    /// `rules.memberDerived.count`, the row stride of `memberDerived`.
    let memberDerivedCount: Int
    /// The requirement programs, in the same order (no `CompiledRequirement` copies per member).
    let householdRequirementPrograms: [Program]
    let memberRequirementPrograms: [Program]
    /// The variables of every stage, built once (`RuleStage.variables` allocates an array).
    private static let stageSlots: [[RuleVariable]] = RuleStage.allStages.map(\.variables)
    /// Completed months of age of the current household's members (by birth-date field), each
    /// computed once per household: rules ask for `m.age` many times per member.
    /// Completed months of each member of the current household (`Int64.min`: no birth date),
    /// valid while `agesValid` and for birth-date field `ageCacheField`.
    @exclusivity(unchecked) private var ageCache: UnsafeMutablePointer<Int64>
    /// The same ages in completed years (`Int64.min`: no birth date).
    @exclusivity(unchecked) private var yearsCache: UnsafeMutablePointer<Int64>
    @exclusivity(unchecked) private var ageCacheCapacity = 0
    @exclusivity(unchecked) private var ageCacheField = -1
    @exclusivity(unchecked) private var agesValid = false
    /// Code-set values (`h.devices`) by mask, one table per field: household fields first,
    /// then member fields (`raw`'s `cacheSlot`).
    @exclusivity(unchecked) private var codeSetCache: [[Value?]]

    enum Kind: UInt8 { case text, bool, int, decimal, code, codeSet, date }

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
        func kinds(_ fields: [FieldSpec]) -> [Kind] {
            fields.map { f in
                switch f.type {
                case .text: return .text
                case .bool: return .bool
                case .int: return .int
                case .decimal: return .decimal
                case .code: return .code
                case .codeSet: return .codeSet
                case .date, .birthDate: return .date
                }
            }
        }
        householdCodes = codes(schema.households)
        memberCodes = codes(schema.members)
        householdCodeTexts = schema.households.map { f in
            if case .code(let list) = f.type { return schema.codeLists[list]?.codes ?? [] }
            return []
        }
        householdKinds = kinds(schema.households)
        memberKinds = kinds(schema.members)
        householdColumns = .allocate(capacity: max(1, householdKinds.count))
        householdColumns.initialize(repeating: nil, count: max(1, householdKinds.count))
        memberColumns = .allocate(capacity: max(1, memberKinds.count))
        memberColumns.initialize(repeating: nil, count: max(1, memberKinds.count))
        indicatorPrograms = rules.indicators.map(\.program)
        indicatorMemberLevel = rules.indicators.map(\.isMemberLevel)
        classPrograms = rules.classes.map(\.1)
        classIDs = rules.classes.map(\.0.id)
        householdRequirementFields = rules.householdRequirements.map(\.fieldIndex)
        memberRequirementFields = rules.memberRequirements.map(\.fieldIndex)
        memberDerivedCount = rules.memberDerived.count
        householdRequirementPrograms = rules.householdRequirements.map(\.program)
        memberRequirementPrograms = rules.memberRequirements.map(\.program)
        ageCache = .allocate(capacity: 0)
        yearsCache = .allocate(capacity: 0)
        codeSetCache = Array(repeating: [], count: householdKinds.count + memberKinds.count)
        bindColumns()
    }

    deinit {
        householdColumns.deallocate()
        memberColumns.deallocate()
        ageCache.deallocate()
        yearsCache.deallocate()
    }

    /// Binds a new batch.
    func bind(_ batch: SurveyBatch, generation: Int) {
        self.batch = batch
        self.generation = generation
    }

    private func bindColumns() {
        for (f, column) in batch.households.values.enumerated() where f < householdKinds.count {
            householdColumns[f] = column.withUnsafeBufferPointer { $0.baseAddress }
        }
        for (f, column) in batch.members.values.enumerated() where f < memberKinds.count {
            memberColumns[f] = column.withUnsafeBufferPointer { $0.baseAddress }
        }
    }

    /// Whether household field `f` has a value in row `row` (`RecordTable.isPresent`).
    @inline(__always)
    func householdPresent(_ f: Int, _ row: Int) -> Bool {
        householdKinds[f] == .text ? batch.households.hasText(f, row) : householdColumns[f]![row] != RecordTable.absent
    }

    @inline(__always)
    func memberPresent(_ f: Int, _ row: Int) -> Bool {
        memberKinds[f] == .text ? batch.members.hasText(f, row) : memberColumns[f]![row] != RecordTable.absent
    }

    /// Completed months from member `row`'s birth date (field `i`) to the reference date, nil
    /// when absent; cached per household.
    @inline(__always)
    private func memberAgeMonths(_ i: Int, _ row: Int) -> Int64? {
        let k = row - memberStart
        guard k >= 0 && k < memberCount else { return computedAge(i, row) }
        if !agesValid || ageCacheField != i { fillAges(i) }
        let v = ageCache[k]
        return v == Int64.min ? nil : v
    }

    /// The ages of every member of the current household from birth-date field `i`.
    private func fillAges(_ i: Int) {
        if ageCacheCapacity < memberCount {
            ageCache.deallocate()
            yearsCache.deallocate()
            ageCacheCapacity = max(memberCount, 2 * ageCacheCapacity)
            ageCache = .allocate(capacity: ageCacheCapacity)
            yearsCache = .allocate(capacity: ageCacheCapacity)
        }
        for k in 0..<memberCount {
            let months = computedAge(i, memberStart + k)
            ageCache[k] = months ?? Int64.min
            yearsCache[k] = months.map { CivilDate.completedYears(months: $0) } ?? Int64.min
        }
        ageCacheField = i
        agesValid = true
    }

    private func computedAge(_ i: Int, _ row: Int) -> Int64? {
        let raw = memberColumns[i]![row]
        guard raw != RecordTable.absent else { return nil }
        return Int64(CivilDate.completedMonths(from: CivilDate(dayNumber: Int32(truncatingIfNeeded: raw)), to: referenceDate))
    }

    /// The text of code `c` of household field `f` ("" when it is not a code field).
    func householdCodeText(_ f: Int, _ c: Int) -> String {
        let texts = householdCodeTexts[f]
        return c >= 0 && c < texts.count ? texts[c] : ""
    }

    func use(_ stage: RuleStage) { slots = Self.stageSlots[stage.ordinal] }

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
        let row = Int(object.row)
        switch object.type {
        case RuleEnvironment.householdTypeID: return householdField(field, row)
        case RuleEnvironment.memberTypeID: return memberField(field, row)
        case RuleEnvironment.paramsTypeID: return params[field]
        default: return .bool(deprived[field])
        }
    }

    /// `h.x`, `m.x`, `params.x` in one call (`field(_:of:)` after `variable(_:)`, without the
    /// object reference in between).
    func field(_ field: Int, ofVariable slot: Int) -> Value?? {
        switch slots[slot] {
        case .m: return .some(memberField(field, member))
        case .h: return .some(householdField(field, household))
        case .params: return .some(params[field])
        case .deprived: return .some(.bool(deprived[field]))
        default: return nil
        }
    }

    /// The code id of `h.x` / `m.x` when `x` is a code field of the survey with a value; else -1.
    func codeID(_ field: Int, ofVariable slot: Int) -> Int {
        switch slots[slot] {
        case .m: return memberCode(field, member)
        case .h: return householdCode(field, household)
        default: return -1
        }
    }

    func codeID(_ field: Int, of object: ObjectRef) -> Int {
        switch object.type {
        case RuleEnvironment.householdTypeID: return householdCode(field, Int(object.row))
        case RuleEnvironment.memberTypeID: return memberCode(field, Int(object.row))
        default: return -1
        }
    }

    @inline(__always)
    private func householdCode(_ field: Int, _ row: Int) -> Int {
        guard case .survey(let i) = householdOrigins[field], householdKinds[i] == .code else { return -1 }
        let v = householdColumns[i]![row]
        return v == RecordTable.absent ? -1 : Int(Int32(truncatingIfNeeded: v))
    }

    @inline(__always)
    private func memberCode(_ field: Int, _ row: Int) -> Int {
        guard case .survey(let i) = memberOrigins[field], memberKinds[i] == .code else { return -1 }
        let v = memberColumns[i]![row]
        return v == RecordTable.absent ? -1 : Int(Int32(truncatingIfNeeded: v))
    }

    // MARK: Typed reads (`Activation.intField` …): no `Value` for ints, doubles and flags.

    func intField(_ field: Int, ofVariable slot: Int) -> Int64?? {
        switch slots[slot] {
        case .m: return memberInt(field, member)
        case .h: return householdInt(field, household)
        case .params: if let v = paramInts[field] { return .some(v) }
        default: break
        }
        return nil
    }

    func intField(_ field: Int, of object: ObjectRef) -> Int64?? {
        switch object.type {
        case RuleEnvironment.memberTypeID: return memberInt(field, Int(object.row))
        case RuleEnvironment.householdTypeID: return householdInt(field, Int(object.row))
        case RuleEnvironment.paramsTypeID: if let v = paramInts[field] { return .some(v) }
        default: break
        }
        return nil
    }

    func doubleField(_ field: Int, ofVariable slot: Int) -> Double?? {
        switch slots[slot] {
        case .m: return memberDouble(field, member)
        case .h: return householdDouble(field, household)
        case .params: if case .double(let v) = params[field] { return .some(v) }
        default: break
        }
        return nil
    }

    func doubleField(_ field: Int, of object: ObjectRef) -> Double?? {
        switch object.type {
        case RuleEnvironment.memberTypeID: return memberDouble(field, Int(object.row))
        case RuleEnvironment.householdTypeID: return householdDouble(field, Int(object.row))
        case RuleEnvironment.paramsTypeID: if case .double(let v) = params[field] { return .some(v) }
        default: break
        }
        return nil
    }

    func boolField(_ field: Int, ofVariable slot: Int) -> Bool?? {
        switch slots[slot] {
        case .m: return memberBool(field, member)
        case .h: return householdBool(field, household)
        case .params: if case .bool(let v) = params[field] { return .some(v) }
        case .deprived: return .some(deprived[field])
        default: break
        }
        return nil
    }

    func boolField(_ field: Int, of object: ObjectRef) -> Bool?? {
        switch object.type {
        case RuleEnvironment.memberTypeID: return memberBool(field, Int(object.row))
        case RuleEnvironment.householdTypeID: return householdBool(field, Int(object.row))
        case RuleEnvironment.paramsTypeID: if case .bool(let v) = params[field] { return .some(v) }
        default: return .some(deprived[field])
        }
        return nil
    }

    /// A raw column value of kind `kind`, or nil (the generic path answers other kinds).
    @inline(__always)
    private func rawInt(_ kind: Kind, _ v: Int64) -> Int64?? {
        guard kind == .int else { return nil }
        return .some(v == RecordTable.absent ? nil : v)
    }

    @inline(__always)
    private func rawDouble(_ kind: Kind, _ v: Int64) -> Double?? {
        guard kind == .decimal else { return nil }
        return .some(v == RecordTable.absent ? nil : Double(bitPattern: UInt64(bitPattern: v)))
    }

    @inline(__always)
    private func rawBool(_ kind: Kind, _ v: Int64) -> Bool?? {
        guard kind == .bool else { return nil }
        return .some(v == RecordTable.absent ? nil : v != 0)
    }

    @inline(__always)
    private func memberInt(_ field: Int, _ row: Int) -> Int64?? {
        switch memberOrigins[field] {
        case .survey(let i): return rawInt(memberKinds[i], memberColumns[i]![row])
        case .ageMonths(let i): return .some(memberAgeMonths(i, row))
        case .ageYears(let i):
            let k = row - memberStart
            guard k >= 0 && k < memberCount else {
                return .some(memberAgeMonths(i, row).map { CivilDate.completedYears(months: $0) })
            }
            if !agesValid || ageCacheField != i { fillAges(i) }
            let v = yearsCache[k]
            return .some(v == Int64.min ? nil : v)
        case .derived(let k):
            return memberDerived[(row - memberStart) * memberDerivedCount + k].typed { $0.intValue }
        case .monthsSince:
            return memberField(field, row).typed { $0.intValue }
        }
    }

    @inline(__always)
    private func householdInt(_ field: Int, _ row: Int) -> Int64?? {
        switch householdOrigins[field] {
        case .survey(let i): return rawInt(householdKinds[i], householdColumns[i]![row])
        case .derived(let k):
            return householdDerived[k].typed { $0.intValue }
        default:
            return householdField(field, row).typed { $0.intValue }
        }
    }

    @inline(__always)
    private func memberDouble(_ field: Int, _ row: Int) -> Double?? {
        switch memberOrigins[field] {
        case .survey(let i): return rawDouble(memberKinds[i], memberColumns[i]![row])
        case .derived(let k):
            return memberDerived[(row - memberStart) * memberDerivedCount + k].typed { $0.doubleValue }
        default: return nil
        }
    }

    @inline(__always)
    private func householdDouble(_ field: Int, _ row: Int) -> Double?? {
        switch householdOrigins[field] {
        case .survey(let i): return rawDouble(householdKinds[i], householdColumns[i]![row])
        case .derived(let k):
            return householdDerived[k].typed { $0.doubleValue }
        default: return nil
        }
    }

    @inline(__always)
    private func memberBool(_ field: Int, _ row: Int) -> Bool?? {
        switch memberOrigins[field] {
        case .survey(let i): return rawBool(memberKinds[i], memberColumns[i]![row])
        case .derived(let k):
            return memberDerived[(row - memberStart) * memberDerivedCount + k].typed { $0.boolValue }
        default: return nil
        }
    }

    @inline(__always)
    private func householdBool(_ field: Int, _ row: Int) -> Bool?? {
        switch householdOrigins[field] {
        case .survey(let i): return rawBool(householdKinds[i], householdColumns[i]![row])
        case .derived(let k):
            return householdDerived[k].typed { $0.boolValue }
        default: return nil
        }
    }

    /// Sets the parameter values in force and, when they changed, which of each parameter's
    /// dated values they are (`valueIndex`). The classifier passes the same array for every
    /// household of a date; `params` keeps it alive, so an equal buffer means the same values.
    func setParams(_ values: [Value]) {
        let same = values.count == params.count && values.withUnsafeBufferPointer { x in
            params.withUnsafeBufferPointer { y in x.baseAddress == y.baseAddress }
        }
        if same && paramIndexes.count == values.count { return }
        params = values
        let candidates = rules.environment.parameterValues
        paramIndexes = values.indices.map { f in
            f < candidates.count ? (candidates[f].firstIndex(of: values[f]) ?? -1) : -1
        }
        paramInts = values.map { v in if case .int(let i) = v { return i } else { return nil } }
    }

    /// The int parameters unboxed (nil: not an int), for `intField`: conditions read them
    /// for every member.
    @exclusivity(unchecked) private var paramInts: [Int64?] = []

    /// Which of the parameter's dated values `params.x` holds (-1: none of them).
    func valueIndex(_ field: Int, ofVariable slot: Int) -> Int {
        guard case .params = slots[slot], field < paramIndexes.count else { return -1 }
        return paramIndexes[field]
    }

    @inline(__always)
    private func householdField(_ field: Int, _ row: Int) -> Value? {
        switch householdOrigins[field] {
        case .survey(let i): return householdValue(i, row)
        case .derived(let k): return householdDerived[k]
        case .monthsSince(let i), .ageYears(let i), .ageMonths(let i):
            return dated(householdOrigins[field], householdColumns[i]![row])
        }
    }

    @inline(__always)
    private func memberField(_ field: Int, _ row: Int) -> Value? {
        switch memberOrigins[field] {
        case .survey(let i): return memberValue(i, row)
        case .derived(let k): return memberDerived[(row - memberStart) * memberDerivedCount + k]
        case .ageMonths(let i):
            return memberAgeMonths(i, row).map(Value.int)
        case .ageYears(let i):
            return memberAgeMonths(i, row).map { .int(CivilDate.completedYears(months: $0)) }
        case .monthsSince(let i):
            return dated(memberOrigins[field], memberColumns[i]![row])
        }
    }

    @inline(__always)
    private func dated(_ origin: FieldOrigin, _ raw: Int64) -> Value? {
        guard raw != RecordTable.absent else { return nil }
        let d = CivilDate(dayNumber: Int32(truncatingIfNeeded: raw))
        switch origin {
        case .monthsSince: return .int(Int64(Self.signedCompletedMonths(from: d, to: referenceDate)))
        case .ageYears: return .int(Int64(CivilDate.completedYears(from: d, to: referenceDate)))
        default: return .int(Int64(CivilDate.completedMonths(from: d, to: referenceDate)))
        }
    }

    @inline(__always)
    private func householdValue(_ i: Int, _ row: Int) -> Value? {
        let kind = householdKinds[i]
        if kind == .text { return batch.households.text(i, row).map(Value.string) }
        return raw(kind, householdColumns[i]![row], householdCodes, i, cacheSlot: 0)
    }

    @inline(__always)
    private func memberValue(_ i: Int, _ row: Int) -> Value? {
        let kind = memberKinds[i]
        if kind == .text { return batch.members.text(i, row).map(Value.string) }
        return raw(kind, memberColumns[i]![row], memberCodes, i, cacheSlot: householdKinds.count)
    }

    @inline(__always)
    private func raw(_ kind: Kind, _ v: Int64, _ codes: [[Value]], _ i: Int, cacheSlot: Int) -> Value? {
        guard v != RecordTable.absent else { return nil }
        switch kind {
        case .bool: return .bool(v != 0)
        case .int: return .int(v)
        case .decimal: return .double(Double(bitPattern: UInt64(bitPattern: v)))
        case .code: return codes[i][Int(Int32(truncatingIfNeeded: v))]
        case .codeSet:
            let mask = UInt64(bitPattern: v)
            // Cached by mask in a table per field when the code list is short (every survey's
            // is): the same few sets recur, and building the list costs allocations.
            let n = codes[i].count, slot = cacheSlot + i
            let cacheable = n <= 12 && mask < (1 << UInt64(n))
            if cacheable {
                if codeSetCache[slot].isEmpty { codeSetCache[slot] = Array(repeating: nil, count: 1 << n) }
                if let cached = codeSetCache[slot][Int(mask)] { return cached }
            }
            var items: [Value] = []
            for (bit, code) in codes[i].enumerated() where mask & (1 << UInt64(bit)) != 0 { items.append(code) }
            let value = Value.list(.array(items))
            if cacheable { codeSetCache[slot][Int(mask)] = value }
            return value
        case .date: return .string(CivilDate(dayNumber: Int32(truncatingIfNeeded: v)).description)
        case .text: return nil
        }
    }

    /// Completed months from `a` to `b`; a date after `b` gives a negative number (at least -1),
    /// so "on or before the reference date" reads `months_since_x >= 0`.
    static func signedCompletedMonths(from a: CivilDate, to b: CivilDate) -> Int {
        a <= b ? CivilDate.completedMonths(from: a, to: b) : -CivilDate.completedMonths(from: b, to: a) - 1
    }
}
