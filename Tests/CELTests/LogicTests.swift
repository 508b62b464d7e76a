import CEL
import Testing

@Suite struct LogicTests {
    @Test func truthTables() throws {
        for (a, b) in [(true, true), (true, false), (false, true), (false, false)] {
            #expect(try eval("\(a) && \(b)") == .bool(a && b))
            #expect(try eval("\(a) || \(b)") == .bool(a || b))
        }
        #expect(try eval("!true") == .bool(false))
        #expect(try eval("!!true") == .bool(true))
    }

    @Test func errorsAreAbsorbedCommutatively() throws {
        #expect(try eval("false && 1 / 0 == 1") == .bool(false))
        #expect(try eval("1 / 0 == 1 && false") == .bool(false))
        #expect(try eval("true || 1 / 0 == 1") == .bool(true))
        #expect(try eval("1 / 0 == 1 || true") == .bool(true))
        #expect(try eval("[1].exists(x, x / 0 == 1) || true") == .bool(true))
    }

    @Test func errorsPropagateWhenNotDetermined() {
        #expect(evalError("true && 1 / 0 == 1") == EvalError(.divideByZero, "division by zero"))
        #expect(evalError("1 / 0 == 1 && true") == EvalError(.divideByZero, "division by zero"))
        #expect(evalError("false || 1 / 0 == 1")?.kind == .divideByZero)
        #expect(evalError("1 / 0 == 1 || false")?.kind == .divideByZero)
        // Both sides fail: the left error is reported.
        #expect(evalError("1 / 0 == 1 || 0u - 1u == 0u")?.kind == .divideByZero)
    }

    @Test func missingValuesAndLogic() throws {
        let f = Fixture()
        // score_a is absent; `false && …` still decides.
        #expect(try f.eval("h.has_toilet == false && h.score_a > 2") == .bool(false))
        #expect(try f.eval("h.score_a > 2 || h.has_toilet") == .bool(true))
        #expect(throws: EvalError(.missingValue, "no value for 'h.score_a'")) {
            try f.eval("h.has_toilet && h.score_a > 2")
        }
    }

    @Test func conditional() throws {
        #expect(try eval("true ? 'a' : 'b'") == .string("a"))
        #expect(try eval("false ? 'a' : 'b'") == .string("b"))
        #expect(try eval("true ? 1 : 1 / 0") == .int(1))
        #expect(try eval("1 > 2 ? 1 : 2 > 1 ? 2 : 3") == .int(2))
        #expect(evalError("1 / 0 == 0 ? 1 : 2")?.kind == .divideByZero)
        #expect(compileError("1 ? 2 : 3")?.message == "the condition of '?:' must be bool, found int")
    }

    @Test func logicTypeErrors() {
        let e = compileError("true && 1")
        #expect(e?.message == "no matching overload for '&&' applied to (bool, int)")
        #expect(e?.column == 6)
        #expect(compileError("!1")?.message == "no matching overload for '!' applied to (int)")
        #expect(evalError("dyn(1) && true") == EvalError(.noMatchingOverload, "expected bool, found int"))
        #expect(try! eval("dyn(1) && false") == .bool(false))
    }
}
