import CEL
import Testing

@Suite struct ComparisonTests {
    @Test func sameType() throws {
        #expect(try eval("1 < 2") == .bool(true))
        #expect(try eval("2 <= 2") == .bool(true))
        #expect(try eval("3 > 4") == .bool(false))
        #expect(try eval("4 >= 5") == .bool(false))
        #expect(try eval("1 == 1") == .bool(true))
        #expect(try eval("1 != 1") == .bool(false))
        #expect(try eval("'a' < 'b'") == .bool(true))
        #expect(try eval("'abc' < 'abd'") == .bool(true))
        #expect(try eval("'ab' < 'abc'") == .bool(true))
        #expect(try eval("'Z' < 'a'") == .bool(true))
        #expect(try eval("b'\\x01' < b'\\x02'") == .bool(true))
        #expect(try eval("false < true") == .bool(true))
        #expect(try eval("null == null") == .bool(true))
        #expect(try eval("1.5 >= 1.5") == .bool(true))
    }

    @Test func heterogeneousNumbers() throws {
        #expect(try eval("1 == 1.0") == .bool(true))
        #expect(try eval("1.0 == 1") == .bool(true))
        #expect(try eval("1 == 1u") == .bool(true))
        #expect(try eval("1u < 2") == .bool(true))
        #expect(try eval("2 < 1.5") == .bool(false))
        #expect(try eval("1 < 1.5") == .bool(true))
        #expect(try eval("-1 < 0u") == .bool(true))
        #expect(try eval("18446744073709551615u > 9223372036854775807") == .bool(true))
        #expect(try eval("9223372036854775807 < 9223372036854775808.0") == .bool(true))
        #expect(try eval("1 != 1.5") == .bool(true))
        #expect(try eval("[1, 2] == [1.0, 2u]") == .bool(true))
        #expect(try eval("1 in [1.0, 2.0]") == .bool(true))
    }

    @Test func nan() throws {
        let n: [(String, CELType, Value)] = [("n", .double, .double(.nan))]
        #expect(try eval("n == n", vars: n) == .bool(false))
        #expect(try eval("n != n", vars: n) == .bool(true))
        #expect(try eval("n < 1.0 || n >= 1.0", vars: n) == .bool(false))
    }

    @Test func aggregates() throws {
        #expect(try eval("[1, 'a'] == [1, 'a']") == .bool(true))
        #expect(try eval("[1, 2] == [2, 1]") == .bool(false))
        #expect(try eval("[1] == [1, 1]") == .bool(false))
        #expect(try eval("{'a': 1, 'b': 2} == {'b': 2, 'a': 1}") == .bool(true))
        #expect(try eval("{'a': 1} == {'a': 2}") == .bool(false))
        #expect(try eval("{'a': 1} == {'b': 1}") == .bool(false))
        #expect(try eval("{1: 'x'} == {1u: 'x'}") == .bool(true))
        #expect(try eval("[[1], {'k': [2]}] == [[1], {'k': [2]}]") == .bool(true))
    }

    @Test func mixedKindsAtRunTime() throws {
        // Values of different kinds (behind dyn) are simply unequal.
        #expect(try eval("dyn('1') == 1") == .bool(false))
        #expect(try eval("dyn('1') != 1") == .bool(true))
        #expect(try eval("dyn(null) == 0") == .bool(false))
        #expect(evalError("dyn('a') < 1") == EvalError(.noMatchingOverload, "no matching overload for '<' applied to (string, int)"))
        #expect(evalError("dyn([1]) < dyn([2])")?.kind == .noMatchingOverload)
    }

    @Test func typeErrorsWithPositions() {
        let e = compileError("'a' == 1")
        #expect(e?.message == "no matching overload for '==' applied to (string, int)")
        #expect(e?.line == 1)
        #expect(e?.column == 5)
        #expect(compileError("1 < 'a'")?.message == "no matching overload for '<' applied to (int, string)")
        #expect(compileError("true < 1")?.message == "no matching overload for '<' applied to (bool, int)")
        #expect(compileError("[1] < [2]")?.message == "no matching overload for '<' applied to (list(int), list(int))")
        #expect(compileError("'x' in [1, 2]")?.message == "no matching overload for 'in' applied to (string, list(int))")
        #expect(compileError("1 == null") != nil)
        #expect(compileError("[1] == ['a']") != nil)
    }
}
