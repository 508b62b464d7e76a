import Diagnostics

/// A host object: row `row` of the host's table of objects of type `type` (an object type id).
public struct ObjectRef: Hashable, Sendable {
    public var type: Int32
    public var row: Int32
    public init(type: Int32, row: Int32) {
        self.type = type
        self.row = row
    }
}

/// A list: either an array of values, or a range of consecutive host objects (the members of
/// a household), which macros iterate without building an array.
public enum ListValue: Sendable {
    case array([Value])
    case rows(type: Int32, start: Int32, count: Int32)

    @inlinable public var count: Int {
        switch self {
        case .array(let a): return a.count
        case .rows(_, _, let n): return Int(n)
        }
    }

    @inlinable public subscript(i: Int) -> Value {
        switch self {
        case .array(let a): return a[i]
        case .rows(let t, let start, _): return .object(ObjectRef(type: t, row: start + Int32(i)))
        }
    }

    /// The elements as an array (materialises `.rows`).
    public var elements: [Value] {
        switch self {
        case .array(let a): return a
        case .rows(let t, let start, let n):
            return (0..<n).map { .object(ObjectRef(type: t, row: start + $0)) }
        }
    }
}

/// A normalised map key: int and uint keys with the same numeric value are the same key.
enum MapKey: Hashable, Sendable {
    case int(Int64), bigUint(UInt64), bool(Bool), string(String)

    init?(_ v: Value) {
        switch v {
        case .int(let i): self = .int(i)
        case .uint(let u): self = u <= UInt64(Int64.max) ? .int(Int64(u)) : .bigUint(u)
        case .bool(let b): self = .bool(b)
        case .string(let s): self = .string(s)
        case .double(let d):
            // Lookup only: a double with an integral value finds the int/uint key.
            if let i = Int64(exactly: d) { self = .int(i) } else if let u = UInt64(exactly: d) { self = .bigUint(u) } else { return nil }
        default: return nil
        }
    }
}

final class MapStorage: Sendable {
    let keys: [Value]
    let values: [Value]
    let index: [MapKey: Int]
    init(keys: [Value], values: [Value], index: [MapKey: Int]) {
        self.keys = keys
        self.values = values
        self.index = index
    }
    static let empty = MapStorage(keys: [], values: [], index: [:])
}

/// A map with insertion-ordered keys. Keys are int, uint, bool or string values.
public struct MapValue: Sendable {
    var storage: MapStorage

    public init() { storage = .empty }

    /// Builds a map; throws on a key of a type that cannot be a map key or on a duplicate key.
    public init(_ pairs: [(key: Value, value: Value)]) throws(EvalError) {
        var keys: [Value] = [], values: [Value] = []
        var index: [MapKey: Int] = [:]
        keys.reserveCapacity(pairs.count)
        values.reserveCapacity(pairs.count)
        for (k, v) in pairs {
            guard case .int = k.kindForKey, let mk = MapKey(k), !k.isDouble else {
                throw EvalError(.invalidArgument, "unsupported key type: \(k.runtimeType.runtimeName)")
            }
            if index[mk] != nil { throw EvalError(.invalidArgument, "duplicate map key: \(k.debugText)") }
            index[mk] = keys.count
            keys.append(k)
            values.append(v)
        }
        storage = MapStorage(keys: keys, values: values, index: index)
    }

    /// A map with string keys (JSON objects, host records); later duplicates replace earlier ones.
    public init(stringKeyed pairs: [(String, Value)]) {
        var keys: [Value] = [], values: [Value] = []
        var index: [MapKey: Int] = [:]
        for (k, v) in pairs {
            if let i = index[.string(k)] { values[i] = v; continue }
            index[.string(k)] = keys.count
            keys.append(.string(k))
            values.append(v)
        }
        storage = MapStorage(keys: keys, values: values, index: index)
    }

