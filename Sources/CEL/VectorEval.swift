/// Column-at-a-time evaluation of a checked expression over a whole batch of households and
/// their members, for hosts that keep their data in columns.
///
/// A row whose value the kernels cannot give exactly (a missing value, an evaluation error, an
/// error that CEL's `&&`/`||`/`exists`/`all` may or may not absorb) holds `VecColumn.unknown`
/// instead of a value. The host decides such rows another way (the scalar `Program` paths), so
/// the kernels never have to reproduce which error comes first, only whether the value is known.
/// An expression the kernels do not cover gives no columns at all (`Program.columns` is nil).

/// The rows a column has: one per household, or one per member row of the batch.
public enum VecLevel: Sendable, Equatable { case household, member }

/// What the `Int64`s of a column hold. Codes are ids into their code list; code sets are bit masks
/// over it; doubles are bit patterns; bools are 0 and 1.
public enum VecKind: Sendable, Equatable {
    case bool, int, double
    case code([String])
    case codeSet([String])
}

public struct VecColumn: Sendable {
    /// A row whose value is not known exactly (missing, an error, or undecided).
    public static let unknown = Int64.min
    public var level: VecLevel
    public var kind: VecKind
    public var values: [Int64]
    /// `unknown` in this column means exactly "absent" (a survey field read as it is), so
    /// `has()` can answer it; in computed columns it may also stand for an error.
    public var unknownIsAbsent: Bool
    /// Every unknown row of this column is an evaluation error on the scalar path (never a
    /// value the kernels could not hold or decide), so a caller that treats errors as "no"
    /// (`try? … == true`) can read unknown as false.
    public var unknownIsError: Bool
    /// Every unknown row is a missing-value error (`EvalError.Kind.missingValue`) on the scalar
    /// path: what the missing-data policies decide on.
    public var unknownIsMissing: Bool
    /// The values were made by the kernels during this evaluation and nothing outside it holds
    /// them: a kernel taking this column may write its result over them (copy-on-write keeps
    /// that correct whoever else holds them; the flag only says when it is worth trying).
    var fresh = false

    public init(level: VecLevel, kind: VecKind, values: [Int64], unknownIsAbsent: Bool = false, unknownIsError: Bool = false,
                unknownIsMissing: Bool = false) {
        self.level = level
        self.kind = kind
        self.values = values
        self.unknownIsAbsent = unknownIsAbsent
        self.unknownIsMissing = unknownIsMissing || unknownIsAbsent
        self.unknownIsError = unknownIsError || self.unknownIsMissing
    }
}

/// What a variable of an expression stands for in a batch.
public enum VecBinding {
    /// An object of type `type` with one row per household (`h`, `deprived`): fields by
    /// `VectorHost.column`.
    case householdObject(Int32)
    /// An object of type `type` with one row per member row (`m`).
    case memberObject(Int32)
    /// An object that is the same for every row (`params`): fields by `VectorHost.constant`.
    case constants
    /// The list of the household's member rows (`members`), objects of type `type`.
    case memberList(Int32)
    /// A value with one row per household or member.
    case column(VecColumn)
}

/// A batch's columns as an expression sees them.
public protocol VectorHost: AnyObject {
    var householdCount: Int { get }
    /// Member rows of each household, contiguous and in household order.
    var memberRanges: [Range<Int>] { get }
    /// The household row of each member row.
    var memberHousehold: [Int32] { get }
    /// How many member rows the batch has (`memberHousehold.count`, which a host may make only
    /// when asked).
    var memberCount: Int { get }
    func binding(_ slot: Int) -> VecBinding?
    /// Field `field` of object type `type`, nil when the host cannot give it as a column.
    func column(type: Int32, field: Int) -> VecColumn?
    /// Field `field` of the `constants` object.
    func constant(field: Int) -> Value?
    /// Whether field `field` of object type `type` has a value in each row (a bool column
    /// without unknowns), for fields the host can answer `has()` for but not give as values
    /// (texts, dates); nil otherwise.
    func present(type: Int32, field: Int) -> VecColumn?
    /// Bool field `field` of object type `type` when the host holds it as masks (a derived
    /// field made by the mask path), nil otherwise: the mask path and member counts take the
    /// masks as they are, and only the column path asks `column` for its rows.
    func masks(type: Int32, field: Int) -> BoolMasks?
}

extension VectorHost {
    public func masks(type: Int32, field: Int) -> BoolMasks? { nil }
    public var memberCount: Int { memberHousehold.count }
}

extension Program {
    /// The expression's value for every row of `level` of the host's batch, or nil when the
    /// expression uses something the column kernels do not cover.
    public func columns(_ host: some VectorHost, level: VecLevel) -> VecColumn? {
        var e = VecEvaluator(host: host)
        guard let v = e.eval(ir), var c = e.materialize(v, level, hint: nil) else { return nil }
        c.fresh = false
        return c
    }
}

/// A value during column evaluation: the same for every row, unknown for every row (a
/// constant that throws), or a column.
enum VecValue {
    case constant(Value)
    case allUnknown
    case column(VecColumn)
}

private let U = VecColumn.unknown

struct VecEvaluator {
    let host: any VectorHost
    let nH: Int
    let nM: Int
    let ranges: [Range<Int>]
    /// Read from the host only by the kernels that spread household rows over member rows.
    var memberHousehold: [Int32] { host.memberHousehold }
    enum Local {
        /// A member row of the household (`x` in `members.exists(x, …)`), of object type `type`.
        case memberRow(Int32)
        case value(VecValue)
    }
    var locals: [Int: Local] = [:]
    /// Inside `members.<macro>`: a member-level value then means the loop's member, so the
    /// enclosing member (`m`) cannot be read in the same rows.
    var inMemberLoop = false

    init(host: any VectorHost) {
        self.host = host
        nH = host.householdCount
        ranges = host.memberRanges
        nM = host.memberCount
    }

    // MARK: Rows and kinds

    func count(_ level: VecLevel) -> Int { level == .household ? nH : nM }

    func level(_ v: VecValue) -> VecLevel? {
        if case .column(let c) = v { return c.level }
        return nil
    }

    func join(_ a: VecLevel?, _ b: VecLevel?) -> VecLevel? {
        if a == .member || b == .member { return .member }
        return a ?? b
    }

    static func kind(of v: Value) -> VecKind? {
        switch v {
        case .bool: return .bool
        case .int: return .int
        case .double: return .double
        default: return nil
        }
    }

    func kind(_ v: VecValue) -> VecKind? {
        switch v {
        case .column(let c): return c.kind
        case .constant(let k): return Self.kind(of: k)
        case .allUnknown: return nil
        }
    }

    static func raw(_ v: Value, _ kind: VecKind) -> Int64? {
        switch (v, kind) {
        case (.bool(let b), .bool): return b ? 1 : 0
        case (.int(let i), .int): return i
        case (.double(let d), .double): return Int64(bitPattern: d.bitPattern)
        case (.string(let s), .code(let codes)): return codes.firstIndex(of: s).map(Int64.init)
        default: return nil
        }
    }

