import CEL
import Testing

@Suite struct ObjectTests {
    let f = Fixture()

    @Test func fieldsAndRows() throws {
        #expect(try f.eval("h.id") == .string("HH-001"))
        #expect(try f.eval("h.members.size()") == .int(3))
        #expect(try f.eval("members[1].employment") == .string("farming"))
        #expect(try f.eval("h.members.exists(m, m.age < 15)") == .bool(true))
        #expect(try f.eval("members.all(m, m.age >= 10)") == .bool(true))
        #expect(try f.eval("members.filter(m, m.age >= 18).size()") == .int(2))
        #expect(try f.eval("members.map(m, m.age)") == list(.int(45), .int(40), .int(10)))
        #expect(try f.eval("members.exists_one(m, m.age < 18)") == .bool(true))
        #expect(try f.eval("h.income_per_capita < params.poverty_line") == .bool(true))
    }

    @Test func povertyIndicators() throws {
        #expect(try f.eval("members.exists(m, m.age >= params.health_insurance_min_age && !m.health_insurance)") == .bool(true))
        let employment = "members.exists(m, m.age >= 15 && m.age_months < params.retire_months && m.employment in ['unemployed', 'wage_without_contract'])"
        #expect(try f.eval(employment) == .bool(true))
        let p = try Program(employment, declarations: f.decls, expecting: .bool)
        #expect(try p.evaluateBool(f.act))
    }

    @Test func missingValues() throws {
        #expect(throws: EvalError(.missingValue, "no value for 'h.score_a'")) { try f.eval("h.score_a > 2") }
        #expect(throws: EvalError(.missingValue, "no value for 'm.school'")) {
            try f.eval("members.all(m, m.school != 'none')")
        }
        // An element that decides the result hides a missing value in another one.
        #expect(try f.eval("members.exists(m, m.school == 'primary')") == .bool(true))
        #expect(try f.eval("has(h.score_a)") == .bool(false))
        #expect(try f.eval("has(h.id)") == .bool(true))
        #expect(try f.eval("members.filter(m, has(m.employment)).size()") == .int(2))
        #expect(try f.eval("has(h.score_a) && h.score_a > 2") == .bool(false))
    }

    @Test func loopInvariantsKeepErrorSemantics() throws {
        // h.score_a is absent: the cached loop-invariant part still fails, every time it is needed.
        #expect(throws: EvalError(.missingValue, "no value for 'h.score_a'")) {
            try f.eval("members.exists(m, m.age > h.score_a)")
        }
        #expect(try f.eval("members.filter(m, m.age > 100).exists(m, m.age > h.score_a)") == .bool(false))
        #expect(try f.eval("members.exists(m, m.age > 44 || m.age > h.score_a)") == .bool(true))
        #expect(try f.eval("members.map(m, m.age * params.health_insurance_min_age)") == list(.int(270), .int(240), .int(60)))
        #expect(try f.eval("members.all(m, members.exists(n, n.age + params.health_insurance_min_age > m.age))") == .bool(true))
    }

    @Test func objectEquality() throws {
        #expect(try f.eval("members[0] == members[0]") == .bool(true))
        #expect(try f.eval("members[0] == members[1]") == .bool(false))
        #expect(try f.eval("members[2] in h.members") == .bool(true))
        #expect(try f.eval("members[2] in [members[0]]") == .bool(false))
        #expect(try f.eval("h.members == members") == .bool(true))
    }

    @Test func dynFieldSelectionOnObjects() throws {
        #expect(try f.eval("dyn(h).province") == .string("Hà Giang"))
        #expect(throws: EvalError(.noSuchField, "no such field 'nope' in Household")) { try f.eval("dyn(h).nope") }
        #expect(throws: EvalError(.missingValue, "no value for 'dyn(h).score_a'")) { try f.eval("dyn(h).score_a") }
        #expect(try f.eval("has(dyn(h).score_a)") == .bool(false))
    }

    @Test func concurrentEvaluation() async throws {
        let p = try Program("members.exists(m, m.age >= 15 && m.employment in ['unemployed', 'wage_without_contract'])",
                            declarations: f.decls)
        let results = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    let act = Fixture().act
                    var ok = true
                    for _ in 0..<1000 { ok = ok && ((try? p.evaluateBool(act)) == true) }
                    return ok
                }
            }
            var all: [Bool] = []
            for await r in group { all.append(r) }
            return all
        }
        #expect(results == Array(repeating: true, count: 8))
    }
}
