/// JSON in and out of the rule language, for `povrules eval --bind` and its output.
public enum CELJSON {
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var offset: Int
        public var description: String { "\(message) at character \(offset + 1)" }
    }

    /// Parses JSON: a number without fraction or exponent is an `int` (a `double` if it does not
    /// fit), one with either is a `double`; arrays are lists and objects are string-keyed maps.
    public static func parse(_ text: String) throws(ParseError) -> Value {
        var p = JSONParser(Array(text.unicodeScalars))
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        if p.i < p.s.count { throw ParseError(message: "unexpected text after the JSON value", offset: p.i) }
        return v
    }

    /// The declared type of a bound JSON value: arrays are `list(dyn)`, objects `map(string, dyn)`.
    public static func bindingType(of value: Value) -> CELType {
        switch value {
        case .list: return .list(.dyn)
        case .map: return .map(.string, .dyn)
        default: return value.runtimeType
        }
    }

    /// JSON for a value: doubles always with a decimal point or exponent (NaN and infinities as
    /// the strings "NaN", "Infinity", "-Infinity"), uint as a number, bytes as base64, types as
    /// their name, maps with string keys as objects and other maps as lists of [key, value].
    public static func encode(_ value: Value, declarations: Declarations = Declarations()) -> String {
        var out = ""
        write(value, declarations, &out)
        return out
    }

    static func write(_ v: Value, _ decls: Declarations, _ out: inout String) {
        switch v {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .uint(let u): out += String(u)
        case .double(let d):
            out += d.isFinite ? formatDouble(d) : quoteJSON(formatDouble(d))
        case .string(let s): out += quoteJSON(s)
        case .bytes(let b): out += quoteJSON(base64(b))
        case .type(let t): out += quoteJSON(t.runtimeName)
        case .object(let r):
            out += "{\"type\": \(quoteJSON(decls.objectTypeName(r.type))), \"row\": \(r.row)}"
        case .list(let l):
            out += "["
            for i in 0..<l.count {
                if i > 0 { out += ", " }
                write(l[i], decls, &out)
            }
            out += "]"
        case .map(let m):
            let stringKeys = m.keys.allSatisfy { if case .string = $0 { return true } else { return false } }
            if stringKeys {
                out += "{"
                for (i, (k, x)) in zip(m.keys, m.values).enumerated() {
                    if i > 0 { out += ", " }
                    if case .string(let s) = k { out += quoteJSON(s) }
                    out += ": "
                    write(x, decls, &out)
                }
                out += "}"
            } else {
                out += "["
                for (i, (k, x)) in zip(m.keys, m.values).enumerated() {
                    if i > 0 { out += ", " }
                    out += "["
                    write(k, decls, &out)
                    out += ", "
                    write(x, decls, &out)
                    out += "]"
                }
                out += "]"
            }
        }
    }

    public static func quoteJSON(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if u.value < 0x20 { out += "\\u" + String(format4: u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    public static func base64(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i])
            let b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0
            let b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
            let n = b0 << 16 | b1 << 8 | b2
            out.append(table[Int(n >> 18 & 63)])
            out.append(table[Int(n >> 12 & 63)])
            out.append(i + 1 < bytes.count ? table[Int(n >> 6 & 63)] : "=")
            out.append(i + 2 < bytes.count ? table[Int(n & 63)] : "=")
            i += 3
        }
        return String(out)
    }
}

struct JSONParser {
    let s: [Unicode.Scalar]
    var i = 0
    init(_ s: [Unicode.Scalar]) { self.s = s }

    func fail(_ m: String) -> CELJSON.ParseError { CELJSON.ParseError(message: m, offset: i) }

    mutating func skipSpace() {
        while i < s.count, s[i] == " " || s[i] == "\t" || s[i] == "\n" || s[i] == "\r" { i += 1 }
    }

    mutating func literal(_ word: String, _ v: Value) throws(CELJSON.ParseError) -> Value {
        let w = Array(word.unicodeScalars)
        guard i + w.count <= s.count, Array(s[i..<i + w.count]) == w else { throw fail("invalid JSON value") }
        i += w.count
        return v
    }