    /// The value of a known row; nil for a code outside its list.
    @inline(__always)
    static func value(_ x: Int64, _ kind: VecKind) -> Value? {
        switch kind {
        case .bool: return .bool(x != 0)
        case .int: return .int(x)
        case .double: return .double(Double(bitPattern: UInt64(bitPattern: x)))
        case .code(let codes):
            return x >= 0 && x < Int64(codes.count) ? .string(codes[Int(x)]) : nil
        case .codeSet(let codes):
            let mask = UInt64(bitPattern: x)
            var items: [Value] = []
            for (bit, c) in codes.enumerated() where bit < 64 && mask & (1 << UInt64(bit)) != 0 { items.append(.string(c)) }
            return .list(.array(items))
        }
    }

    /// A result value in a column of `kind`: unknown when it does not fit (or is the marker).
    @inline(__always)
    static func store(_ v: Value, _ kind: VecKind) -> Int64 {
        raw(v, kind) ?? U
    }

    /// `v` as a column of `level` rows. `hint` gives the kind of a string constant (a code).
    func materialize(_ v: VecValue, _ level: VecLevel, hint: VecKind?) -> VecColumn? {
        switch v {
        case .allUnknown:
            return VecColumn(level: level, kind: hint ?? .bool, values: [Int64](repeating: U, count: count(level)), unknownIsError: true)
        case .constant(let k):
            guard let kind = Self.kind(of: k) ?? hint, let x = Self.raw(k, kind) else { return nil }
            // A constant that is the marker's bits (-0.0) is a value, not an error.
            return VecColumn(level: level, kind: kind, values: [Int64](repeating: x, count: count(level)), unknownIsError: x != U)
        case .column(let c):
            if c.level == level { return c }
            guard c.level == .household, level == .member else { return nil }
            var out = [Int64](repeating: 0, count: nM)
            c.values.withUnsafeBufferPointer { src in
                memberHousehold.withUnsafeBufferPointer { mh in
                    out.withUnsafeMutableBufferPointer { dst in
                        for i in 0..<dst.count { dst[i] = src[Int(mh[i])] }
                    }
                }
            }
            var m = VecColumn(level: .member, kind: c.kind, values: out, unknownIsAbsent: c.unknownIsAbsent, unknownIsError: c.unknownIsError,
                              unknownIsMissing: c.unknownIsMissing)
            m.fresh = true
            return m
        }
    }

    /// A column of `n` rows for a kernel to fill. The rows are left as they are: every kernel
    /// writes each row before anything reads it (and `Int64` needs no initializing).
    @inline(__always)
    static func uninitialized(_ n: Int) -> [Int64] {
        [Int64](unsafeUninitializedCapacity: n) { _, done in done = n }
    }

    /// `build` row by row over one column (`f(value)`), without bounds checks.
    @inline(__always)
    func map(_ a: consuming VecColumn, _ kind: VecKind, errors: Bool, missing: Bool, _ f: (Int64) -> Int64) -> VecValue {
        let level = a.level
        var out: [Int64]
        if a.fresh {
            // Over the operand's own buffer: no new column.
            out = a.values
            a.values = []
            out.withUnsafeMutableBufferPointer { x in
                for i in 0..<x.count { x[i] = f(x[i]) }
            }
        } else {
            out = Self.uninitialized(a.values.count)
            a.values.withUnsafeBufferPointer { x in
                out.withUnsafeMutableBufferPointer { buf in
                    for i in 0..<x.count { buf[i] = f(x[i]) }
                }
            }
        }
        var c = VecColumn(level: level, kind: kind, values: out, unknownIsError: errors, unknownIsMissing: errors && missing)
        c.fresh = true
        return .column(c)
    }

    /// `build` over two columns of the same rows (`f(a, b)`), without bounds checks.
    @inline(__always)
    func zip(_ a: consuming VecColumn, _ b: consuming VecColumn, _ kind: VecKind, errors: Bool, missing: Bool,
             _ f: (Int64, Int64) -> Int64) -> VecValue {
        let level = a.level
        var out: [Int64]
        if a.fresh {
            out = a.values
            a.values = []
            b.values.withUnsafeBufferPointer { y in
                out.withUnsafeMutableBufferPointer { x in
                    for i in 0..<x.count { x[i] = f(x[i], y[i]) }
                }
            }
        } else if b.fresh {
            out = b.values
            b.values = []
            a.values.withUnsafeBufferPointer { x in
                out.withUnsafeMutableBufferPointer { y in
                    for i in 0..<y.count { y[i] = f(x[i], y[i]) }
                }
            }
        } else {
            out = Self.uninitialized(a.values.count)
            a.values.withUnsafeBufferPointer { x in
                b.values.withUnsafeBufferPointer { y in
                    out.withUnsafeMutableBufferPointer { buf in
                        for i in 0..<x.count { buf[i] = f(x[i], y[i]) }
                    }
                }
            }
        }
        var c = VecColumn(level: level, kind: kind, values: out, unknownIsError: errors, unknownIsMissing: errors && missing)
        c.fresh = true
        return .column(c)
    }

    /// A column of `kind` and `level` from `f(row)`.
    /// `errors`: every unknown row `f` gives is an error (see `VecColumn.unknownIsError`);
    /// `missing`: a missing value (`unknownIsMissing`).
    @inline(__always)
    func build(_ level: VecLevel, _ kind: VecKind, errors: Bool, missing: Bool = false, _ f: (Int) -> Int64) -> VecValue {
        let n = count(level)
        var out = Self.uninitialized(n)
        out.withUnsafeMutableBufferPointer { buf in
            for i in 0..<n { buf[i] = f(i) }
        }
        return made(level, kind, errors: errors, missing: missing, out)
    }

    /// A column whose rows a kernel has just made (as `build` makes them).
    func made(_ level: VecLevel, _ kind: VecKind, errors: Bool, missing: Bool, _ values: [Int64]) -> VecValue {
        var c = VecColumn(level: level, kind: kind, values: values, unknownIsError: errors, unknownIsMissing: errors && missing)
        c.fresh = true
        return .column(c)
    }

    // MARK: Expressions

    mutating func eval(_ ir: IR) -> VecValue? {
        switch ir {
        case .constant(let v):
            return .constant(v)
        case .list:
            return constantOf(ir).map { .constant($0) }
        case .variable(let slot):
            if case .column(var c)? = host.binding(slot) { c.fresh = false; return .column(c) }
            return nil
        case .local(let slot):
            if case .value(let v)? = locals[slot] { return v }
            return nil
        case .field(let op, let idx, _, _):
            return fieldColumn(op, idx)
        case .hasField(let op, let idx):
            return has(op, idx)
        case .not(let x):
            guard let v = eval(x) else { return nil }
            return negation(v)
        case .neg(let x):
            guard let v = eval(x) else { return nil }
            return map1(v) { (a) throws(EvalError) in try negate(a) }
        case .and(let l, let r):
            return logic(l, r, decide: false)
        case .or(let l, let r):
            return logic(l, r, decide: true)
        case .cond(let c, let a, let b):
            return cond(c, a, b)
        case .binary(let op, let l, let r):
            return binary(op, l, r)
        case .call(let b, let args):
            return call(b, args)
        case .comprehension(let kind, let range, let slot, let pred, _):
            switch kind {
            case .all, .exists, .existsOne: return reduce(kind, range, slot, pred!, count: false)
            default: return nil
            }
        case .dynSelect, .hasDyn, .index, .map:
            return nil
        }
    }

