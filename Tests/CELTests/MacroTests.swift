import CEL
import Testing

@Suite struct MacroTests {
    @Test func allExists() throws {
        #expect(try eval("[1, 2, 3].all(x, x > 0)") == .bool(true))
        #expect(try eval("[1, 2, 3].all(x, x > 1)") == .bool(false))
        #expect(try eval("[].all(x, x > 1)") == .bool(true))
        #expect(try eval("[1, 2, 3].exists(x, x == 2)") == .bool(true))
        #expect(try eval("[].exists(x, x == 2)") == .bool(false))
        #expect(try eval("{'a': 1, 'b': 2}.all(k, k in ['a', 'b'])") == .bool(true))
        #expect(try eval("{'a': 1, 'b': 2}.exists(k, k == 'b')") == .bool(true))
    }

    @Test func errorsInsideQuantifiers() throws {
        // A decisive element wins over an error elsewhere, in any order.
        #expect(try eval("[0, 1].all(x, 1 / x > 5)") == .bool(false))
        #expect(try eval("[1, 0].exists(x, 1 / x == 1)") == .bool(true))
        #expect(try eval("[0, 1].exists(x, 1 / x == 1)") == .bool(true))
        #expect(evalError("[1, 0].all(x, 1 / x == 1)")?.kind == .divideByZero)
        #expect(evalError("[0, 2].exists(x, 1 / x == 1)")?.kind == .divideByZero)
        #expect(evalError("[0, 1].exists_one(x, 1 / x == 1)")?.kind == .divideByZero)
    }

    @Test func existsOne() throws {
        #expect(try eval("[1, 2, 3].exists_one(x, x > 2)") == .bool(true))
        #expect(try eval("[1, 2, 3].exists_one(x, x > 1)") == .bool(false))
        #expect(try eval("[1, 2, 3].exists_one(x, x > 5)") == .bool(false))
    }

    @Test func mapAndFilter() throws {
        #expect(try eval("[1, 2, 3].map(n, n * n)") == list(.int(1), .int(4), .int(9)))
        #expect(try eval("[1, 2, 3, 4].map(n, n % 2 == 0, n * 10)") == list(.int(20), .int(40)))
        #expect(try eval("[1, 2, 3].filter(i, i % 2 > 0)") == list(.int(1), .int(3)))
        #expect(try eval("[1, 2, 3].filter(i, i > 5)") == list())
        #expect(try eval("[1, 2, 3].map(x, x * 2).filter(x, x > 2).size()") == .int(2))
        #expect(evalError("[1, 0].map(x, 1 / x)")?.kind == .divideByZero)
    }

    @Test func nestingAndShadowing() throws {
        #expect(try eval("[1, 2].all(x, [3, 4].exists(y, x < y))") == .bool(true))
        #expect(try eval("[[1, 2], [3]].map(x, x.map(x, x + 1))") == list(list(.int(2), .int(3)), list(.int(4))))
        let v: [(String, CELType, Value)] = [("x", .string, .string("outer"))]
        #expect(try eval("[1].map(x, x + 1)[0] == 2 && x == 'outer'", vars: v) == .bool(true))
    }

    @Test func macroErrors() {
        #expect(compileError("[1].all(1, true)")?.message == "the first argument of all() must be a simple variable name")
        let e = compileError("[1, 2].exists(x, x)")
        #expect(e?.message == "the predicate of exists() must be bool, found int")
        #expect(e?.column == 18)
        #expect(compileError("1.all(x, true)")?.message == "all() needs a list or a map, found int")
        #expect(compileError("[1].exists(x)")?.message == "exists() takes 2 arguments: exists(variable, predicate)")
        #expect(compileError("[1].all(x, y > 0)")?.message == "undeclared reference to 'y'")
        #expect(compileError("[1].all(item, itme > 0)")?.hint == "did you mean 'item'?")
        #expect(compileError("[1].all(x, x > 0) && x > 0")?.message == "undeclared reference to 'x'")
    }
}
