import CEL
import Testing

@Suite struct ConversionTests {
    @Test func toInt() throws {
        #expect(try eval("int(3u)") == .int(3))
        #expect(try eval("int(2.9)") == .int(2))
        #expect(try eval("int(-2.9)") == .int(-2))
        #expect(try eval("int('-42')") == .int(-42))
        #expect(try eval("int(7)") == .int(7))
        #expect(evalError("int(18446744073709551615u)")?.kind == .overflow)
        #expect(evalError("int(1e19)")?.kind == .overflow)
        #expect(evalError("int(-1e19)")?.kind == .overflow)
        #expect(evalError("int('1.5')") == EvalError(.invalidArgument, "cannot convert \"1.5\" to int"))
        #expect(compileError("int(true)")?.message == "no matching overload for 'int' applied to (bool)")
    }

    @Test func toUint() throws {
        #expect(try eval("uint(3)") == .uint(3))
        #expect(try eval("uint(3.7)") == .uint(3))
        #expect(try eval("uint('42')") == .uint(42))
        #expect(evalError("uint(-1)") == EvalError(.overflow, "uint conversion out of range: -1"))
        #expect(evalError("uint(-1.5)")?.kind == .overflow)
        #expect(evalError("uint('-1')")?.kind == .invalidArgument)
    }

    @Test func toDouble() throws {
        #expect(try eval("double(3)") == .double(3))
        #expect(try eval("double(3u)") == .double(3))
        #expect(try eval("double('2.5')") == .double(2.5))
        #expect(try eval("double('1e3')") == .double(1000))
        #expect(evalError("double('abc')")?.kind == .invalidArgument)
    }

    @Test func toStringAndBool() throws {
        #expect(try eval("string(42)") == .string("42"))
        #expect(try eval("string(42u)") == .string("42"))
        #expect(try eval("string(1.5)") == .string("1.5"))
        #expect(try eval("string(2.0)") == .string("2.0"))
        #expect(try eval("string(true)") == .string("true"))
        #expect(try eval("string(b'abc')") == .string("abc"))
        #expect(evalError("string(b'\\xff')")?.kind == .invalidArgument)
        #expect(try eval("bool('true')") == .bool(true))
        #expect(try eval("bool('f')") == .bool(false))
        #expect(evalError("bool('yes')")?.kind == .invalidArgument)
        #expect(try eval("bytes('ab')") == .bytes([97, 98]))
        #expect(try eval("string(1) + 'x'") == .string("1x"))
    }

    @Test func typesAsValues() throws {
        #expect(try eval("type(1) == int") == .bool(true))
        #expect(try eval("type(1u) == uint") == .bool(true))
        #expect(try eval("type(1.0) == double") == .bool(true))
        #expect(try eval("type('a') == string") == .bool(true))
        #expect(try eval("type(b'a') == bytes") == .bool(true))
        #expect(try eval("type(true) == bool") == .bool(true))
        #expect(try eval("type(null) == null_type") == .bool(true))
        #expect(try eval("type([1]) == list") == .bool(true))
        #expect(try eval("type({'a': 1}) == map") == .bool(true))
        #expect(try eval("type(1) == string") == .bool(false))
        #expect(try eval("type(type(1)) == type") == .bool(true))
        #expect(try eval("type(type(1)) == type(string)") == .bool(true))
        #expect(try eval("type(1)") == .type(.int))
        #expect(try eval("type(dyn(1)) == int") == .bool(true))
        let f = Fixture()
        #expect(try f.eval("type(h) == Household") == .bool(true))
        #expect(try f.eval("type(members[0]) == Member") == .bool(true))
    }

    @Test func dyn() throws {
        #expect(try eval("dyn(1) == 1") == .bool(true))
        #expect(try eval("dyn([1, 'a'])[1]") == .string("a"))
        #expect(try eval("[dyn(1), 'a'].size()") == .int(2))
        // Static checking stops at dyn; run-time checking does not.
        #expect(compileError("dyn('a') + 1") == nil)
        #expect(evalError("dyn('a') + 1") == EvalError(.noMatchingOverload, "no matching overload for '+' applied to (string, int)"))
        #expect(evalError("dyn(1).size()")?.kind == .noMatchingOverload)
        #expect(evalError("dyn(1).f")?.kind == .noSuchField)
    }
}
