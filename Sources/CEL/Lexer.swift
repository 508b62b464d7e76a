enum TokenKind: Equatable {
    /// Decimal or hex integer literal, its magnitude (the sign is a separate `-`).
    case int(UInt64, overflow: Bool)
    case uint(UInt64)
    case double(Double)
    case string(String)
    case bytes([UInt8])
    case ident(String)
    case punct(String)
    case eof
}

struct Token {
    var kind: TokenKind
    var line: Int
    var column: Int
    /// Scalar offsets [start, end) in the source.
    var start: Int
    var end: Int
}

let reservedWords: Set<String> = [
    "as", "break", "const", "continue", "else", "for", "function", "if", "import", "let",
    "loop", "package", "namespace", "return", "var", "void", "while",
]

struct Lexer {
    let src: [Unicode.Scalar]
    var pos = 0
    var line = 1
    var col = 1

    init(_ source: String) { src = Array(source.unicodeScalars) }

    func peek(_ k: Int = 0) -> Unicode.Scalar? {
        pos + k < src.count ? src[pos + k] : nil
    }

    mutating func advance() {
        let c = src[pos]
        pos += 1
        if c == "\n" {
            line += 1
            col = 1
        } else if c == "\r" {
            if peek() != "\n" {
                line += 1
                col = 1
            } else {
                col += 1
            }
        } else {
            col += 1
        }
    }

    func error(_ msg: String, _ l: Int, _ c: Int) -> CELError { CELError(msg, line: l, column: c) }

    mutating func tokenize() throws(CELError) -> [Token] {
        var out: [Token] = []
        while true {
            let t = try next()
            out.append(t)
            if t.kind == .eof { return out }
        }
    }

    static func isDigit(_ c: Unicode.Scalar?) -> Bool { c.map { $0.value >= 48 && $0.value <= 57 } ?? false }
    static func isHex(_ c: Unicode.Scalar?) -> Bool {
        guard let c else { return false }
        return isDigit(c) || (c.value >= 97 && c.value <= 102) || (c.value >= 65 && c.value <= 70)
    }
    static func hexValue(_ c: Unicode.Scalar) -> UInt32 {
        let v = c.value
        if v >= 48 && v <= 57 { return v - 48 }
        if v >= 97 && v <= 102 { return v - 87 }
        return v - 55
    }
    static func isIdentStart(_ c: Unicode.Scalar?) -> Bool {
        guard let c else { return false }
        return c == "_" || (c.value >= 65 && c.value <= 90) || (c.value >= 97 && c.value <= 122)
    }
    static func isIdentChar(_ c: Unicode.Scalar?) -> Bool { isIdentStart(c) || isDigit(c) }
    /// `c` with ASCII capitals made small; every other scalar as it is.
    static func asciiLower(_ c: Unicode.Scalar) -> Unicode.Scalar {
        c.value >= 65 && c.value <= 90 ? Unicode.Scalar(UInt8(c.value + 32)) : c
    }
    /// `<=`, `>=`, `==`, `!=`, `&&`, `||`.
    static func isTwoScalarPunct(_ a: Unicode.Scalar, _ b: Unicode.Scalar) -> Bool {
        switch (a, b) {
        case ("<", "="), (">", "="), ("=", "="), ("!", "="), ("&", "&"), ("|", "|"): return true
        default: return false
        }
    }

    /// The source scalars in `range`, all ASCII (an identifier, an operator), as a String made
    /// from their bytes: building it from scalars went through generic, unspecialised code.
    func asciiText(_ range: Range<Int>) -> String {
        String(unsafeUninitializedCapacity: range.count) { buffer in
            for (i, k) in range.enumerated() { buffer[i] = UInt8(truncatingIfNeeded: src[k].value) }
            return range.count
        }
    }

