import CEL
import Testing

@Suite struct LiteralTests {
    @Test func integers() throws {
        #expect(try eval("0") == .int(0))
        #expect(try eval("42") == .int(42))
        #expect(try eval("0x1F") == .int(31))
        #expect(try eval("0XfF") == .int(255))
        #expect(try eval("-7") == .int(-7))
        #expect(try eval("9223372036854775807") == .int(Int64.max))
        #expect(try eval("-9223372036854775808") == .int(Int64.min))
        #expect(try eval("- -3") == .int(3))
    }

    @Test func unsigned() throws {
        #expect(try eval("1u") == .uint(1))
        #expect(try eval("7U") == .uint(7))
        #expect(try eval("0xFFu") == .uint(255))
        #expect(try eval("18446744073709551615u") == .uint(UInt64.max))
    }

    @Test func doubles() throws {
        #expect(try eval("1.5") == .double(1.5))
        #expect(try eval(".5") == .double(0.5))
        #expect(try eval("1e3") == .double(1000))
        #expect(try eval("1E-2") == .double(0.01))
        #expect(try eval("2.5e+2") == .double(250))
        #expect(try eval("-0.25") == .double(-0.25))
    }

    @Test func outOfRangeLiterals() {
        #expect(compileError("9223372036854775808")?.message == "integer literal out of range")
        #expect(compileError("18446744073709551616u")?.message == "uint literal out of range")
        #expect(compileError("0x10000000000000000")?.message == "integer literal out of range")
        #expect(compileError("1 + 99999999999999999999")?.column == 5)
    }

    @Test func boolsAndNull() throws {
        #expect(try eval("true") == .bool(true))
        #expect(try eval("false") == .bool(false))
        #expect(try eval("null") == .null)
    }

    @Test func simpleStrings() throws {
        #expect(try eval("\"abc\"") == .string("abc"))
        #expect(try eval("'abc'") == .string("abc"))
        #expect(try eval("''") == .string(""))
        #expect(try eval("'\"\"'") == .string("\"\""))
        #expect(try eval("\"Hà Giang\"") == .string("Hà Giang"))
    }

    @Test func escapes() throws {
        #expect(try eval(#""\a\b\f\n\r\t\v""#) == .string("\u{07}\u{08}\u{0C}\n\r\t\u{0B}"))
        #expect(try eval(#""\\ \' \" \` \?""#) == .string("\\ ' \" ` ?"))
        #expect(try eval(#""\101\102""#) == .string("AB"))
        #expect(try eval(#""\303\277""#) == .string("\u{C3}\u{BF}"))
        #expect(try eval(#""\377""#) == .string("\u{FF}"))
        #expect(try eval(#""\x41\xFF""#) == .string("A\u{FF}"))
        #expect(try eval(#""\X41""#) == .string("A"))
        #expect(try eval(#""\u00e0\u1EA1""#) == .string("àạ"))
        #expect(try eval(#""\U0001F600""#) == .string("😀"))
    }

    @Test func badEscapes() {
        #expect(compileError(#""\q""#)?.message == "invalid escape sequence '\\q'")
        #expect(compileError(#""ab\q""#)?.column == 4)
        #expect(compileError(#""\400""#) != nil)
        #expect(compileError(#""\xZZ""#)?.message == "invalid escape: \\x needs 2 hexadecimal digits")
        #expect(compileError(#""\uD800""#)?.message == "invalid code point in escape sequence")
        #expect(compileError(#"b"\u0041""#)?.message == "\\u escapes are not allowed in bytes literals")
    }

    @Test func rawStrings() throws {
        #expect(try eval(#"r"\\""#) == .string(#"\\"#))
        #expect(try eval(#"R'\n\d+'"#) == .string(#"\n\d+"#))
        #expect(try eval(#"r"""a\n"b""""#) == .string(#"a\n"b"#))
    }

    @Test func tripleQuoted() throws {
        #expect(try eval("'''x''x'''") == .string("x''x"))
        #expect(try eval("\"\"\"line1\nline2\"\"\"") == .string("line1\nline2"))
        #expect(try eval(#""""tab\there""""#) == .string("tab\there"))
    }

