import Foundation

// MARK: Equality and ordering

/// -1, 0, 1, or nil when `d` is NaN. Exact (no rounding of the integer).
@inline(__always)
func compareIntDouble(_ i: Int64, _ d: Double) -> Int? {
    if d.isNaN { return nil }
    if d >= 9.223372036854775808e18 { return -1 }
    if d < -9.223372036854775808e18 { return 1 }
    let t = d.rounded(.towardZero)
    let ti = Int64(t)
    if i < ti { return -1 }
    if i > ti { return 1 }
    let frac = d - t
    return frac > 0 ? -1 : (frac < 0 ? 1 : 0)
}

@inline(__always)
func compareUintDouble(_ u: UInt64, _ d: Double) -> Int? {
    if d.isNaN { return nil }
    if d >= 1.8446744073709552e19 { return -1 }
    if d < 0 { return 1 }
    let t = d.rounded(.towardZero)
    let tu = UInt64(t)
    if u < tu { return -1 }
    if u > tu { return 1 }
    return d > t ? -1 : 0
}

@inline(__always)
func compareIntUint(_ i: Int64, _ u: UInt64) -> Int {
    if i < 0 { return -1 }
    let x = UInt64(i)
    return x < u ? -1 : (x > u ? 1 : 0)
}

@inline(__always)
func cmp<T: Comparable>(_ a: T, _ b: T) -> Int { a < b ? -1 : (a > b ? 1 : 0) }

extension Value {
    /// The language's `==`: numbers compare by value across int, uint and double; lists and maps
    /// element-wise; values of different kinds are unequal; NaN is unequal to everything.
    public static func celEquals(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x == y
        case (.string(let x), .string(let y)): return stringsEqual(x, y)
        case (.bool(let x), .bool(let y)): return x == y
        case (.double(let x), .double(let y)): return x == y
        case (.uint(let x), .uint(let y)): return x == y
        case (.int(let x), .uint(let y)): return compareIntUint(x, y) == 0
        case (.uint(let x), .int(let y)): return compareIntUint(y, x) == 0
        case (.int(let x), .double(let y)): return compareIntDouble(x, y) == 0
        case (.double(let x), .int(let y)): return compareIntDouble(y, x) == 0
        case (.uint(let x), .double(let y)): return compareUintDouble(x, y) == 0
        case (.double(let x), .uint(let y)): return compareUintDouble(y, x) == 0
        case (.null, .null): return true
        case (.bytes(let x), .bytes(let y)): return x == y
        case (.object(let x), .object(let y)): return x == y
        case (.type(let x), .type(let y)): return x == y
        case (.list(let x), .list(let y)):
            guard x.count == y.count else { return false }
            for i in 0..<x.count where !celEquals(x[i], y[i]) { return false }
            return true
        case (.map(let x), .map(let y)):
            guard x.count == y.count else { return false }
            for (k, v) in zip(x.keys, x.values) {
                guard let w = y[k], celEquals(v, w) else { return false }
            }
            return true
        default: return false
        }
    }

    /// The language's ordering; nil when unordered (NaN). Throws for kinds without an order.
    public static func celCompare(_ a: Value, _ b: Value, op: String = "<") throws(EvalError) -> Int? {
        switch (a, b) {
        case (.int(let x), .int(let y)): return cmp(x, y)
        case (.uint(let x), .uint(let y)): return cmp(x, y)
        case (.double(let x), .double(let y)): return (x.isNaN || y.isNaN) ? nil : cmp(x, y)
        case (.int(let x), .uint(let y)): return compareIntUint(x, y)
        case (.uint(let x), .int(let y)): return -compareIntUint(y, x)
        case (.int(let x), .double(let y)): return compareIntDouble(x, y)
        case (.double(let x), .int(let y)): return compareIntDouble(y, x).map { -$0 }
        case (.uint(let x), .double(let y)): return compareUintDouble(x, y)
        case (.double(let x), .uint(let y)): return compareUintDouble(y, x).map { -$0 }
        case (.string(let x), .string(let y)): return compareStrings(x, y)
        case (.bytes(let x), .bytes(let y)):
            for (p, q) in zip(x, y) where p != q { return p < q ? -1 : 1 }
            return cmp(x.count, y.count)
        case (.bool(let x), .bool(let y)): return x == y ? 0 : (x ? 1 : -1)
        default:
            throw noMatchingOverload(op, a, b)
        }
    }
}