    mutating func skipSpaceAndComments() {
        while let c = peek() {
            if c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\u{0C}" {
                advance()
            } else if c == "/" && peek(1) == "/" {
                while let d = peek(), d != "\n", d != "\r" { advance() }
            } else {
                return
            }
        }
    }

    mutating func next() throws(CELError) -> Token {
        skipSpaceAndComments()
        let startPos = pos, l = line, c = col
        func tok(_ k: TokenKind) -> Token { Token(kind: k, line: l, column: c, start: startPos, end: pos) }
        guard let ch = peek() else { return tok(.eof) }

        // String and bytes literals with prefixes.
        if ch == "\"" || ch == "'" { return tok(try lexString(raw: false, bytes: false)) }
        if Lexer.isIdentStart(ch) {
            // Prefix letters by ASCII case folding: `Character.lowercased()` ran the Unicode
            // case mapping for every identifier, most of the time spent lexing the rules.
            let lower = Lexer.asciiLower(ch)
            let n1 = peek(1), n2 = peek(2)
            let isQuote: (Unicode.Scalar?) -> Bool = { $0 == "\"" || $0 == "'" }
            if (lower == "r" || lower == "b") && isQuote(n1) {
                advance()
                return tok(try lexString(raw: lower == "r", bytes: lower == "b"))
            }
            if let n1, isQuote(n2) {
                let l1 = Lexer.asciiLower(n1)
                if (lower == "r" && l1 == "b") || (lower == "b" && l1 == "r") {
                    advance(); advance()
                    return tok(try lexString(raw: true, bytes: true))
                }
            }
            while Lexer.isIdentChar(peek()) { advance() }
            return tok(.ident(asciiText(startPos..<pos)))
        }
        if Lexer.isDigit(ch) || (ch == "." && Lexer.isDigit(peek(1))) {
            return tok(try lexNumber(l, c))
        }
        // Punctuation, by scalar: a String per candidate made every operator cost thousands of
        // instructions.
        if let n1 = peek(1), Lexer.isTwoScalarPunct(ch, n1) {
            advance(); advance()
            return tok(.punct(asciiText(startPos..<pos)))
        }
        let one = String(Character(ch))
        if "()[]{}.,:?!-+*/%<>".unicodeScalars.contains(ch) {
            advance()
            return tok(.punct(one))
        }
        if one == "=" { throw error("unexpected character '=' (did you mean '=='?)", l, c) }
        if one == "&" { throw error("unexpected character '&' (did you mean '&&'?)", l, c) }
        if one == "|" { throw error("unexpected character '|' (did you mean '||'?)", l, c) }
        throw error("unexpected character '\(one)'", l, c)
    }

    mutating func lexNumber(_ l: Int, _ c: Int) throws(CELError) -> TokenKind {
        if peek() == "0", let x = peek(1), x == "x" || x == "X", Lexer.isHex(peek(2)) {
            advance(); advance()
            var v: UInt64 = 0
            var overflow = false
            while Lexer.isHex(peek()) {
                let (m, o1) = v.multipliedReportingOverflow(by: 16)
                let (a, o2) = m.addingReportingOverflow(UInt64(Lexer.hexValue(peek()!)))
                if o1 || o2 { overflow = true }
                v = a
                advance()
            }
            if let u = peek(), u == "u" || u == "U" {
                advance()
                if overflow { throw error("uint literal out of range", l, c) }
                return .uint(v)
            }
            return .int(v, overflow: overflow)
        }
        var text = ""
        var isFloat = false
        while Lexer.isDigit(peek()) { text.unicodeScalars.append(peek()!); advance() }
        if peek() == ".", Lexer.isDigit(peek(1)) {
            isFloat = true
            text += "."
            advance()
            while Lexer.isDigit(peek()) { text.unicodeScalars.append(peek()!); advance() }
        }
        if let e = peek(), e == "e" || e == "E" {
            var k = 1
            if let s = peek(1), s == "+" || s == "-" { k = 2 }
            if Lexer.isDigit(peek(k)) {
                isFloat = true
                for _ in 0..<k { text.unicodeScalars.append(peek()!); advance() }
                while Lexer.isDigit(peek()) { text.unicodeScalars.append(peek()!); advance() }
            }
        }
        if isFloat {
            if text.hasPrefix(".") { text = "0" + text }
            guard let d = Double(text) else { throw error("invalid double literal '\(text)'", l, c) }
            return .double(d)
        }
        let value = UInt64(text)
        if let u = peek(), u == "u" || u == "U" {
            advance()
            guard let value else { throw error("uint literal out of range", l, c) }
            return .uint(value)
        }
        return .int(value ?? 0, overflow: value == nil)
    }

    mutating func lexString(raw: Bool, bytes: Bool) throws(CELError) -> TokenKind {
        let l = line, c = col
        let q = peek()!
        var triple = false
        if peek(1) == q && peek(2) == q {
            triple = true
            advance(); advance(); advance()
        } else {
            advance()
        }
        var scalars = String.UnicodeScalarView()
        var data: [UInt8] = []
        func emit(_ s: Unicode.Scalar) {
            if bytes { data.append(contentsOf: Array(String(s).utf8)) } else { scalars.append(s) }
        }
        func emitByteOrScalar(_ v: UInt32, _ el: Int, _ ec: Int) throws(CELError) {
            if bytes {
                data.append(UInt8(v & 0xff))
            } else {
                guard let s = Unicode.Scalar(v) else { throw error("invalid code point in escape sequence", el, ec) }
                scalars.append(s)
            }
        }
        while true {
            guard let ch = peek() else {
                throw error("unterminated \(bytes ? "bytes" : "string") literal", l, c)
            }
            if triple {
                if ch == q && peek(1) == q && peek(2) == q {
                    advance(); advance(); advance()
                    break
                }
            } else {
                if ch == q { advance(); break }
                if ch == "\n" || ch == "\r" {
                    throw error("unterminated \(bytes ? "bytes" : "string") literal (newline in a quoted string; use triple quotes)", l, c)
                }
            }
            if ch == "\\" && !raw {
                let el = line, ec = col
                advance()
                guard let e = peek() else { throw error("unterminated \(bytes ? "bytes" : "string") literal", l, c) }
                advance()
                switch e {
                case "a": emit("\u{07}")
                case "b": emit("\u{08}")
                case "f": emit("\u{0C}")
                case "n": emit("\n")
                case "r": emit("\r")
                case "t": emit("\t")
                case "v": emit("\u{0B}")
                case "\\", "'", "\"", "`", "?": emit(e)
                case "0", "1", "2", "3":
                    var v = Lexer.hexValue(e)
                    for _ in 0..<2 {
                        guard let d = peek(), d.value >= 48, d.value <= 55 else {
                            throw error("invalid octal escape: expected three octal digits \\[0-3][0-7][0-7]", el, ec)
                        }
                        v = v * 8 + (d.value - 48)
                        advance()
                    }
                    try emitByteOrScalar(v, el, ec)
                case "x", "X", "u", "U":
                    let n = (e == "x" || e == "X") ? 2 : (e == "u" ? 4 : 8)
                    if bytes && (e == "u" || e == "U") {
                        throw error("\\\(e) escapes are not allowed in bytes literals", el, ec)
                    }
                    var v: UInt32 = 0
                    for _ in 0..<n {
                        guard Lexer.isHex(peek()) else {
                            throw error("invalid escape: \\\(e) needs \(n) hexadecimal digits", el, ec)
                        }
                        v = v &* 16 &+ Lexer.hexValue(peek()!)
                        advance()
                    }
                    if !bytes && ((v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF) {
                        throw error("invalid code point in escape sequence", el, ec)
                    }
                    try emitByteOrScalar(v, el, ec)
                default:
                    throw error("invalid escape sequence '\\\(Character(e))'", el, ec)
                }
                continue
            }
            emit(ch)
            advance()
        }
        return bytes ? .bytes(data) : .string(String(scalars))
    }
}
