import CEL
import Testing

@Suite struct ListMapTests {
    @Test func listIndexingAndSize() throws {
        #expect(try eval("[10, 20, 30][1]") == .int(20))
        #expect(try eval("[10, 20, 30][2u]") == .int(30))
        #expect(try eval("size([1, 2, 3])") == .int(3))
        #expect(try eval("[1, 2].size()") == .int(2))
        #expect(try eval("[[1, 2], [3]][0][1]") == .int(2))
        #expect(evalError("[1, 2][2]") == EvalError(.invalidArgument, "index out of range: 2"))
        #expect(evalError("[1, 2][-1]") == EvalError(.invalidArgument, "index out of range: -1"))
        #expect(compileError("[1, 2]['a']")?.message == "no matching overload for '[]' applied to (list(int), string)")
    }

    @Test func membership() throws {
        #expect(try eval("2 in [1, 2, 3]") == .bool(true))
        #expect(try eval("4 in [1, 2, 3]") == .bool(false))
        #expect(try eval("'b' in ['a', 'b']") == .bool(true))
        #expect(try eval("'c' in []") == .bool(false))
        #expect(try eval("[1] in [[1], [2]]") == .bool(true))
        #expect(try eval("'a' in {'a': 1}") == .bool(true))
        #expect(try eval("'z' in {'a': 1}") == .bool(false))
        #expect(try eval("1u in {1: 'x'}") == .bool(true))
        let v: [(String, CELType, Value)] = [("xs", .list(.dyn), list(.string("u"), .int(2)))]
        #expect(try eval("2 in xs", vars: v) == .bool(true))
        #expect(try eval("'u' in xs", vars: v) == .bool(true))
    }

    @Test func maps() throws {
        #expect(try eval("{'a': 1, 'b': 2}['b']") == .int(2))
        #expect(try eval("{'a': 1, 'b': 2}.a") == .int(1))
        #expect(try eval("{1: 'one', 2: 'two'}[2]") == .string("two"))
        #expect(try eval("{1: 'one'}[1u]") == .string("one"))
        #expect(try eval("{1: 'one'}[1.0]") == .string("one"))
        #expect(try eval("{true: 1}[true]") == .int(1))
        #expect(try eval("size({'a': 1, 'b': 2})") == .int(2))
        #expect(try eval("{}.size()") == .int(0))
        #expect(try eval("{'x': {'y': 3}}.x.y") == .int(3))
        #expect(evalError("{'a': 1}['b']") == EvalError(.noSuchField, "no such key: \"b\""))
        #expect(evalError("{'a': 1}.b") == EvalError(.noSuchField, "no such key: 'b'"))
        #expect(evalError("{'a': 1, 'a': 2}") == EvalError(.invalidArgument, "duplicate map key: \"a\""))
        #expect(evalError("{1: 1, 1u: 2}")?.kind == .invalidArgument)
        #expect(compileError("{1.5: 'x'}")?.message == "unsupported map key type 'double' (keys are int, uint, bool or string)")
        #expect(compileError("{1: 2}.a")?.message == "cannot select field 'a' of a map with int keys; use m[key]")
        #expect(compileError("{'a': 1}[1]") != nil)
    }

    @Test func hasOnMaps() throws {
        #expect(try eval("has({'a': 1}.a)") == .bool(true))
        #expect(try eval("has({'a': 1}.b)") == .bool(false))
        #expect(compileError("has(1)")?.message == "has() takes one field selection, as in has(m.age)")
        #expect(compileError("has(1.a)")?.message == "has() cannot test field 'a' of type 'int'")
    }

    @Test func mapKeysKeepInsertionOrder() throws {
        guard case .map(let m) = try eval("{'z': 1, 'a': 2, 'm': 3}") else { Issue.record("map"); return }
        #expect(m.keys == [.string("z"), .string("a"), .string("m")])
        #expect(try eval("{'z': 1, 'a': 2}.map(k, k)") == list(.string("z"), .string("a")))
    }
}