func typeName(_ v: Value) -> String { v.runtimeType.runtimeName }

func noMatchingOverload(_ op: String, _ args: Value...) -> EvalError {
    EvalError(.noMatchingOverload, "no matching overload for '\(op)' applied to (\(args.map(typeName).joined(separator: ", ")))")
}

@inline(__always)
func relation(_ op: BinaryOp, _ a: Value, _ b: Value) throws(EvalError) -> Bool {
    switch op {
    case .eq: return Value.celEquals(a, b)
    case .ne: return !Value.celEquals(a, b)
    default:
        guard let c = try Value.celCompare(a, b, op: op.rawValue) else { return false }
        return orderResult(op, c)
    }
}

@inline(__always)
func orderResult(_ op: BinaryOp, _ c: Int) -> Bool {
    switch op {
    case .lt: return c < 0
    case .le: return c <= 0
    case .gt: return c > 0
    case .ge: return c >= 0
    case .eq: return c == 0
    default: return c != 0
    }
}

/// The language's relation on two ints or two doubles: for doubles NaN is unordered and
/// unequal to everything, as Swift's operators have it.
@inline(__always)
func orderedRelation<T: Comparable>(_ op: BinaryOp, _ a: T, _ b: T) -> Bool {
    switch op {
    case .lt: return a < b
    case .le: return a <= b
    case .gt: return a > b
    case .ge: return a >= b
    case .eq: return a == b
    default: return a != b
    }
}

func contains(_ container: Value, _ v: Value) throws(EvalError) -> Bool {
    switch container {
    case .list(let l):
        switch l {
        case .array(let a):
            for x in a where Value.celEquals(v, x) { return true }
            return false
        case .rows(let t, let start, let n):
            guard case .object(let r) = v else { return false }
            return r.type == t && r.row >= start && r.row < start + n
        }
    case .map(let m):
        return m.contains(v)
    default:
        throw noMatchingOverload("in", v, container)
    }
}

// MARK: Arithmetic

let intOverflow = EvalError(.overflow, "integer overflow")
let uintOverflow = EvalError(.overflow, "unsigned integer overflow")

/// `op` on two doubles (IEEE: no error, a division by zero gives an infinity or NaN); nil for an
/// operator doubles do not have (`%`).
@inline(__always) func doubleArithmetic(_ op: BinaryOp, _ x: Double, _ y: Double) -> Double? {
    switch op {
    case .add: return x + y
    case .sub: return x - y
    case .mul: return x * y
    case .div: return x / y
    default: return nil
    }
}