    /// A field of a variable (`h.x`, `m.x`, `params.x`) or of a member in a `members` loop.
    mutating func fieldColumn(_ op: IR, _ idx: Int) -> VecValue? {
        switch op {
        case .variable(let s):
            switch host.binding(s) {
            case .householdObject(let type)?:
                return hostColumn(type, idx)
            case .memberObject(let type)?:
                guard !inMemberLoop else { return nil }
                return hostColumn(type, idx)
            case .constants?:
                return host.constant(field: idx).map { .constant($0) }
            default:
                return nil
            }
        case .local(let s):
            guard case .memberRow(let type)? = locals[s] else { return nil }
            return hostColumn(type, idx)
        default:
            return nil
        }
    }


    /// A field column of the host: held by the host, so never written over.
    func hostColumn(_ type: Int32, _ field: Int) -> VecValue? {
        guard var c = host.column(type: type, field: field) else { return nil }
        c.fresh = false
        return .column(c)
    }

    func variableBinding(_ op: IR) -> VecBinding? {
        if case .variable(let s) = op { return host.binding(s) }
        return nil
    }

    /// The object type of `h`, `m` or a member in a `members` loop.
    func objectType(_ op: IR) -> Int32? {
        switch op {
        case .variable(let s):
            switch host.binding(s) {
            case .householdObject(let t)?, .memberObject(let t)?: return t
            default: return nil
            }
        case .local(let s):
            if case .memberRow(let t)? = locals[s] { return t }
            return nil
        default:
            return nil
        }
    }

    mutating func has(_ op: IR, _ idx: Int) -> VecValue? {
        if case .variable(let s) = op, case .constants? = host.binding(s) {
            // The host's constant object has every field.
            return host.constant(field: idx) != nil ? .constant(.bool(true)) : nil
        }
        if let type = objectType(op), let present = host.present(type: type, field: idx) {
            if case .memberObject? = variableBinding(op), inMemberLoop { return nil }
            return .column(present)
        }
        guard let v = fieldColumn(op, idx), case .column(let c) = v else { return nil }
        let s = c.values
        if c.unknownIsAbsent { return build(c.level, .bool, errors: true) { i in s[i] == U ? 0 : 1 } }
        // A computed field's unknown may be nil on the scalar path (a missing value): `has()` is then false, a value.
        return build(c.level, .bool, errors: false) { i in s[i] == U ? U : 1 }
    }

    // MARK: Logic

    /// `&&` (`decide` false) and `||` (`decide` true): an operand equal to `decide` decides,
    /// whatever the other is (CEL absorbs the other's error); otherwise any unknown operand
    /// makes the row unknown.
    mutating func logic(_ l: IR, _ r: IR, decide: Bool) -> VecValue? {
        // An operand tested row by row from one column (`m.age >= 16`, `!m.in_school`,
        // `m.employment in params.codes`) is tested inside the pass over the other operand,
        // without a column of its own: on the left, once the right operand is known to be a bool
        // column of the same rows (`&&` and `||` give the same rows in either order); on the
        // right, once the left one is.
        guard let left = logicOperand(l) else { return nil }
        if let lx = left.testedLevel {
            guard let b = eval(r) else { return nil }
            if level(b) == lx, kind(b) == .bool {
                guard case .column(let cb) = consume b else { return nil }
                return tested(cb, left, decide: decide)
            }
            guard let a = value(of: left) else { return nil }
            return combine(a, b, decide: decide)
        }
        guard case .value(let a) = consume left else { return nil }
        if case .constant(.bool(let x)) = a, x == decide { return .constant(.bool(decide)) }
        guard let la = level(a), kind(a) == .bool else {
            guard let b = eval(r) else { return nil }
            return combine(a, b, decide: decide)
        }
        guard let right = logicOperand(r) else { return nil }
        if right.testedLevel == la {
            // The left column handed over, so that a fresh one is written over.
            guard case .column(let ca) = consume a else { return nil }
            return tested(ca, right, decide: decide)
        }
        guard let b = value(of: right) else { return nil }
        return combine(a, b, decide: decide)
    }

    /// An operand of `&&`/`||` as their pass can take it: tested row by row from one column
    /// (an int column against a number, or a table by the column's ids: a code or bool column
    /// `in` a list, a code compared with a constant, a bool's `!`, and `!` of any of these), or
    /// its value as `eval` gives it.
    enum LogicOperand {
        case value(VecValue)
        case compare(VecColumn, BinaryOp, Int64)
        case lookup(VecColumn, [Int64])

        /// The rows of the tested column (nil for a value).
        var testedLevel: VecLevel? {
            switch self {
            case .value: return nil
            case .compare(let c, _, _), .lookup(let c, _): return c.level
            }
        }
    }

    mutating func logicOperand(_ ir: IR) -> LogicOperand? {
        switch ir {
        case .not(let x):
            guard let o = logicOperand(x) else { return nil }
            switch consume o {
            case .compare(let c, let op, let q):
                return .compare(c, Self.negated(op), q)
            case .lookup(let c, let t):
                // Tables hold 0 and 1 only.
                return .lookup(c, t.map { 1 - $0 })
            case .value(let v):
                switch consume v {
                case .column(let c) where c.kind == .bool:
                    // Bool rows are 0, 1 or unknown (past the table).
                    return .lookup(c, [1, 0])
                case let other:
                    return negation(other).map { .value($0) }
                }
            }
        case .binary(let op, let l, let r) where op == .lt || op == .le || op == .gt || op == .ge || op == .eq || op == .ne || op == .in:
            // `binary` rewrites `x in (c ? A : B)`.
            if op == .in, case .cond = r { break }
            guard let a = eval(l), let b = eval(r) else { return nil }
            if op != .in, case .column(let c) = a, c.kind == .int, case .constant(.int(let q)) = b { return .compare(c, op, q) }
            if let found = lookupTable(op, a, b), let (c, t) = found { return .lookup(c, t) }
            return binary(op, a, b).map { .value($0) }
        default:
            break
        }
        return eval(ir).map { .value($0) }
    }

    /// A tested operand as a column of its own (what `eval` gives for it), handed over so that
    /// a fresh column is written over.
    func value(of o: consuming LogicOperand) -> VecValue? {
        switch consume o {
        case .value(let v): return v
        case .compare(let c, let op, let q): return relationColumns(op, .column(c), .constant(.int(q)))
        case .lookup(let c, let t): return lookup(c, t)
        }
    }

