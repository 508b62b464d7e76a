@testable import CEL
import Testing

/// A host that answers the typed reads (`intField`, `doubleField`, `boolField`) itself, as the
/// engine's activation does, with a switch to answer nil ("not this kind") for every field so
/// the typed closures fall back to the generic path.
final class TypedHost: Activation {
    var variables: [Value]
    var rows: [[[Value?]]]
    var member = 0
    var refuseTyped = false
    init(variables: [Value], rows: [[[Value?]]]) {
        self.variables = variables
        self.rows = rows
    }
    func variable(_ slot: Int) -> Value {
        slot == 3 ? .object(ObjectRef(type: 1, row: Int32(member))) : variables[slot]
    }
    func field(_ field: Int, of object: ObjectRef) -> Value? { rows[Int(object.type)][Int(object.row)][field] }

    private func answer<T>(_ v: Value?, _ pick: (Value) -> T?) -> T?? {
        if refuseTyped { return nil }
        guard let x = v else { return .some(nil) }
        if let t = pick(x) { return .some(t) }
        return nil
    }
    private func int(_ v: Value) -> Int64? { if case .int(let i) = v { return i }; return nil }
    private func double(_ v: Value) -> Double? { if case .double(let d) = v { return d }; return nil }
    private func bool(_ v: Value) -> Bool? { if case .bool(let b) = v { return b }; return nil }
    private func object(_ s: Int) -> ObjectRef? { if case .object(let r) = variable(s) { return r }; return nil }

    func intField(_ f: Int, ofVariable s: Int) -> Int64?? { object(s).flatMap { intField(f, of: $0) } }
    func intField(_ f: Int, of o: ObjectRef) -> Int64?? { answer(field(f, of: o), int) }
    func doubleField(_ f: Int, ofVariable s: Int) -> Double?? { object(s).flatMap { doubleField(f, of: $0) } }
    func doubleField(_ f: Int, of o: ObjectRef) -> Double?? { answer(field(f, of: o), double) }
    func boolField(_ f: Int, ofVariable s: Int) -> Bool?? { object(s).flatMap { boolField(f, of: $0) } }
    func boolField(_ f: Int, of o: ObjectRef) -> Bool?? { answer(field(f, of: o), bool) }
}

/// The typed closures give exactly the generic path's results and errors.
@Suite struct TypedPathTests {
    static func fixture() -> (Declarations, TypedHost) {
        var d = Declarations()
        d.declareObjectType(ObjectTypeDecl(name: "Household", fields: [
            ("area", .double), ("income", .double), ("flag_a", .bool), ("flag_b", .bool), ("flag_c", .bool), ("n", .int),
        ]))
        d.declareObjectType(ObjectTypeDecl(name: "Member", fields: [
            ("age", .int), ("months", .int), ("insured", .bool), ("level", .string), ("weight", .double),
        ]))
        d.declareObjectType(ObjectTypeDecl(name: "Params", fields: [
            ("min_age", .int), ("max_age", .int), ("share", .double), ("levels", .list(.string)), ("limit", .int),
        ]))
        d.declareVariable("h", .object("Household"))
        d.declareVariable("members", .list(.object("Member")))
        d.declareVariable("params", .object("Params"))
        d.declareVariable("m", .object("Member"))
        // Member 3 has missing values; member 4 holds a double where an int is declared (a
        // host that does not keep its promise: the typed path must hand over to the generic).
        let members: [[Value?]] = [
            [.int(45), .int(543), .bool(true), .string("upper"), .double(61.5)],
            [.int(17), .int(210), .bool(false), .string("lower"), .double(.nan)],
            [.int(6), .int(75), .bool(true), .string("primary"), .double(20)],
            [nil, nil, nil, nil, nil],
            [.double(30.5), .int(366), .bool(false), .string("upper"), .double(70)],
        ]
        let household: [Value?] = [.double(40.5), .double(1_500_000), .bool(true), .bool(false), nil, .int(3)]
        let params: [Value?] = [.int(16), .int(30), .double(0.5), .list(.array([.string("upper"), .string("college")])), .int(2)]
        let host = TypedHost(variables: [.object(ObjectRef(type: 0, row: 0)), .list(.rows(type: 1, start: 0, count: 5)),
                                         .object(ObjectRef(type: 2, row: 0))],
                             rows: [[household], members, [params]])
        return (d, host)
    }

