import CEL
import Testing

/// Households with members, as the engine will present them: object rows addressed by index.
final class TestActivation: Activation {
    var variables: [Value]
    /// rows[type][row][field]
    var rows: [[[Value?]]]
    init(variables: [Value] = [], rows: [[[Value?]]] = []) {
        self.variables = variables
        self.rows = rows
    }
    func variable(_ slot: Int) -> Value { variables[slot] }
    func field(_ field: Int, of object: ObjectRef) -> Value? { rows[Int(object.type)][Int(object.row)][field] }
}

/// Declarations and data for a small survey: one household `h` with three members, and `params`.
struct Fixture {
    var decls = Declarations()
    var act = TestActivation()

    init() {
        decls.declareObjectType(ObjectTypeDecl(name: "Household", fields: [
            ("id", .string), ("province", .string), ("income_per_capita", .double),
            ("members", .list(.object("Member"))), ("score_a", .int), ("has_toilet", .bool),
        ]))
        decls.declareObjectType(ObjectTypeDecl(name: "Member", fields: [
            ("age", .int), ("age_months", .int), ("health_insurance", .bool),
            ("employment", .string), ("school", .string),
        ]))
        decls.declareObjectType(ObjectTypeDecl(name: "Params", fields: [
            ("health_insurance_min_age", .int), ("retire_months", .int), ("poverty_line", .double),
        ]))
        decls.declareVariable("h", .object("Household"))
        decls.declareVariable("members", .list(.object("Member")))
        decls.declareVariable("params", .object("Params"))
        let household: [Value?] = [.string("HH-001"), .string("Hà Giang"), .double(1_200_000),
                                   .list(.rows(type: 1, start: 0, count: 3)), nil, .bool(true)]
        let members: [[Value?]] = [
            [.int(45), .int(45 * 12 + 3), .bool(true), .string("wage_without_contract"), nil],
            [.int(40), .int(480), .bool(false), .string("farming"), nil],
            [.int(10), .int(125), .bool(true), nil, .string("primary")],
        ]
        let params: [Value?] = [.int(6), .int(60 * 12 + 3), .double(1_500_000)]
        act = TestActivation(
            variables: [.object(ObjectRef(type: 0, row: 0)), .list(.rows(type: 1, start: 0, count: 3)),
                        .object(ObjectRef(type: 2, row: 0))],
            rows: [[household], members, [params]])
    }

    func eval(_ src: String) throws -> Value {
        try Program(src, declarations: decls).evaluate(act)
    }
}

func eval(_ src: String, vars: [(String, CELType, Value)] = []) throws -> Value {
    var d = Declarations()
    for (n, t, _) in vars { d.declareVariable(n, t) }
    return try Program(src, declarations: d).evaluate(ValueActivation(vars.map(\.2)))
}

/// The evaluation error of `src`, or nil if it evaluates.
func evalError(_ src: String, vars: [(String, CELType, Value)] = []) -> EvalError? {
    do {
        _ = try eval(src, vars: vars)
        return nil
    } catch let e as EvalError {
        return e
    } catch {
        Issue.record("expected an evaluation error for \(src), got \(error)")
        return nil
    }
}

/// The parse/check error of `src`, or nil if it compiles.
func compileError(_ src: String, _ decls: Declarations = Declarations(), expecting: CELType? = nil) -> CELError? {
    do {
        _ = try Program(src, declarations: decls, expecting: expecting)
        return nil
    } catch let e as CELError {
        return e
    } catch {
        Issue.record("unexpected error type \(error)")
        return nil
    }
}

func list(_ xs: Value...) -> Value { .list(.array(xs)) }

/// A test host over another host's batch that changes only how it gives some columns: the
/// batch's shape, bindings and constants are the other host's.
protocol WrappingHost: VectorHost {
    associatedtype Base: VectorHost
    var base: Base { get }
}

extension WrappingHost {
    var householdCount: Int { base.householdCount }
    var memberRanges: [Range<Int>] { base.memberRanges }
    var memberHousehold: [Int32] { base.memberHousehold }
    func binding(_ slot: Int) -> VecBinding? { base.binding(slot) }
    func constant(field: Int) -> Value? { base.constant(field: field) }
    func present(type: Int32, field: Int) -> VecColumn? { nil }
}