    /// The int comparison that holds exactly where `op` does not.
    static func negated(_ op: BinaryOp) -> BinaryOp {
        switch op {
        case .lt: return .ge
        case .le: return .gt
        case .gt: return .le
        case .ge: return .lt
        case .eq: return .ne
        default: return .eq
        }
    }

    /// `!v`: 0 and 1 swap; unknown (sign bit only) stays.
    func negation(_ v: consuming VecValue) -> VecValue? {
        switch consume v {
        case .constant(.bool(let b)): return .constant(.bool(!b))
        case .constant: return nil
        case .allUnknown: return .allUnknown
        case .column(let c):
            guard c.kind == .bool else { return nil }
            let errors = c.unknownIsError, missing = c.unknownIsMissing
            return map(consume c, .bool, errors: errors, missing: missing) { x in Self.not(x) }
        }
    }

    /// `a && b` (`decide` false) or `a || b` of evaluated operands.
    func combine(_ a: consuming VecValue, _ b: consuming VecValue, decide: Bool) -> VecValue? {
        func known(_ v: VecValue) -> Bool?? {
            switch v {
            case .constant(.bool(let x)): return .some(x)
            case .allUnknown: return .some(nil)
            default: return nil
            }
        }
        if let ka = known(a), let kb = known(b) {
            if ka == decide || kb == decide { return .constant(.bool(decide)) }
            if ka == nil || kb == nil { return .allUnknown }
            return .constant(.bool(!decide))
        }
        guard let lv = join(level(a), level(b)), kind(a) ?? .bool == .bool, kind(b) ?? .bool == .bool,
              let ca = materialize(consume a, lv, hint: .bool), let cb = materialize(consume b, lv, hint: .bool) else { return nil }
        // The operands are handed over (nothing here holds them after), so a fresh one is
        // written over rather than copied.
        let errors = ca.unknownIsError && cb.unknownIsError, missing = ca.unknownIsMissing && cb.unknownIsMissing
        if decide {
            return zip(consume ca, consume cb, .bool, errors: errors, missing: missing) { p, q in Self.or(p, q) }
        }
        return zip(consume ca, consume cb, .bool, errors: errors, missing: missing) { p, q in Self.and(p, q) }
    }

    // Bool rows are 0, 1 or unknown (the least Int64, only its sign bit set): `!`, `&&` and `||`
    // as CEL gives them (the deciding value wins over an unknown) in a few word operations,
    // without branches.

    /// 1 for 0, 0 for 1, unknown for unknown: `x ^ 1` except for unknown (whose arithmetic
    /// shift is -1, which makes the mask 0).
    @inline(__always)
    static func not(_ x: Int64) -> Int64 {
        x ^ ((x &>> 63) &+ 1)
    }

    /// 0 when either is 0; else unknown when either is; else 1. `p | p << 63` has the unknown
    /// bit when `p` is not 0 and bit 0 when it is 1; of both, the unknown bit stays when
    /// either is unknown (`p | q | 1`), and bit 0 when both are 1.
    @inline(__always)
    static func and(_ p: Int64, _ q: Int64) -> Int64 {
        (p | p &<< 63) & (q | q &<< 63) & (p | q | 1)
    }

    /// 1 when either is 1; else unknown when either is; else 0: `p | q`, without its unknown
    /// bit when its bit 0 is set.
    @inline(__always)
    static func or(_ p: Int64, _ q: Int64) -> Int64 {
        let m = p | q
        return m & ~(m &<< 63)
    }

    /// `a && (x op q)` (`decide` false) or `a || (x op q)` over bool column `a` and int column
    /// `x` of the same rows: what `logic` gives with the comparison's column (`relationColumns`),
    /// in one pass.
    func compareInPass(_ a: consuming VecColumn, _ x: VecColumn, _ op: BinaryOp, _ q: Int64, decide: Bool) -> VecValue {
        switch op {
        case .lt: return compareInPass(a, x, decide: decide) { $0 < q }
        case .le: return compareInPass(a, x, decide: decide) { $0 <= q }
        case .gt: return compareInPass(a, x, decide: decide) { $0 > q }
        case .ge: return compareInPass(a, x, decide: decide) { $0 >= q }
        case .eq: return compareInPass(a, x, decide: decide) { $0 == q }
        default: return compareInPass(a, x, decide: decide) { $0 != q }
        }
    }

    /// The row is `and(p, c)` or `or(p, c)` of the comparison's `c` (`v` unknown: unknown), with
    /// selects instead of `and`/`or`'s bit arithmetic (this loop does not vectorise anyway):
    /// `p` decides when it is the deciding value; else an unknown `v` is unknown; else the
    /// comparison decides `&&` as `p` (1 or unknown) or false, `||` as true or `p` (0 or unknown).
    @inline(__always)
    func compareInPass(_ a: consuming VecColumn, _ x: VecColumn, decide: Bool, _ holds: (Int64) -> Bool) -> VecValue {
        let errors = a.unknownIsError && x.unknownIsError, missing = a.unknownIsMissing && x.unknownIsMissing
        if decide {
            return zip(a, x, .bool, errors: errors, missing: missing) { p, v in p == 1 ? 1 : (v == U ? U : (holds(v) ? 1 : p)) }
        }
        return zip(a, x, .bool, errors: errors, missing: missing) { p, v in p == 0 ? 0 : (v == U ? U : (holds(v) ? p : 0)) }
    }

    /// `a && o` (`decide` false) or `a || o` of a tested operand `o`, in one pass. Both are
    /// handed over: a fresh column of either is written over.
    func tested(_ a: consuming VecColumn, _ o: consuming LogicOperand, decide: Bool) -> VecValue? {
        switch consume o {
        case .value: return nil
        case .compare(let x, let op, let q): return compareInPass(a, x, op, q, decide: decide)
        case .lookup(let x, let t): return lookupInPass(a, x, t, decide: decide)
        }
    }

    /// The row is `and(p, t[v])` or `or(p, t[v])` (`lookup`'s row) over bool column `a` and the
    /// ids `v` of column `x`, of the same rows, with the table as masks (all ones for 1, 0 for
    /// 0): `&&` keeps `p` where the mask is set, `||` keeps it where it is not; an unknown or
    /// negative id (past the table as an unsigned number) is unknown, as `and(p, U)`, `or(p, U)`.
    func lookupInPass(_ a: consuming VecColumn, _ x: consuming VecColumn, _ table: [Int64], decide: Bool) -> VecValue {
        let errors = a.unknownIsError && x.unknownIsError, missing = a.unknownIsMissing && x.unknownIsMissing
        // The masks' own copy: an array could not be borrowed around `zip`, which consumes `a`.
        let n = table.count, masks = UnsafeMutablePointer<Int64>.allocate(capacity: n)
        for k in 0..<n { masks[k] = 0 &- table[k] }
        defer { masks.deallocate() }
        if decide {
            return zip(a, x, .bool, errors: errors, missing: missing) { p, v in
                UInt64(bitPattern: v) < UInt64(n) ? p & ~masks[Int(v)] | masks[Int(v)] & 1 : p & 1 | ~(p &<< 63) & U
            }
        }
        return zip(a, x, .bool, errors: errors, missing: missing) { p, v in
            UInt64(bitPattern: v) < UInt64(n) ? p & masks[Int(v)] : (p | p &<< 63) & U
        }
    }