    static let expressions = [
        "m.age >= params.min_age && m.age <= params.max_age",
        "m.age >= params.min_age || m.insured",
        "m.insured || m.age < 10",
        "!m.insured && m.age > 3",
        "m.insured == true",
        "m.insured != false",
        "m.months < (m.level == 'upper' ? params.max_age * 12 : params.min_age * 12)",
        "m.age < (m.insured ? params.min_age : params.max_age)",
        "m.age >= params.min_age && !(m.level in params.levels)",
        "m.level in (m.age < 18 ? params.levels : ['lower'])",
        "m.weight > 60.0",
        "m.weight <= m.age",
        "m.age == m.weight",
        "m.age != m.weight",
        "m.weight != m.weight",
        "m.age + 1 > params.limit * 10",
        "m.age - params.max_age < 0",
        "m.age / 0 > 1",
        "m.age * 9223372036854775807 > 1",
        "double(members.filter(x, x.insured).size()) / double(size(members)) > params.share",
        "members.filter(x, x.age >= params.min_age).size() >= params.limit",
        "members.filter(x, x.age > m.age).size() > 0",
        "members.exists(x, x.age > m.age)",
        "[h.flag_a, h.flag_b, h.flag_a].filter(x, !x).size() >= params.limit",
        "[h.flag_a, h.flag_b, h.flag_c].filter(x, !x).size() >= 1",
        "[h.flag_a, h.flag_b, h.flag_c].filter(x, !x).size() >= 1 || m.age > 3",
        "h.area < 8.0 * double(size(members))",
        "h.income <= (m.insured ? 1000000.0 : 2000000.0)",
        "h.n > 2 && h.flag_a",
        "h.flag_c || m.age > 3",
        "m.age > 3 && h.flag_c",
        // Chains of three operands or more run as one closure (`logicChain`): errors kept
        // while a later operand may still decide, the first error thrown, any nesting.
        "m.age > 3 && m.insured && m.level == 'upper'",
        "m.age > 3 || m.insured || m.level == 'upper'",
        "h.flag_c && m.age > 100 && h.n > 2",
        "h.flag_c && m.age > 3 && h.n > 2",
        "h.flag_c || m.age > 3 || m.insured",
        "h.flag_c || m.age > 100 || !m.insured",
        "(m.age > 3 && h.flag_c) && (m.insured && h.n > 2)",
        "m.age > 3 && (h.flag_c && (m.insured && h.n > 2))",
        "m.age / 0 > 1 || h.flag_c || m.insured",
        "h.flag_c && m.age / 0 > 1 && h.flag_a",
        "h.flag_c && m.age / 0 > 1 && !h.flag_a",
        "m.age / 0 > 1 && h.flag_c && m.weight > 60.0",
        "m.age > 3 && (h.flag_c || m.insured || m.age / 0 > 1) && !m.insured",
        "m.months > 100 || (m.age < 10 && m.insured && h.flag_a) || m.level in params.levels",
        "!(m.insured && m.age >= params.min_age && m.age <= params.max_age)",
        "members.exists(x, x.insured && x.age > 3 && x.months > 100)",
        "members.all(x, x.age > 3 || x.insured || x.months > 1000)",
        "m.age > 3 && m.insured && m.months > 100 && h.flag_a && m.level == 'upper'",
        "h.flag_c || m.age > 100 || m.age / 0 > 1 || !m.insured || m.months > 1000 || h.flag_a",
        "h.flag_c && m.age / 0 > 1 && h.flag_a && m.insured && m.months > 1000 && m.age > 3 && h.n > 2",
    ]

    static func outcome(_ p: Program, _ a: TypedHost) -> String {
        do {
            return "\(try p.evaluate(a))"
        } catch let e as EvalError {
            return "error \(e.kind): \(e.message)"
        } catch {
            return "other \(error)"
        }
    }

    @Test(arguments: expressions)
    func typedAndGenericAgree(_ src: String) throws {
        let (d, host) = Self.fixture()
        let typed = try Program(src, declarations: d, typedPaths: true)
        let generic = try Program(src, declarations: d, typedPaths: false)
        for refuse in [false, true] {
            host.refuseTyped = refuse
            for row in 0..<5 {
                host.member = row
                #expect(Self.outcome(typed, host) == Self.outcome(generic, host), "\(src), member \(row), refuse \(refuse)")
                // And through the bool entry point, which compiles its own closure tree.
                let b1 = Result { try typed.evaluateBool(host) }.map { "\($0)" }
                let b2 = Result { try generic.evaluateBool(host) }.map { "\($0)" }
                #expect("\(b1)" == "\(b2)", "\(src), member \(row)")
            }
        }
    }