    public var count: Int { storage.keys.count }
    public var keys: [Value] { storage.keys }
    public var values: [Value] { storage.values }
    public var entries: [(key: Value, value: Value)] { Array(zip(storage.keys, storage.values)).map { ($0.0, $0.1) } }

    public subscript(key: Value) -> Value? {
        guard let mk = MapKey(key), let i = storage.index[mk] else { return nil }
        return storage.values[i]
    }

    public subscript(string key: String) -> Value? {
        guard let i = storage.index[.string(key)] else { return nil }
        return storage.values[i]
    }

    public func contains(_ key: Value) -> Bool {
        guard let mk = MapKey(key) else { return false }
        return storage.index[mk] != nil
    }
}

/// A run-time value. `int`, `uint`, `double`, `bool` and object references are stored inline.
///
/// Swift `==` is *structural* (same kind and same payload; `1 == 1.0` is false; NaN equals NaN);
/// use `Value.celEquals` for the language's `==`.
public enum Value: Sendable, Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case string(String)
    case bytes([UInt8])
    case list(ListValue)
    case map(MapValue)
    case object(ObjectRef)
    case type(CELType)

    fileprivate enum KeyKind { case int, no }
    fileprivate var kindForKey: KeyKind {
        switch self {
        case .int, .uint, .bool, .string: return .int
        default: return .no
        }
    }
    fileprivate var isDouble: Bool { if case .double = self { return true } else { return false } }

    /// The run-time type (lists and maps without element types; objects need `Declarations`
    /// for their name, see `runtimeType(_:)`).
    public var runtimeType: CELType {
        switch self {
        case .null: return .null
        case .bool: return .bool
        case .int: return .int
        case .uint: return .uint
        case .double: return .double
        case .string: return .string
        case .bytes: return .bytes
        case .list: return .list(.dyn)
        case .map: return .map(.dyn, .dyn)
        case .object(let r): return .object("object#\(r.type)")
        case .type: return .type
        }
    }

    public func runtimeType(_ decls: Declarations) -> CELType {
        if case .object(let r) = self { return .object(decls.objectTypeName(r.type)) }
        return runtimeType
    }

    public static func == (a: Value, b: Value) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.uint(let x), .uint(let y)): return x == y
        case (.double(let x), .double(let y)): return x == y || (x.isNaN && y.isNaN)
        case (.string(let x), .string(let y)): return stringsEqual(x, y)
        case (.bytes(let x), .bytes(let y)): return x == y
        case (.object(let x), .object(let y)): return x == y
        case (.type(let x), .type(let y)): return x == y
        case (.list(let x), .list(let y)):
            guard x.count == y.count else { return false }
            for i in 0..<x.count where !(x[i] == y[i]) { return false }
            return true
        case (.map(let x), .map(let y)):
            guard x.count == y.count else { return false }
            for (k, v) in zip(x.keys, x.values) {
                guard let w = y[k], w == v else { return false }
            }
            return true
        default: return false
        }
    }

    public var description: String { debugText }

    /// A CEL-like rendering for messages: `1`, `1u`, `1.5`, `"a"`, `[1, 2]`.
    public var debugText: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .uint(let u): return "\(u)u"
        case .double(let d): return formatDouble(d)
        case .string(let s): return quoteString(s)
        case .bytes(let b): return "b\"" + b.map { byte in
                byte >= 0x20 && byte < 0x7f && byte != 0x22 && byte != 0x5c
                    ? String(UnicodeScalar(byte)) : "\\x" + hex2(byte) }.joined() + "\""
        case .list(let l): return "[" + l.elements.map(\.debugText).joined(separator: ", ") + "]"
        case .map(let m): return "{" + zip(m.keys, m.values).map { "\($0.debugText): \($1.debugText)" }.joined(separator: ", ") + "}"
        case .object(let r): return "object(\(r.type), \(r.row))"
        case .type(let t): return t.runtimeName
        }
    }
}

func hex2(_ b: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
}