    mutating func cond(_ c: IR, _ a: IR, _ b: IR) -> VecValue? {
        guard let cv = eval(c) else { return nil }
        // The condition handed over (a fresh one is written over by the constant branches).
        switch consume cv {
        case .constant(.bool(let x)): return eval(x ? a : b)
        case .constant: return nil
        case .allUnknown: return .allUnknown
        case .column(let cc):
            guard cc.kind == .bool, let av = eval(a), let bv = eval(b) else { return nil }
            guard let kind = kind(av) ?? kind(bv) else {
                if case .allUnknown = av, case .allUnknown = bv { return .allUnknown }
                return nil
            }
            if let ka = self.kind(av), ka != kind { return nil }
            if let kb = self.kind(bv), kb != kind { return nil }
            // Constant branches (`h.area == 'urban' ? params.a : params.b`): one pass over the condition.
            if case .constant(let x) = av, case .constant(let y) = bv, let rx = Self.raw(x, kind), let ry = Self.raw(y, kind),
               rx != U, ry != U {
                let errors = cc.unknownIsError, missing = cc.unknownIsMissing
                return map(consume cc, kind, errors: errors, missing: missing) { t in
                    t == U ? U : (t != 0 ? rx : ry)
                }
            }
            let lv = join(cc.level, join(level(av), level(bv)))!
            guard let cc2 = materialize(.column(cc), lv, hint: .bool), let ca = materialize(av, lv, hint: kind),
                  let cb = materialize(bv, lv, hint: kind) else { return nil }
            let s = cc2.values, x = ca.values, y = cb.values
            return build(lv, kind, errors: cc2.unknownIsError && ca.unknownIsError && cb.unknownIsError,
                         missing: cc2.unknownIsMissing && ca.unknownIsMissing && cb.unknownIsMissing) { i in
                let t = s[i]
                if t == U { return U }
                return t != 0 ? x[i] : y[i]
            }
        }
    }

    // MARK: Operators

    /// A unary function row by row (constants folded).
    func map1(_ v: VecValue, _ f: (Value) throws(EvalError) -> Value) -> VecValue? {
        switch v {
        case .allUnknown: return .allUnknown
        case .constant(let k):
            guard let r = try? f(k) else { return .allUnknown }
            return .constant(r)
        case .column(let c):
            guard let k0 = c.values.first(where: { $0 != U }).flatMap({ Self.value($0, c.kind) }) ?? sample(c.kind) else { return nil }
            guard let outKind = (try? f(k0)).flatMap(Self.kind(of:)) else { return nil }
            let s = c.values, kind = c.kind
            var lossy = false, threw = false
            let out = build(c.level, outKind, errors: c.unknownIsError, missing: c.unknownIsMissing) { i in
                let x = s[i]
                guard x != U, let v = Self.value(x, kind) else { return U }
                guard let r = try? f(v) else { threw = true; return U }
                let y = Self.store(r, outKind)
                if y == U { lossy = true }
                return y
            }
            return Self.degrade(out, lossy: lossy, threw: threw)
        }
    }

    /// `v` after a kernel found results it cannot hold (`lossy`: unknown rows may be values)
    /// or errors of its own (`threw`: not missing values).
    static func degrade(_ v: VecValue, lossy: Bool, threw: Bool) -> VecValue {
        guard lossy || threw, case .column(var c) = v else { return v }
        c.unknownIsMissing = false
        if lossy { c.unknownIsError = false }
        return .column(c)
    }

    /// A value of `kind` to find the result kind of a function on it.
    func sample(_ kind: VecKind) -> Value? {
        switch kind {
        case .bool: return .bool(false)
        case .int: return .int(1)
        case .double: return .double(1)
        default: return nil
        }
    }

    mutating func binary(_ op: BinaryOp, _ l: IR, _ r: IR) -> VecValue? {
        // `x in (c ? A : B)` is `c ? x in A : x in B`: the same value, and unknown in the same rows.
        if op == .in, case .cond(let c, let a, let b) = r {
            return cond(c, .binary(.in, l, a), .binary(.in, l, b))
        }
        guard let a = eval(l), let b = eval(r) else { return nil }
        return binary(op, a, b)
    }

    /// A binary operator over evaluated operands, handed over (a fresh column is written over).
    func binary(_ op: BinaryOp, _ a: consuming VecValue, _ b: consuming VecValue) -> VecValue? {
        if case .allUnknown = a { return .allUnknown }
        if case .allUnknown = b { return .allUnknown }
        switch op {
        case .in: return membership(a, b)
        case .eq, .ne, .lt, .le, .gt, .ge: return relationColumns(op, a, b)
        case .add, .sub, .mul, .div, .mod: return arithmeticColumns(op, a, b)
        case .and, .or: return nil
        }
    }

    /// `f` applied to each code of a list, nil when it throws for one.
    func codeTable(_ codes: [String], _ f: (Value) throws(EvalError) -> Bool) -> [Int64]? {
        var t: [Int64] = []
        t.reserveCapacity(codes.count)
        for c in codes {
            guard let b = try? f(.string(c)) else { return nil }
            t.append(b ? 1 : 0)
        }
        return t
    }

    /// A table by code id; an id outside the list (which the survey reader never stores) is unknown.
    func lookup(_ c: VecColumn, _ table: [Int64]) -> VecValue {
        let n = UInt64(table.count)
        return table.withUnsafeBufferPointer { t in
            map(c, .bool, errors: c.unknownIsError, missing: c.unknownIsMissing) { x in
                // Unknown and negative ids are past the table as unsigned numbers.
                UInt64(bitPattern: x) < n ? t[Int(x)] : U
            }
        }
    }

    func membership(_ a: VecValue, _ b: VecValue) -> VecValue? {
        guard case .constant(let container) = b else { return nil }
        switch a {
        case .constant(let k):
            guard let r = try? contains(container, k) else { return .allUnknown }
            return .constant(.bool(r))
        case .allUnknown: return .allUnknown
        case .column(let c):
            if let found = lookupTable(.in, a, b) {
                guard let (c, t) = found else { return nil }
                return lookup(c, t)
            }
            switch c.kind {
            case .int, .double:
                let s = c.values, kind = c.kind
                var threw = false
                let out = build(c.level, .bool, errors: c.unknownIsError, missing: c.unknownIsMissing) { i in
                    let x = s[i]
                    guard x != U, let v = Self.value(x, kind) else { return U }
                    guard let r = try? contains(container, v) else { threw = true; return U }
                    return r ? 1 : 0
                }
                return Self.degrade(out, lossy: false, threw: threw)
            default:
                return nil
            }
        }
    }

