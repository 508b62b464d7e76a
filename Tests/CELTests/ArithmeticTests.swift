import CEL
import Testing

@Suite struct ArithmeticTests {
    @Test func precedence() throws {
        #expect(try eval("1 + 2 * 3") == .int(7))
        #expect(try eval("(1 + 2) * 3") == .int(9))
        #expect(try eval("10 - 4 - 3") == .int(3))
        #expect(try eval("100 / 10 / 5") == .int(2))
        #expect(try eval("7 % 4 * 2") == .int(6))
        #expect(try eval("-2 * 3") == .int(-6))
        #expect(try eval("1 + 2 < 4 && 2 * 2 == 4") == .bool(true))
        #expect(try eval("true || false && false") == .bool(true))
        #expect(try eval("false ? 1 : true ? 2 : 3") == .int(2))
    }

    @Test func intOps() throws {
        #expect(try eval("7 / 2") == .int(3))
        #expect(try eval("-7 / 2") == .int(-3))
        #expect(try eval("-7 % 3") == .int(-1))
        #expect(try eval("7 % -3") == .int(1))
    }

    @Test func uintAndDoubleOps() throws {
        #expect(try eval("3u + 4u") == .uint(7))
        #expect(try eval("10u / 3u") == .uint(3))
        #expect(try eval("10u % 3u") == .uint(1))
        #expect(try eval("1.5 + 2.25") == .double(3.75))
        #expect(try eval("1.0 / 4.0") == .double(0.25))
        #expect(try eval("-(2.5)") == .double(-2.5))
        #expect(try eval("1.0 / 0.0") == .double(.infinity))
    }

    @Test func overflow() {
        #expect(evalError("9223372036854775807 + 1") == EvalError(.overflow, "integer overflow"))
        #expect(evalError("-9223372036854775808 - 1")?.kind == .overflow)
        #expect(evalError("4611686018427387904 * 2")?.kind == .overflow)
        #expect(evalError("-9223372036854775808 / -1")?.kind == .overflow)
        #expect(evalError("-9223372036854775808 % -1")?.kind == .overflow)
        #expect(evalError("-(-9223372036854775808)")?.kind == .overflow)
        #expect(evalError("0u - 1u") == EvalError(.overflow, "unsigned integer overflow"))
        #expect(evalError("18446744073709551615u + 1u")?.kind == .overflow)
        #expect(evalError("9223372036854775807u * 3u")?.kind == .overflow)
    }

    @Test func divisionByZero() {
        #expect(evalError("1 / 0") == EvalError(.divideByZero, "division by zero"))
        #expect(evalError("1 % 0") == EvalError(.divideByZero, "modulus by zero"))
        #expect(evalError("1u / 0u")?.kind == .divideByZero)
        #expect(evalError("1u % 0u")?.kind == .divideByZero)
        let x: [(String, CELType, Value)] = [("x", .int, .int(0))]
        #expect(evalError("10 / x", vars: x) == EvalError(.divideByZero, "division by zero"))
    }

    @Test func noImplicitConversions() {
        let e = compileError("1 + 1u")
        #expect(e?.message == "no matching overload for '+' applied to (int, uint)")
        #expect(e?.column == 3)
        #expect(compileError("1 + 1.0")?.message == "no matching overload for '+' applied to (int, double)")
        #expect(compileError("2.0 % 1.0")?.message == "no matching overload for '%' applied to (double, double)")
        #expect(compileError("-1u")?.message == "no matching overload for '-' applied to (uint)")
        #expect(compileError("'a' - 'b'") != nil)
        // With dyn the check happens at run time.
        #expect(evalError("dyn(1) + 1u") == EvalError(.noMatchingOverload, "no matching overload for '+' applied to (int, uint)"))
    }

    @Test func concatenation() throws {
        #expect(try eval("'ab' + 'cd'") == .string("abcd"))
        #expect(try eval("b'a' + b'b'") == .bytes([97, 98]))
        #expect(try eval("[1] + [2, 3]") == list(.int(1), .int(2), .int(3)))
    }
}