func arithmetic(_ op: BinaryOp, _ a: Value, _ b: Value) throws(EvalError) -> Value {
    switch (a, b) {
    case (.int(let x), .int(let y)):
        let r: (Int64, Bool)
        switch op {
        case .add: r = x.addingReportingOverflow(y)
        case .sub: r = x.subtractingReportingOverflow(y)
        case .mul: r = x.multipliedReportingOverflow(by: y)
        case .div:
            if y == 0 { throw EvalError(.divideByZero, "division by zero") }
            r = x.dividedReportingOverflow(by: y)
        case .mod:
            if y == 0 { throw EvalError(.divideByZero, "modulus by zero") }
            r = x.remainderReportingOverflow(dividingBy: y)
        default: throw noMatchingOverload(op.rawValue, a, b)
        }
        if r.1 { throw intOverflow }
        return .int(r.0)
    case (.uint(let x), .uint(let y)):
        let r: (UInt64, Bool)
        switch op {
        case .add: r = x.addingReportingOverflow(y)
        case .sub: r = x.subtractingReportingOverflow(y)
        case .mul: r = x.multipliedReportingOverflow(by: y)
        case .div:
            if y == 0 { throw EvalError(.divideByZero, "division by zero") }
            r = (x / y, false)
        case .mod:
            if y == 0 { throw EvalError(.divideByZero, "modulus by zero") }
            r = (x % y, false)
        default: throw noMatchingOverload(op.rawValue, a, b)
        }
        if r.1 { throw uintOverflow }
        return .uint(r.0)
    case (.double(let x), .double(let y)):
        guard let r = doubleArithmetic(op, x, y) else { throw noMatchingOverload(op.rawValue, a, b) }
        return .double(r)
    case (.string(let x), .string(let y)) where op == .add:
        return .string(x + y)
    case (.bytes(let x), .bytes(let y)) where op == .add:
        return .bytes(x + y)
    case (.list(let x), .list(let y)) where op == .add:
        return .list(.array(x.elements + y.elements))
    default:
        throw noMatchingOverload(op.rawValue, a, b)
    }
}

func negate(_ v: Value) throws(EvalError) -> Value {
    switch v {
    case .int(let i):
        if i == Int64.min { throw intOverflow }
        return .int(-i)
    case .double(let d): return .double(-d)
    default: throw noMatchingOverload("-", v)
    }
}

// MARK: Indexing and selection

func indexValue(_ c: Value, _ i: Value) throws(EvalError) -> Value {
    switch c {
    case .list(let l):
        let n: Int64
        switch i {
        case .int(let x): n = x
        case .uint(let u):
            guard u <= UInt64(Int64.max) else { throw EvalError(.invalidArgument, "index out of range: \(u)") }
            n = Int64(u)
        case .double(let d):
            guard let x = Int64(exactly: d) else { throw EvalError(.invalidArgument, "invalid list index: \(formatDouble(d))") }
            n = x
        default: throw noMatchingOverload("[]", c, i)
        }
        guard n >= 0, n < Int64(l.count) else { throw EvalError(.invalidArgument, "index out of range: \(n)") }
        return l[Int(n)]
    case .map(let m):
        guard MapKey(i) != nil else { throw noMatchingOverload("[]", c, i) }
        guard let v = m[i] else { throw EvalError(.noSuchField, "no such key: \(i.debugText)") }
        return v
    default:
        throw noMatchingOverload("[]", c, i)
    }
}

// MARK: Strings

@inline(__always)
func utf8Search(_ s: String, _ sub: String, mode: Builtin) -> Bool {
    var s = s, sub = sub
    return s.withUTF8 { h in
        sub.withUTF8 { n in
            if n.count == 0 { return true }
            if n.count > h.count { return false }
            switch mode {
            case .startsWith: return memcmpEqual(h.baseAddress!, n.baseAddress!, n.count)
            case .endsWith: return memcmpEqual(h.baseAddress! + (h.count - n.count), n.baseAddress!, n.count)
            default:
                let first = n[0]
                var i = 0
                let last = h.count - n.count
                while i <= last {
                    if h[i] == first && memcmpEqual(h.baseAddress! + i, n.baseAddress!, n.count) { return true }
                    i += 1
                }
                return false
            }
        }
    }
}

/// A compiled regular expression (Foundation's NSRegularExpression, ICU dialect; the common
/// RE2 syntax is the same). Matching is a search: use ^ and $ to anchor.
final class CompiledRegex: @unchecked Sendable {
    let regex: NSRegularExpression

    init(_ pattern: String) throws(EvalError) {
        do {
            regex = try NSRegularExpression(pattern: pattern, options: [])
        } catch {
            throw EvalError(.invalidArgument, "invalid regular expression '\(pattern)'")
        }
    }

