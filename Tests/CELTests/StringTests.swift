import CEL
import Testing

@Suite struct StringTests {
    @Test func size() throws {
        #expect(try eval("size('abc')") == .int(3))
        #expect(try eval("'Hà Giang'.size()") == .int(8))
        #expect(try eval("size('😀')") == .int(1))
        #expect(try eval("size(b'abc')") == .int(3))
        #expect(try eval("b'\\xff'.size()") == .int(1))
    }

    @Test func containsStartsEnds() throws {
        #expect(try eval("'household'.contains('hold')") == .bool(true))
        #expect(try eval("'household'.contains('')") == .bool(true))
        #expect(try eval("'house'.contains('household')") == .bool(false))
        #expect(try eval("'Tuyên Quang'.startsWith('Tuyên')") == .bool(true))
        #expect(try eval("'Tuyên Quang'.endsWith('Quang')") == .bool(true))
        #expect(try eval("'abc'.startsWith('b')") == .bool(false))
        #expect(try eval("'abc'.endsWith('b')") == .bool(false))
        // No Unicode normalisation: precomposed and decomposed forms differ.
        #expect(try eval("'\\u00e0' == 'a\\u0300'") == .bool(false))
        #expect(try eval("'\\u00e0'.contains('a')") == .bool(false))
    }

    @Test func matches() throws {
        #expect(try eval("'HH-0042'.matches('^HH-[0-9]{4}$')") == .bool(true))
        #expect(try eval("'xHH-0042'.matches('^HH-')") == .bool(false))
        #expect(try eval("'abc123'.matches('[0-9]+')") == .bool(true))
        #expect(try eval("matches('abc', 'b')") == .bool(true))
        #expect(try eval("'Hà Giang'.matches('^H.+ G')") == .bool(true))
        #expect(try eval(#"'a.b'.matches(r'a\.b')"#) == .bool(true))
        #expect(try eval("'(?i)'.size() == 4 && 'ABC'.matches('(?i)abc')") == .bool(true))
        let v: [(String, CELType, Value)] = [("p", .string, .string("["))]
        #expect(evalError("'a'.matches(p)", vars: v)?.kind == .invalidArgument)
        let e = compileError("'a'.matches('(')")
        #expect(e?.message == "invalid regular expression '('")
        #expect(e?.column == 13)
    }

    @Test func wrongTypes() {
        let e = compileError("'abc'.contains(1)")
        #expect(e?.message == "no matching overload for 'string.contains(int)'")
        #expect(e?.column == 7)
        #expect(compileError("1.startsWith('a')")?.message == "no matching overload for 'int.startsWith(string)'")
        #expect(compileError("contains('a', 'b')")?.message == "no matching overload for 'contains' applied to (string, string)")
        #expect(compileError("size(1)")?.message == "no matching overload for 'size' applied to (int)")
        #expect(compileError("true.size()")?.message == "no matching overload for 'bool.size()'")
        let u = compileError("'a'.lenght()")
        #expect(u?.message == "undeclared reference to function 'lenght'")
        let s = compileError("'a'.sise()")
        #expect(s?.hint == "did you mean 'size'?")
    }
}