/// Doubles always with a decimal point or an exponent ("1.0", "1e+20", "NaN", "+Inf"/"-Inf" are
/// rendered by callers that need JSON).
func formatDouble(_ d: Double) -> String {
    if d.isNaN { return "NaN" }
    if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
    let s = "\(d)"
    if s.contains(".") || s.contains("e") || s.contains("E") { return s }
    return s + ".0"
}

func quoteString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 || u.value == 0x7f { out += "\\u" + String(format4: u.value) } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}

extension String {
    init(format4 v: UInt32) {
        let digits = Array("0123456789abcdef")
        self = String([digits[Int((v >> 12) & 15)], digits[Int((v >> 8) & 15)], digits[Int((v >> 4) & 15)], digits[Int(v & 15)]])
    }
}

/// Code-point (UTF-8 byte) equality: no Unicode normalisation, as the language requires.
@inline(__always)
func stringsEqual(_ a: String, _ b: String) -> Bool {
    if a.utf8.count != b.utf8.count { return false }
    var a = a, b = b
    return a.withUTF8 { x in
        b.withUTF8 { y in
            x.count == 0 || memcmpEqual(x.baseAddress!, y.baseAddress!, x.count)
        }
    }
}

@inline(__always)
func memcmpEqual(_ x: UnsafePointer<UInt8>, _ y: UnsafePointer<UInt8>, _ n: Int) -> Bool {
    var i = 0
    while i + 8 <= n {
        if UnsafeRawPointer(x + i).loadUnaligned(as: UInt64.self) != UnsafeRawPointer(y + i).loadUnaligned(as: UInt64.self) { return false }
        i += 8
    }
    while i < n {
        if x[i] != y[i] { return false }
        i += 1
    }
    return true
}

/// -1, 0, 1 by code points (UTF-8 byte order is code point order).
func compareStrings(_ a: String, _ b: String) -> Int {
    var a = a, b = b
    return a.withUTF8 { x in
        b.withUTF8 { y in
            let n = min(x.count, y.count)
            for i in 0..<n where x[i] != y[i] { return x[i] < y[i] ? -1 : 1 }
            return x.count == y.count ? 0 : (x.count < y.count ? -1 : 1)
        }
    }
}

/// The host supplies variable values and object fields. Must be cheap to call.
public protocol Activation: AnyObject {
    func variable(_ slot: Int) -> Value
    /// Field number `field` (index into the ObjectTypeDecl's fields) of `object`; nil = the
    /// value is absent (missing data).
    func field(_ field: Int, of object: ObjectRef) -> Value?
    /// Field `field` of the object held by variable `slot` (`h.x`): `.some(value)`, `.some(nil)`
    /// when the value is absent, nil when the variable does not hold an object. The default
    /// reads the variable and calls `field(_:of:)`; hosts may answer in one step.
    func field(_ field: Int, ofVariable slot: Int) -> Value??
    /// For a field declared with `Declarations.declareCodes`: the index of its value in the
    /// code list, or -1 when the host does not answer (absent value, not an object, not a
    /// code field); the expression then reads the value with `field(_:ofVariable:)`.
    func codeID(_ field: Int, ofVariable slot: Int) -> Int
    /// `codeID(_:ofVariable:)` for an object reference (a macro variable).
    func codeID(_ field: Int, of object: ObjectRef) -> Int
    /// For a field declared with `Declarations.declareValues`: the index of the value it holds
    /// among the declared values, or -1 when the host does not answer.
    func valueIndex(_ field: Int, ofVariable slot: Int) -> Int
    /// Typed reads for fields declared int, double or bool, so comparisons need no `Value`:
    /// `.some(x)` the value, `.some(nil)` absent (missing data), nil when the host does not
    /// answer this way (the value is of another kind, the variable holds no object); the
    /// expression then reads the field with `field(_:ofVariable:)` as usual. The defaults go
    /// through `field(_:ofVariable:)` / `field(_:of:)`.
    func intField(_ field: Int, ofVariable slot: Int) -> Int64??
    func intField(_ field: Int, of object: ObjectRef) -> Int64??
    func doubleField(_ field: Int, ofVariable slot: Int) -> Double??
    func doubleField(_ field: Int, of object: ObjectRef) -> Double??
    func boolField(_ field: Int, ofVariable slot: Int) -> Bool??
    func boolField(_ field: Int, of object: ObjectRef) -> Bool??
}