    func matches(_ s: String) -> Bool {
        let ns = s as NSString
        return regex.firstMatch(in: s, options: [], range: NSRange(location: 0, length: ns.length)) != nil
    }
}

// MARK: Conversions

func toInt(_ v: Value) throws(EvalError) -> Value {
    switch v {
    case .int: return v
    case .uint(let u):
        guard u <= UInt64(Int64.max) else { throw EvalError(.overflow, "int conversion out of range: \(u)u") }
        return .int(Int64(u))
    case .double(let d):
        guard d.isFinite, d >= -9.223372036854775808e18, d < 9.223372036854775808e18 else {
            throw EvalError(.overflow, "int conversion out of range: \(formatDouble(d))")
        }
        return .int(Int64(d.rounded(.towardZero)))
    case .string(let s):
        guard let i = Int64(s) else { throw EvalError(.invalidArgument, "cannot convert \(quoteString(s)) to int") }
        return .int(i)
    default: throw noMatchingOverload("int", v)
    }
}

func toUint(_ v: Value) throws(EvalError) -> Value {
    switch v {
    case .uint: return v
    case .int(let i):
        guard i >= 0 else { throw EvalError(.overflow, "uint conversion out of range: \(i)") }
        return .uint(UInt64(i))
    case .double(let d):
        guard d.isFinite, d > -1, d < 1.8446744073709552e19 else {
            throw EvalError(.overflow, "uint conversion out of range: \(formatDouble(d))")
        }
        return .uint(UInt64(d.rounded(.towardZero)))
    case .string(let s):
        guard let u = UInt64(s) else { throw EvalError(.invalidArgument, "cannot convert \(quoteString(s)) to uint") }
        return .uint(u)
    default: throw noMatchingOverload("uint", v)
    }
}

func toDouble(_ v: Value) throws(EvalError) -> Value {
    switch v {
    case .double: return v
    case .int(let i): return .double(Double(i))
    case .uint(let u): return .double(Double(u))
    case .string(let s):
        let t = s.trimmingCharacters(in: .whitespaces) == s ? s : ""
        guard !t.isEmpty, let d = Double(t) else { throw EvalError(.invalidArgument, "cannot convert \(quoteString(s)) to double") }
        return .double(d)
    default: throw noMatchingOverload("double", v)
    }
}

func toStringValue(_ v: Value) throws(EvalError) -> Value {
    switch v {
    case .string: return v
    case .int(let i): return .string(String(i))
    case .uint(let u): return .string(String(u))
    case .double(let d): return .string(formatDouble(d))
    case .bool(let b): return .string(b ? "true" : "false")
    case .bytes(let b):
        guard let s = String(validating: b, as: UTF8.self) else {
            throw EvalError(.invalidArgument, "bytes are not valid UTF-8")
        }
        return .string(s)
    default: throw noMatchingOverload("string", v)
    }
}

func toBool(_ v: Value) throws(EvalError) -> Value {
    switch v {
    case .bool: return v
    case .string(let s):
        switch s {
        case "1", "t", "true", "TRUE", "True": return .bool(true)
        case "0", "f", "false", "FALSE", "False": return .bool(false)
        default: throw EvalError(.invalidArgument, "cannot convert \(quoteString(s)) to bool")
        }
    default: throw noMatchingOverload("bool", v)
    }
}

func toBytes(_ v: Value) throws(EvalError) -> Value {
    switch v {
    case .bytes: return v
    case .string(let s): return .bytes(Array(s.utf8))
    default: throw noMatchingOverload("bytes", v)
    }
}

func sizeOf(_ v: Value) throws(EvalError) -> Value {
    switch v {
    case .string(let s): return .int(Int64(s.unicodeScalars.count))
    case .bytes(let b): return .int(Int64(b.count))
    case .list(let l): return .int(Int64(l.count))
    case .map(let m): return .int(Int64(m.count))
    default: throw noMatchingOverload("size", v)
    }
}