    @Test func unterminatedStrings() {
        #expect(compileError("'abc")?.message == "unterminated string literal")
        #expect(compileError("1 + \"a\nb\"")?.column == 5)
        #expect(compileError("'''abc''")?.message == "unterminated string literal")
    }

    @Test func bytes() throws {
        #expect(try eval(#"b"abc""#) == .bytes([97, 98, 99]))
        #expect(try eval(#"b"ÿ""#) == .bytes([195, 191]))
        #expect(try eval(#"b"\303\277""#) == .bytes([195, 191]))
        #expect(try eval(#"b"\377""#) == .bytes([255]))
        #expect(try eval(#"b"\xFF""#) == .bytes([255]))
        #expect(try eval(#"B'\n'"#) == .bytes([10]))
        #expect(try eval(#"rb"\n""#) == .bytes([92, 110]))
        #expect(try eval(#"br'''a'b'''"#) == .bytes([97, 39, 98]))
    }

    /// The lexer folds only ASCII capitals in string prefixes and reads identifiers and
    /// operators scalar by scalar: every spelling of a prefix, names that start like one, each
    /// two-character operator, and characters that are not CEL.
    @Test func prefixesNamesAndOperatorsScalarByScalar() throws {
        #expect(try eval(#"RB"\n""#) == .bytes([92, 110]))
        #expect(try eval(#"Rb'\t'"#) == .bytes([92, 116]))
        #expect(try eval(#"bR'x'"#) == .bytes([120]))
        #expect(try eval(#"R'\d'"#) == .string("\\d"))
        #expect(try eval("rb + br + r_1 + B2", vars: [("rb", .int, .int(1)), ("br", .int, .int(20)),
                                                      ("r_1", .int, .int(300)), ("B2", .int, .int(4000))]) == .int(4321))
        #expect(try eval("1 <= 2 && 3 >= 2 && 1 == 1 && 1 != 2 && !(1 < 1) && 2 > 1 || false") == .bool(true))
        #expect(try eval("[7 % 4, -3 + 10 * 2 / 4]") == list(.int(3), .int(2)))
        #expect(compileError("true & false")?.message == "unexpected character '&' (did you mean '&&'?)")
        #expect(compileError("true | false")?.message == "unexpected character '|' (did you mean '||'?)")
        #expect(compileError("1 ≤ 2")?.message == "unexpected character '≤'")
        #expect(compileError("1 # 2")?.column == 3)
    }

    @Test func commentsAndWhitespace() throws {
        #expect(try eval("1 + // one\n 2 // two") == .int(3))
        #expect(try eval("\t1\r\n+\u{0C}2") == .int(3))
    }

    @Test func listsAndMaps() throws {
        #expect(try eval("[]") == list())
        #expect(try eval("[1, 'a', true,]") == list(.int(1), .string("a"), .bool(true)))
        let m = try eval("{'a': 1, 2: 'b', true: 2.5}")
        guard case .map(let map) = m else { Issue.record("not a map"); return }
        #expect(map.count == 3)
        #expect(map[.string("a")] == .int(1))
        #expect(map[.int(2)] == .string("b"))
        #expect(map[.bool(true)] == .double(2.5))
        #expect(map.keys == [.string("a"), .int(2), .bool(true)])
    }

    @Test func syntaxErrors() {
        #expect(compileError("")?.message == "empty expression")
        #expect(compileError("1 +")?.message == "unexpected end of expression")
        #expect(compileError("(1 + 2")?.message == "expected ')' to close '(', found end of expression")
        #expect(compileError("1 2")?.message == "unexpected number after the end of the expression")
        let e = compileError("a = 1", { var d = Declarations(); d.declareVariable("a", .int); return d }())
        #expect(e?.message == "unexpected character '=' (did you mean '=='?)")
        #expect(e?.column == 3)
        #expect(compileError("if")?.message == "'if' is a reserved word")
        #expect(compileError("[1, 2")?.message == "expected ',' or ']', found end of expression")
        #expect(compileError("Member{age: 1}")?.message == "message construction (Type{field: value}) is not supported")
        let multi = compileError("true &&\n  1 +\n  )")
        #expect(multi?.line == 3)
        #expect(multi?.column == 3)
    }
}