extension Activation {
    public func codeID(_ field: Int, ofVariable slot: Int) -> Int { -1 }
    public func codeID(_ field: Int, of object: ObjectRef) -> Int { -1 }
    public func valueIndex(_ field: Int, ofVariable slot: Int) -> Int { -1 }

    public func field(_ field: Int, ofVariable slot: Int) -> Value?? {
        if case .object(let r) = variable(slot) { return .some(self.field(field, of: r)) }
        return nil
    }

    public func intField(_ field: Int, ofVariable slot: Int) -> Int64?? {
        self.field(field, ofVariable: slot).flatMap { $0.typed { $0.intValue } }
    }

    public func intField(_ field: Int, of object: ObjectRef) -> Int64?? {
        self.field(field, of: object).typed { $0.intValue }
    }

    public func doubleField(_ field: Int, ofVariable slot: Int) -> Double?? {
        self.field(field, ofVariable: slot).flatMap { $0.typed { $0.doubleValue } }
    }

    public func doubleField(_ field: Int, of object: ObjectRef) -> Double?? {
        self.field(field, of: object).typed { $0.doubleValue }
    }

    public func boolField(_ field: Int, ofVariable slot: Int) -> Bool?? {
        self.field(field, ofVariable: slot).flatMap { $0.typed { $0.boolValue } }
    }

    public func boolField(_ field: Int, of object: ObjectRef) -> Bool?? {
        self.field(field, of: object).typed { $0.boolValue }
    }
}

extension Value {
    @inlinable public var intValue: Int64? { if case .int(let v) = self { return v }; return nil }
    @inlinable public var doubleValue: Double? { if case .double(let v) = self { return v }; return nil }
    @inlinable public var boolValue: Bool? { if case .bool(let v) = self { return v }; return nil }
}

extension Optional where Wrapped == Value {
    /// A field's value read as one kind, as the typed host reads answer it: `.some(nil)` when
    /// the value is missing, `.some(v)` when it is of that kind, nil when it is of another
    /// (the caller then takes the generic path).
    @inlinable public func typed<T>(_ pick: (Value) -> T?) -> T?? {
        guard let v = self else { return .some(nil) }
        return pick(v).map { .some($0) }
    }
}

/// A parse or type error, with a 1-based position inside the expression text.
public struct CELError: Error, Sendable, CustomStringConvertible, Equatable {
    public var message: String
    public var line: Int
    public var column: Int
    public var hint: String?

    public init(_ message: String, line: Int, column: Int, hint: String? = nil) {
        self.message = message
        self.line = line
        self.column = column
        self.hint = hint
    }

    public var description: String {
        var s = "\(line):\(column): error: \(message)"
        if let hint { s += "\n  hint: \(hint)" }
        return s
    }

    /// The error as a diagnostic of the file the expression was read from. `start` is where
    /// the expression text begins in that file; columns on the expression's first line are
    /// shifted by it.
    public func diagnostic(file: String, start: (line: Int, column: Int) = (1, 1)) -> Diagnostic {
        let l = start.line + line - 1
        let c = line == 1 ? start.column + column - 1 : column
        return .error(at: SourceLocation(file: file, line: l, column: c), message, hint: hint)
    }
}

/// An evaluation error.
public struct EvalError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Kind: Sendable, Equatable {
        case missingValue, noSuchField, overflow, divideByZero, noMatchingOverload, invalidArgument, other
    }
    public var kind: Kind
    public var message: String

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
    public var description: String { message }
}