    mutating func value(depth: Int) throws(CELJSON.ParseError) -> Value {
        guard depth < 500 else { throw fail("JSON nested too deeply") }
        guard i < s.count else { throw fail("unexpected end of JSON") }
        switch s[i] {
        case "n": return try literal("null", .null)
        case "t": return try literal("true", .bool(true))
        case "f": return try literal("false", .bool(false))
        case "\"": return .string(try string())
        case "[":
            i += 1
            var out: [Value] = []
            skipSpace()
            if i < s.count, s[i] == "]" { i += 1; return .list(.array(out)) }
            while true {
                skipSpace()
                out.append(try value(depth: depth + 1))
                skipSpace()
                guard i < s.count else { throw fail("unterminated JSON array") }
                if s[i] == "," { i += 1; continue }
                if s[i] == "]" { i += 1; return .list(.array(out)) }
                throw fail("expected ',' or ']' in JSON array")
            }
        case "{":
            i += 1
            var pairs: [(String, Value)] = []
            skipSpace()
            if i < s.count, s[i] == "}" { i += 1; return .map(MapValue(stringKeyed: pairs)) }
            while true {
                skipSpace()
                guard i < s.count, s[i] == "\"" else { throw fail("expected a string key in JSON object") }
                let k = try string()
                skipSpace()
                guard i < s.count, s[i] == ":" else { throw fail("expected ':' in JSON object") }
                i += 1
                skipSpace()
                pairs.append((k, try value(depth: depth + 1)))
                skipSpace()
                guard i < s.count else { throw fail("unterminated JSON object") }
                if s[i] == "," { i += 1; continue }
                if s[i] == "}" { i += 1; return .map(MapValue(stringKeyed: pairs)) }
                throw fail("expected ',' or '}' in JSON object")
            }
        default:
            return try number()
        }
    }

    mutating func number() throws(CELJSON.ParseError) -> Value {
        let start = i
        var isDouble = false
        if i < s.count, s[i] == "-" { i += 1 }
        func digits() -> Int {
            let b = i
            while i < s.count, Lexer.isDigit(s[i]) { i += 1 }
            return i - b
        }
        guard digits() > 0 else { i = start; throw fail("invalid JSON value") }
        if i < s.count, s[i] == "." {
            i += 1
            isDouble = true
            guard digits() > 0 else { throw fail("invalid JSON number") }
        }
        if i < s.count, s[i] == "e" || s[i] == "E" {
            i += 1
            isDouble = true
            if i < s.count, s[i] == "+" || s[i] == "-" { i += 1 }
            guard digits() > 0 else { throw fail("invalid JSON number") }
        }
        var text = ""
        text.unicodeScalars.append(contentsOf: s[start..<i])
        if !isDouble, let n = Int64(text) { return .int(n) }
        guard let d = Double(text) else { throw fail("invalid JSON number") }
        return .double(d)
    }

    mutating func string() throws(CELJSON.ParseError) -> String {
        i += 1
        var out = String.UnicodeScalarView()
        while true {
            guard i < s.count else { throw fail("unterminated JSON string") }
            let c = s[i]
            i += 1
            if c == "\"" { return String(out) }
            if c.value < 0x20 { throw fail("control character in JSON string") }
            guard c == "\\" else { out.append(c); continue }
            guard i < s.count else { throw fail("unterminated JSON string") }
            let e = s[i]
            i += 1
            switch e {
            case "\"", "\\", "/": out.append(e)
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            case "u":
                var v = try hex4()
                if v >= 0xD800 && v < 0xDC00, i + 1 < s.count, s[i] == "\\", s[i + 1] == "u" {
                    i += 2
                    let lo = try hex4()
                    guard lo >= 0xDC00 && lo < 0xE000 else { throw fail("invalid surrogate pair in JSON string") }
                    v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00)
                }
                guard let u = Unicode.Scalar(v) else { throw fail("invalid \\u escape in JSON string") }
                out.append(u)
            default: throw fail("invalid escape in JSON string")
            }
        }
    }

    mutating func hex4() throws(CELJSON.ParseError) -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard i < s.count, Lexer.isHex(s[i]) else { throw fail("invalid \\u escape in JSON string") }
            v = v * 16 + Lexer.hexValue(s[i])
            i += 1
        }
        return v
    }
}

extension Program {
    /// The one-line JSON result of `povrules eval`: `{"value": …, "type": "…"}`.
    public func resultJSON(_ value: Value) -> String {
        "{\"value\": \(CELJSON.encode(value, declarations: declarations)), \"type\": \(CELJSON.quoteJSON(typeName(of: value)))}"
    }
}
