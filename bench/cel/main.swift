// Micro-benchmark of the rule language: a member-level indicator over a generated batch of
// about a million members, stored in columns as the engine stores them.
//
//   swift run -c release --scratch-path .build-cel cel-bench [MEMBERS] [ROUNDS] [ONLY 1|2|3]
import CEL
import Dispatch

/// Column storage for households and members; the activation reads fields by index.
final class Batch: Activation {
    // Member columns (`let`: a `var` in a class costs a dynamic exclusivity check per read).
    let age: [Int64]
    let ageMonths: [Int64]
    let employment: [String]
    let insured: [Bool]
    // Household ranges into the member columns.
    let start: [Int32]
    let count: [Int32]
    let retireMonths: Int64 = 60 * 12 + 3
    let minAge: Int64 = 6
    var household = 0
    var member: Int32 = 0

    init(members n: Int) {
        var rng = SplitMix(seed: 20240601)
        let codes = ["farming", "wage_with_contract", "wage_without_contract", "unemployed",
                     "student", "housework", "self_employed", "retired"]
        var age: [Int64] = [], ageMonths: [Int64] = [], employment: [String] = [], insured: [Bool] = []
        var start: [Int32] = [], count: [Int32] = []
        age.reserveCapacity(n)
        var i = 0
        while i < n {
            let size = Int32(1 + rng.next() % 7)
            start.append(Int32(i))
            let k = min(Int(size), n - i)
            count.append(Int32(k))
            for _ in 0..<k {
                let a = Int64(rng.next() % 90)
                age.append(a)
                ageMonths.append(a * 12 + Int64(rng.next() % 12))
                // Most adults work the farm; a few are unemployed or without contract.
                let r = rng.next() % 100
                employment.append(a < 15 ? "student" : codes[r < 70 ? 0 : (r < 80 ? 6 : Int(r % 8))])
                insured.append(rng.next() % 10 != 0)
            }
            i += k
        }
        (self.age, self.ageMonths, self.employment, self.insured) = (age, ageMonths, employment, insured)
        (self.start, self.count) = (start, count)
    }

    var households: Int { start.count }

    // slot 0: members (list of Member rows), 1: params, 2: m (one member)
    func variable(_ slot: Int) -> Value {
        switch slot {
        case 0: return .list(.rows(type: 0, start: start[household], count: count[household]))
        case 1: return .object(ObjectRef(type: 1, row: 0))
        default: return .object(ObjectRef(type: 0, row: member))
        }
    }

    func field(_ field: Int, of object: ObjectRef) -> Value? {
        if object.type == 1 { return field == 0 ? .int(retireMonths) : .int(minAge) }
        let r = Int(object.row)
        switch field {
        case 0: return .int(age[r])
        case 1: return .int(ageMonths[r])
        case 2: return .string(employment[r])
        default: return .bool(insured[r])
        }
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

let args = CommandLine.arguments
let memberCount = args.count > 1 ? Int(args[1]) ?? 1_000_000 : 1_000_000
let rounds = args.count > 2 ? Int(args[2]) ?? 5 : 5
/// Optional: run only benchmark 1, 2 or 3 (for instruction counts under callgrind).
let only = args.count > 3 ? Int(args[3]) : nil

var decls = Declarations()
decls.declareObjectType(ObjectTypeDecl(name: "Member", fields: [
    ("age", .int), ("age_months", .int), ("employment", .string), ("health_insurance", .bool),
]))
decls.declareObjectType(ObjectTypeDecl(name: "Params", fields: [
    ("retire_months", .int), ("health_insurance_min_age", .int),
]))
decls.declareVariable("members", .list(.object("Member")))
decls.declareVariable("params", .object("Params"))
decls.declareVariable("m", .object("Member"))

let predicate = "m.age >= 15 && m.age_months < params.retire_months && m.employment in [\"unemployed\", \"wage_without_contract\"]"
let household = "members.exists(m, \(predicate))"
let insurance = "members.exists(m, m.age >= params.health_insurance_min_age && !m.health_insurance)"

let batch = Batch(members: memberCount)
print("generated \(batch.age.count) members in \(batch.households) households")

@MainActor func measure(_ label: String, _ source: String, perMember: Bool) throws {
    let program = try Program(source, declarations: decls, expecting: .bool)
    var best = Double.infinity
    var hits = 0
    for _ in 0..<rounds {
        hits = 0
        let t0 = DispatchTime.now().uptimeNanoseconds
        if perMember {
            for i in 0..<batch.age.count {
                batch.member = Int32(i)
                if try program.evaluateBool(batch) { hits += 1 }
            }
        } else {
            for h in 0..<batch.households {
                batch.household = h
                if try program.evaluateBool(batch) { hits += 1 }
            }
        }
        let t = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        best = min(best, t)
    }
    let rate = Double(batch.age.count) / best
    let unit = perMember ? "members" : "households"
    print("\(label): \(hits) \(unit) true; best of \(rounds): \(String(format3: best * 1000)) ms, \(String(format3: rate / 1e6)) M member evaluations/s")
}

extension String {
    init(format3 x: Double) {
        let r = (x * 1000).rounded() / 1000
        self = "\(r)"
    }
}

do {
    print("expression: \(household)")
    if only == nil || only == 1 {
        try measure("household exists (per household, members scanned until found)", household, perMember: false)
    }
    if only == nil || only == 2 { try measure("member predicate (evaluated once per member)", predicate, perMember: true) }
    if only == nil || only == 3 { try measure("health insurance indicator", insurance, perMember: false) }
} catch {
    print("error: \(error)")
}