    /// Hosts without the typed hooks (the protocol's defaults) get the same results too.
    @Test(arguments: expressions)
    func defaultHooksAgree(_ src: String) throws {
        let (d, host) = Self.fixture()
        let plain = TestActivation(variables: host.variables + [.null], rows: host.rows)
        let typed = try Program(src, declarations: d, typedPaths: true)
        let generic = try Program(src, declarations: d, typedPaths: false)
        for row in 0..<5 {
            plain.variables[3] = .object(ObjectRef(type: 1, row: Int32(row)))
            let x = Result { try typed.evaluate(plain) }.map { "\($0)" }
            let y = Result { try generic.evaluate(plain) }.map { "\($0)" }
            #expect("\(x)" == "\(y)", "\(src), member \(row)")
        }
    }

    @Test func typedPathsAreUsed() throws {
        let (d, _) = Self.fixture()
        let c = Compiler(decls: d, localCount: 1)
        let parsed = try Program.checkTyped("m.age >= params.min_age", d).0
        guard case .binary(_, let l, let r) = parsed else { Issue.record("not a relation"); return }
        #expect(c.intFn(l) != nil && c.intFn(r) != nil)
        #expect(c.scalarType(try Program.checkTyped("double(size(members)) * params.share", d).0) == .double)
        #expect(c.scalarType(try Program.checkTyped("m.level", d).0) == nil)
    }

    /// Chains of three operands or more compile to one closure; two operands keep the
    /// binary closure; `typedPaths` false keeps the nested closures for the tests above.
    @Test func logicChainsAreFused() throws {
        let (d, _) = Self.fixture()
        let c = Compiler(decls: d, localCount: 1)
        let three = try Program.checkTyped("m.age > 3 && (m.insured && h.n > 2)", d).0
        #expect(c.logicChain(three, and: true) != nil)
        #expect(c.logicChain(three, and: false) == nil)
        let mixed = try Program.checkTyped("m.age > 3 || (m.insured && h.n > 2)", d).0
        #expect(c.logicChain(mixed, and: false) == nil)
        var ops: [IR] = []
        c.chainOperands(try Program.checkTyped("(m.age > 3 || m.insured) || (h.n > 2 || h.flag_a)", d).0, and: false, into: &ops)
        #expect(ops.count == 4)
    }

    /// `evaluateEach` runs the rows in one context: values cached inside macros (`m.age` in
    /// `members.exists(x, x.age > m.age)`) must be recomputed for every row.
    @Test func evaluateEachMatchesOneRunPerRow() throws {
        let (d, host) = Self.fixture()
        for src in Self.expressions {
            let p = try Program(src, declarations: d)
            var each: [String] = []
            p.evaluateEach(host, count: 5, select: { host.member = $0; return true }) { _, r in
                switch r {
                case .success(let v): each.append("\(v)")
                case .failure(let e): each.append("error \(e.kind): \(e.message)")
                }
                return true
            }
            var one: [String] = []
            for row in 0..<5 {
                host.member = row
                one.append(Self.outcome(p, host))
            }
            #expect(each == one, "\(src)")
            var eachBool: [String] = []
            p.evaluateBoolEach(host, count: 5, select: { host.member = $0; return true }) { _, r in
                eachBool.append("\(r)")
                return true
            }
            var oneBool: [String] = []
            for row in 0..<5 {
                host.member = row
                oneBool.append("\(Result { () throws(EvalError) -> Bool in try p.evaluateBoolTyped(host) })")
            }
            #expect(eachBool == oneBool, "\(src)")
        }
    }

    @Test func evaluateEachStopsWhenAsked() throws {
        let (d, host) = Self.fixture()
        let p = try Program("m.age > 10", declarations: d)
        var seen: [Int] = []
        p.evaluateBoolEach(host, count: 5, select: { host.member = $0; return true }) { i, r in
            seen.append(i)
            if case .failure = r { return false }
            return true
        }
        #expect(seen == [0, 1, 2, 3])
    }
}