    /// The column and the table by its ids (`lookup`) that `a op b` is, when it is one: a code or
    /// bool column `in` a constant list, a code column compared with a constant. `.some(nil)`
    /// when it is such a test but some code's result is an error (not covered).
    func lookupTable(_ op: BinaryOp, _ a: VecValue, _ b: VecValue) -> (VecColumn, [Int64])?? {
        switch (a, b) {
        case (.column(let c), .constant(let container)) where op == .in:
            switch c.kind {
            case .code(let codes):
                return .some(codeTable(codes, { (v) throws(EvalError) -> Bool in try contains(container, v) }).map { (c, $0) })
            case .bool:
                return .some(codeTable(["false", "true"], { (v) throws(EvalError) -> Bool in
                    try contains(container, .bool(v == .string("true")))
                }).map { (c, $0) })
            default:
                return nil
            }
        case (.column(let c), .constant(let k)) where op != .in:
            guard case .code(let codes) = c.kind else { return nil }
            guard case .string = k else { return .some(nil) }
            return .some(codeTable(codes, { (v) throws(EvalError) -> Bool in try relation(op, v, k) }).map { (c, $0) })
        case (.constant(let k), .column(let c)) where op != .in:
            guard case .code(let codes) = c.kind else { return nil }
            guard case .string = k else { return .some(nil) }
            return .some(codeTable(codes, { (v) throws(EvalError) -> Bool in try relation(op, k, v) }).map { (c, $0) })
        default:
            return nil
        }
    }

    /// `a op b` for a relation `op`; the operands are handed over, so that a fresh column
    /// compared with a constant is written over rather than copied first.
    func relationColumns(_ op: BinaryOp, _ a: consuming VecValue, _ b: consuming VecValue) -> VecValue? {
        switch (a, b) {
        case (.constant(let x), .constant(let y)):
            guard let r = try? relation(op, x, y) else { return .allUnknown }
            return .constant(.bool(r))
        case (.column, .constant), (.constant, .column):
            if let found = lookupTable(op, a, b) {
                guard let (c, t) = found else { return nil }
                return lookup(c, t)
            }
        case (.column(let c), .column(let d)):
            if case .code(let codes) = c.kind {
                // Equal ids are equal codes only when the list has no repeats.
                guard c.kind == d.kind, op == .eq || op == .ne, Set(codes).count == codes.count else { return nil }
            }
            if case .code = d.kind { return nil }
        default:
            break
        }
        // A column against a number (`m.age >= 16` once parameters are constants): no column
        // of the constant. The column is taken out of `a` (not copied), so that a fresh one is
        // the only holder of its rows when `map` writes over them.
        if case .column(let c) = a, case .constant(let k) = b, Self.comparedWithConstant(c.kind, op, k) {
            guard case .column(let c) = consume a else { return nil }
            return constantRelation(op, c, k)
        }
        guard let lv = join(level(a), level(b)), let ka = kind(a), let kb = kind(b),
              let ca = materialize(a, lv, hint: ka), let cb = materialize(b, lv, hint: kb) else { return nil }
        if case .codeSet = ka { return nil }
        if case .codeSet = kb { return nil }
        let errors = ca.unknownIsError && cb.unknownIsError, missing = ca.unknownIsMissing && cb.unknownIsMissing
        if ka == kb {
            switch ka {
            case .int, .code:
                if case .code = ka {
                    let want: Int64 = op == .eq ? 1 : 0
                    return zip(ca, cb, .bool, errors: errors, missing: missing) { p, q in
                        if p == U || q == U { return U }
                        return p == q ? want : 1 - want
                    }
                }
                // One loop per operator: no switch on the operator per row.
                switch op {
                case .lt: return zip(ca, cb, .bool, errors: errors, missing: missing) { p, q in p == U || q == U ? U : (p < q ? 1 : 0) }
                case .le: return zip(ca, cb, .bool, errors: errors, missing: missing) { p, q in p == U || q == U ? U : (p <= q ? 1 : 0) }
                case .gt: return zip(ca, cb, .bool, errors: errors, missing: missing) { p, q in p == U || q == U ? U : (p > q ? 1 : 0) }
                case .ge: return zip(ca, cb, .bool, errors: errors, missing: missing) { p, q in p == U || q == U ? U : (p >= q ? 1 : 0) }
                case .eq: return zip(ca, cb, .bool, errors: errors, missing: missing) { p, q in p == U || q == U ? U : (p == q ? 1 : 0) }
                default: return zip(ca, cb, .bool, errors: errors, missing: missing) { p, q in p == U || q == U ? U : (p != q ? 1 : 0) }
                }
            case .double:
                return zip(ca, cb, .bool, errors: errors, missing: missing) { p, q in
                    if p == U || q == U { return U }
                    return orderedRelation(op, Double(bitPattern: UInt64(bitPattern: p)), Double(bitPattern: UInt64(bitPattern: q))) ? 1 : 0
                }
            default:
                break
            }
        }
        var threw = false
        let x = ca.values, y = cb.values
        let out = build(lv, .bool, errors: errors, missing: missing) { i in
            let p = x[i], q = y[i]
            guard p != U, q != U, let v = Self.value(p, ka), let w = Self.value(q, kb) else { return U }
            guard let r = try? relation(op, v, w) else { threw = true; return U }
            return r ? 1 : 0
        }
        return Self.degrade(out, lossy: false, threw: threw)
    }

    /// Whether `constantRelation` compares a column of `kind` with constant `k` under `op`.
    static func comparedWithConstant(_ kind: VecKind, _ op: BinaryOp, _ k: Value) -> Bool {
        switch (kind, k) {
        case (.int, .int), (.double, .double): return true
        case (.bool, .bool): return op == .eq || op == .ne
        default: return false
        }
    }

    /// `c op k` over column `c` and constant `k` (kinds as `comparedWithConstant` allows), in
    /// one pass over the column.
    func constantRelation(_ op: BinaryOp, _ c: consuming VecColumn, _ k: Value) -> VecValue? {
        let errors = c.unknownIsError, missing = c.unknownIsMissing
        switch (c.kind, k) {
        case (.int, .int(let q)):
            // One loop per operator: no switch on the operator per row.
            switch op {
            case .lt: return map(c, .bool, errors: errors, missing: missing) { p in p == U ? U : (p < q ? 1 : 0) }
            case .le: return map(c, .bool, errors: errors, missing: missing) { p in p == U ? U : (p <= q ? 1 : 0) }
            case .gt: return map(c, .bool, errors: errors, missing: missing) { p in p == U ? U : (p > q ? 1 : 0) }
            case .ge: return map(c, .bool, errors: errors, missing: missing) { p in p == U ? U : (p >= q ? 1 : 0) }
            case .eq: return map(c, .bool, errors: errors, missing: missing) { p in p == U ? U : (p == q ? 1 : 0) }
            default: return map(c, .bool, errors: errors, missing: missing) { p in p == U ? U : (orderedRelation(op, p, q) ? 1 : 0) }
            }
        case (.double, .double(let q)):
            return map(c, .bool, errors: errors, missing: missing) { p in
                p == U ? U : (orderedRelation(op, Double(bitPattern: UInt64(bitPattern: p)), q) ? 1 : 0)
            }
        case (.bool, .bool(let q)):
            // `m.in_school == true` is the column itself, `== false` its negation (unknown
            // stays unknown either way).
            if q == (op == .eq) {
                // The column's own rows, without a pass (and never written over: not fresh).
                return .column(VecColumn(level: c.level, kind: .bool, values: c.values, unknownIsError: errors, unknownIsMissing: errors && missing))
            }
            return map(c, .bool, errors: errors, missing: missing) { p in Self.not(p) }
        default:
            return nil
        }
    }

    func arithmeticColumns(_ op: BinaryOp, _ a: VecValue, _ b: VecValue) -> VecValue? {
        if case .constant(let x) = a, case .constant(let y) = b {
            guard let r = try? arithmetic(op, x, y) else { return .allUnknown }
            return .constant(r)
        }
        guard let lv = join(level(a), level(b)), let ka = kind(a), let kb = kind(b),
              let sa = sample(ka), let sb = sample(kb),
              let outKind = (try? arithmetic(op, sa, sb)).flatMap(Self.kind(of:)),
              let ca = materialize(a, lv, hint: ka), let cb = materialize(b, lv, hint: kb) else { return nil }
        let x = ca.values, y = cb.values
        // A result that is the marker's bits (-0.0, Int64.min) is a value the column cannot hold.
        var lossy = false, threw = false
        let out: VecValue
        let errors = ca.unknownIsError && cb.unknownIsError, missing = ca.unknownIsMissing && cb.unknownIsMissing
        if ka == .double && kb == .double {
            out = build(lv, .double, errors: errors, missing: missing) { i in
                let p = x[i], q = y[i]
                if p == U || q == U { return U }
                let u = Double(bitPattern: UInt64(bitPattern: p)), w = Double(bitPattern: UInt64(bitPattern: q))
                // As `arithmetic` of two doubles, without a `Value` per row.
                guard let r = doubleArithmetic(op, u, w) else { threw = true; return U }
                let z = Int64(bitPattern: r.bitPattern)
                if z == U { lossy = true }
                return z
            }
        } else {
            out = build(lv, outKind, errors: errors, missing: missing) { i in
                let p = x[i], q = y[i]
                guard p != U, q != U, let v = Self.value(p, ka), let w = Self.value(q, kb) else { return U }
                guard let r = try? arithmetic(op, v, w) else { threw = true; return U }
                let z = Self.store(r, outKind)
                if z == U { lossy = true }
                return z
            }
        }
        return Self.degrade(out, lossy: lossy, threw: threw)
    }

    // MARK: Calls and macros

    mutating func call(_ b: Builtin, _ args: [IR]) -> VecValue? {
        switch b {
        case .size:
            if case .variable(let s) = args[0], case .memberList? = host.binding(s) {
                let r = ranges
                return build(.household, .int, errors: true) { h in Int64(r[h].count) }
            }
            if case .comprehension(.filter, let range, let slot, let pred, _) = args[0] {
                return reduce(.filter, range, slot, pred!, count: true)
            }
            guard let v = eval(args[0]) else { return nil }
            switch v {
            case .constant(let k):
                guard let r = try? sizeOf(k) else { return .allUnknown }
                return .constant(r)
            case .allUnknown: return .allUnknown
            case .column(let c):
                guard case .codeSet(let codes) = c.kind else { return nil }
                let s = c.values
                let limit: UInt64 = codes.count >= 64 ? ~0 : (1 << UInt64(codes.count)) - 1
                return build(c.level, .int, errors: c.unknownIsError, missing: c.unknownIsMissing) { i in
                    s[i] == U ? U : Int64((UInt64(bitPattern: s[i]) & limit).nonzeroBitCount)
                }
            }
        case .toDouble:
            guard let v = eval(args[0]) else { return nil }
            if case .column(let c) = v, c.kind == .int {
                let s = c.values
                // Double(i) is never -0.0.
                return build(c.level, .double, errors: c.unknownIsError, missing: c.unknownIsMissing) { i in s[i] == U ? U : Int64(bitPattern: Double(s[i]).bitPattern) }
            }
            if case .column(let c) = v, c.kind == .double { return v }
            if case .column = v { return nil }
            return map1(v) { (x) throws(EvalError) in try toDouble(x) }
        case .toInt:
            guard let v = eval(args[0]) else { return nil }
            if case .column(let c) = v {
                if c.kind == .int { return v }
                guard c.kind == .double else { return nil }
            }
            return map1(v) { (x) throws(EvalError) in try toInt(x) }
        default:
            return nil
        }
    }

    /// `range.all/exists/exists_one(x, pred)` and, with `count`, `range.filter(x, pred).size()`,
    /// over the household's members (a segmented reduction), a list written out, or a code set.
    mutating func reduce(_ kind: MacroKind, _ range: IR, _ slot: Int, _ pred: IR, count: Bool) -> VecValue? {
        let saved = locals[slot]
        defer { locals[slot] = saved }
        if case .variable(let s) = range, case .memberList(let type)? = host.binding(s) {
            guard !inMemberLoop else { return nil }
            // What `Acc` would see of each household's members, from bit counts: of the masks
            // the host holds for a member's bool field (`x.dependant`), or of the predicate's rows.
            let trues: [Int64], unknowns: [Int64], errors: Bool, missing: Bool
            if case .field(.local(let s), let field, _, _) = pred, s == slot, let m = host.masks(type: type, field: field),
               m.level == .member {
                (trues, unknowns) = Self.memberCounts(trues: m.values, unknown: m.unknown, ranges)
                // The flags of the field's column (`BoolMasks.column()` of a derived field).
                (errors, missing) = (m.unknownIsError || m.unknownIsMissing, m.unknownIsMissing)
            } else {
                locals[slot] = .memberRow(type)
                inMemberLoop = true
                let pv = eval(pred)
                inMemberLoop = false
                guard let pv, let pc = materialize(pv, .member, hint: .bool), pc.kind == .bool else { return nil }
                (trues, unknowns) = Self.memberCounts(pc.values, ranges)
                (errors, missing) = (pc.unknownIsError, pc.unknownIsMissing)
            }
            let out = [Int64](unsafeUninitializedCapacity: nH) { out, done in
                for (h, r) in ranges.enumerated() {
                    let t = trues[h], u = unknowns[h]
                    out[h] = Acc(anyTrue: t > 0, anyFalse: Int64(r.count) - t - u > 0, anyUnknown: u > 0, n: t).result(kind, count: count)
                }
                done = nH
            }
            return made(.household, count ? .int : .bool, errors: errors, missing: missing, out)
        }
        // A list written out, or a constant list: one predicate value per element.
        var elems: [VecValue] = []
        if case .list(let items) = range {
            for item in items {
                guard let v = eval(item) else { return nil }
                elems.append(v)
            }
        } else {
            guard let rv = eval(range) else { return nil }
            switch rv {
            case .constant(.list(.array(let items))):
                elems = items.map { .constant($0) }
            case .column(let c):
                guard case .codeSet(let codes) = c.kind, codes.count <= 64 else { return nil }
                return codeSetReduce(kind, c, codes, slot, pred, count: count)
            case .allUnknown:
                return .allUnknown
            default:
                return nil
            }
        }
        var preds: [VecValue] = []
        for e in elems {
            locals[slot] = .value(e)
            guard let p = eval(pred) else { return nil }
            preds.append(p)
        }
        let lv = (elems + preds).reduce(nil as VecLevel?) { join($0, level($1)) } ?? .household
        var ec: [[Int64]] = [], pc: [[Int64]] = []
        var errors = true, missing = true
        for e in elems {
            // Only whether an element is known matters (the list is built before the loop).
            switch e {
            case .column(let c):
                guard let m = materialize(.column(c), lv, hint: nil) else { return nil }
                ec.append(m.values)
                errors = errors && m.unknownIsError
                missing = missing && m.unknownIsMissing
            case .allUnknown: ec.append([Int64](repeating: U, count: self.count(lv)))
            case .constant: break
            }
        }
        for p in preds {
            guard self.kind(p) ?? .bool == .bool, let m = materialize(p, lv, hint: .bool) else { return nil }
            pc.append(m.values)
            errors = errors && m.unknownIsError
            missing = missing && m.unknownIsMissing
        }
        return made(lv, count ? .int : .bool, errors: errors, missing: missing,
                    Self.listReduce(kind, count: count, rows: self.count(lv), elements: ec, predicates: pc))
    }

    /// Each row of a macro over a list: unknown where an element is, else what `Acc` gives of
    /// the predicates' rows. Column by column (a pass over each, no list of columns per row),
    /// noting each row's true predicates and which other values it met.
    static func listReduce(_ kind: MacroKind, count: Bool, rows: Int, elements: [[Int64]], predicates: [[Int64]]) -> [Int64] {
        let sawFalse: UInt8 = 1, sawUnknown: UInt8 = 2, unknownElement: UInt8 = 4
        var trues = [Int64](repeating: 0, count: rows), seen = [UInt8](repeating: 0, count: rows)
        trues.withUnsafeMutableBufferPointer { trues in
            seen.withUnsafeMutableBufferPointer { seen in
                for e in elements {
                    e.withUnsafeBufferPointer { e in
                        for i in 0..<rows where e[i] == U { seen[i] |= unknownElement }
                    }
                }
                for p in predicates {
                    p.withUnsafeBufferPointer { p in
                        for i in 0..<rows {
                            let x = p[i]
                            trues[i] &+= x != U && x != 0 ? 1 : 0
                            seen[i] |= x == U ? sawUnknown : (x == 0 ? sawFalse : 0)
                        }
                    }
                }
            }
        }
        return [Int64](unsafeUninitializedCapacity: rows) { out, done in
            for i in 0..<rows {
                let n = trues[i], s = seen[i]
                out[i] = s & unknownElement != 0 ? U
                    : Acc(anyTrue: n > 0, anyFalse: s & sawFalse != 0, anyUnknown: s & sawUnknown != 0, n: n).result(kind, count: count)
            }
            done = rows
        }
    }

    mutating func codeSetReduce(_ kind: MacroKind, _ c: VecColumn, _ codes: [String], _ slot: Int, _ pred: IR, count: Bool) -> VecValue? {
        var preds: [VecValue] = []
        for code in codes {
            locals[slot] = .value(.constant(.string(code)))
            guard let p = eval(pred), self.kind(p) ?? .bool == .bool else { return nil }
            preds.append(p)
        }
        if let trueCodes = Self.codesWhereTrue(preds) {
            return codeSetReduce(kind, c, codeCount: codes.count, trueCodes: trueCodes, count: count)
        }
        let lv = preds.reduce(c.level as VecLevel?) { join($0, level($1)) }!
        guard let rc = materialize(.column(c), lv, hint: nil) else { return nil }
        var pc: [[Int64]] = []
        var errors = rc.unknownIsError, missing = rc.unknownIsMissing
        for p in preds {
            guard let m = materialize(p, lv, hint: .bool) else { return nil }
            pc.append(m.values)
            errors = errors && m.unknownIsError
            missing = missing && m.unknownIsMissing
        }
        let s = rc.values
        return build(lv, count ? .int : .bool, errors: errors, missing: missing) { i in
            let x = s[i]
            if x == U { return U }
            let mask = UInt64(bitPattern: x)
            var acc = Acc()
            for (bit, p) in pc.enumerated() where mask & (1 << UInt64(bit)) != 0 { acc.add(p[i]) }
            return acc.result(kind, count: count)
        }
    }
}

extension VecEvaluator {
    /// The codes (bit k: code k) whose predicate is true, when every predicate is a constant
    /// (`d in params.devices`); nil otherwise.
    static func codesWhereTrue(_ preds: [VecValue]) -> UInt64? {
        var trueCodes: UInt64 = 0
        for (bit, p) in preds.enumerated() {
            guard case .constant(.bool(let b)) = p else { return nil }
            if b { trueCodes |= 1 << UInt64(bit) }
        }
        return trueCodes
    }

    /// `codeSetReduce` with a constant predicate per code: each row from its set's bits, in one
    /// pass (no column of each code's predicate). The flags are those constant columns give:
    /// unknown rows are the set's, never a missing value of the predicates.
    func codeSetReduce(_ kind: MacroKind, _ c: VecColumn, codeCount: Int, trueCodes: UInt64, count: Bool) -> VecValue {
        let codes: UInt64 = codeCount >= 64 ? ~0 : (1 << UInt64(codeCount)) - 1, falseCodes = codes & ~trueCodes
        let s = c.values
        return build(c.level, count ? .int : .bool, errors: c.unknownIsError, missing: false) { i in
            let x = s[i]
            if x == U { return U }
            let set = UInt64(bitPattern: x), trues = set & trueCodes
            return Acc(anyTrue: trues != 0, anyFalse: set & falseCodes != 0, n: Int64(trues.nonzeroBitCount)).result(kind, count: count)
        }
    }
}

/// The elements' predicate values of one row of a macro.
struct Acc {
    var anyTrue = false, anyFalse = false, anyUnknown = false
    var n: Int64 = 0

    @inline(__always)
    mutating func add(_ p: Int64) {
        if p == U { anyUnknown = true } else if p != 0 { anyTrue = true; n += 1 } else { anyFalse = true }
    }

    /// The macro's value as the scalar loops give it: `exists` stops at a true element and
    /// `all` at a false one whatever errors came before; `exists_one` and `filter` pass errors on.
    @inline(__always)
    func result(_ kind: MacroKind, count: Bool) -> Int64 {
        if count { return anyUnknown ? U : n }
        switch kind {
        case .exists: return anyTrue ? 1 : (anyUnknown ? U : 0)
        case .all: return anyFalse ? 0 : (anyUnknown ? U : 1)
        case .existsOne: return anyUnknown ? U : (n == 1 ? 1 : 0)
        default: return U
        }
    }
}

// The checked expression is kept by `Program` (shared between threads) and never mutated.
extension IR: @unchecked Sendable {}
