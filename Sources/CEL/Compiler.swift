/// Evaluation context: the host's activation and the macro variables (stack-allocated per
/// evaluation).
struct Ctx {
    let act: any Activation
    /// Macro variables, then cached loop-invariant values.
    let locals: UnsafeMutablePointer<Value>
    /// Whether each cached loop-invariant value has been computed in this evaluation.
    let cached: UnsafeMutablePointer<Bool>
}

typealias VF = @Sendable (Ctx) throws(EvalError) -> Value
typealias BF = @Sendable (Ctx) throws(EvalError) -> Bool

func isBoolNode(_ ir: IR) -> Bool {
    switch ir {
    case .not, .and, .or, .hasField, .hasDyn: return true
    case .binary(let op, _, _):
        switch op {
        case .eq, .ne, .lt, .le, .gt, .ge, .in: return true
        default: return false
        }
    case .comprehension(let k, _, _, _, _): return k == .all || k == .exists || k == .existsOne
    case .call(let b, _):
        switch b {
        case .contains, .startsWith, .endsWith, .matches: return true
        default: return false
        }
    default: return false
    }
}

/// A value known at compile time: literals and lists/maps of literals.
func constantOf(_ ir: IR) -> Value? {
    switch ir {
    case .constant(let v): return v
    case .list(let elems):
        var out: [Value] = []
        out.reserveCapacity(elems.count)
        for e in elems {
            guard let v = constantOf(e) else { return nil }
            out.append(v)
        }
        return .list(.array(out))
    case .map(let entries):
        var pairs: [(key: Value, value: Value)] = []
        for (k, v) in entries {
            guard let kv = constantOf(k), let vv = constantOf(v) else { return nil }
            pairs.append((kv, vv))
        }
        guard let m = try? MapValue(pairs) else { return nil }
        return .map(m)
    default: return nil
    }
}

/// Calls `body` with each element of a list (or key of a map); `body` returns false to stop.
@inline(__always)
func iterate(_ range: Value, _ macro: String, _ body: (Value) throws(EvalError) -> Bool) throws(EvalError) {
    switch range {
    case .list(.rows(let t, let start, let n)):
        var i: Int32 = 0
        while i < n {
            if try !body(.object(ObjectRef(type: t, row: start &+ i))) { return }
            i &+= 1
        }
    case .list(.array(let a)):
        for x in a where try !body(x) { return }
    case .map(let m):
        for k in m.keys where try !body(k) { return }
    default:
        throw noMatchingOverload(macro, range)
    }
}

/// Does the expression depend on no macro variable (so its value is the same for every
/// element of a loop within one evaluation)?
func isInvariant(_ ir: IR) -> Bool {
    switch ir {
    case .constant, .variable: return true
    case .local, .comprehension: return false
    case .field(let x, _, _, _), .dynSelect(let x, _, _), .hasField(let x, _), .hasDyn(let x, _), .not(let x), .neg(let x):
        return isInvariant(x)
    case .index(let a, let b), .and(let a, let b), .or(let a, let b), .binary(_, let a, let b):
        return isInvariant(a) && isInvariant(b)
    case .cond(let a, let b, let c): return isInvariant(a) && isInvariant(b) && isInvariant(c)
    case .list(let xs), .call(_, let xs): return xs.allSatisfy(isInvariant)
    case .map(let es): return es.allSatisfy { isInvariant($0.0) && isInvariant($0.1) }
    }
}

final class Compiler {
    let decls: Declarations
    let localCount: Int
    /// Number of loop-invariant values cached per evaluation (slots after the macro variables).
    private(set) var cacheCount = 0
    /// > 0 while compiling the body of a macro.
    private var loopDepth = 0
    /// Compile ints, doubles and bool fields to typed closures where they apply.
    var typedPaths = true

    init(decls: Declarations, localCount: Int) {
        self.decls = decls
        self.localCount = localCount
    }

    /// Compiles a macro body: loop-invariant parts are computed once per evaluation.
    func inLoop<T>(_ body: () -> T) -> T {
        loopDepth += 1
        defer { loopDepth -= 1 }
        return body()
    }

    // MARK: Value-producing closures

    func value(_ ir: IR) -> VF {
        if loopDepth > 0, constantOf(ir) == nil, isInvariant(ir) {
            switch ir {
            case .variable: break
            default:
                // Compile the invariant expression outside loop mode, then cache its value.
                let saved = loopDepth
                loopDepth = 0
                let f = value(ir)
                loopDepth = saved
                let flag = cacheCount
                let slot = localCount + cacheCount
                cacheCount += 1
                return { ctx throws(EvalError) in
                    if ctx.cached[flag] { return ctx.locals[slot] }
                    let v = try f(ctx)
                    ctx.locals[slot] = v
                    ctx.cached[flag] = true
                    return v
                }
            }
        }
        if isBoolNode(ir) {
            let b = bool(ir)
            return { ctx throws(EvalError) in .bool(try b(ctx)) }
        }
        if let c = constantOf(ir) { return { _ in c } }
        switch ir {
        case .constant(let v):
            return { _ in v }
        case .variable(let slot):
            return { ctx in ctx.act.variable(slot) }
        case .local(let slot):
            return { ctx in ctx.locals[slot] }
        case .field(let op, let idx, let path, _):
            return fieldAccess(op, idx, path)
        case .dynSelect(let op, let name, let path):
            let f = value(op)
            let decls = self.decls
            let missing = EvalError(.missingValue, "no value for '\(path)'")
            return { ctx throws(EvalError) in
                let v = try f(ctx)
                switch v {
                case .map(let m):
                    guard let x = m[string: name] else { throw EvalError(.noSuchField, "no such key: '\(name)'") }
                    return x
                case .object(let r):
                    guard let i = decls.fieldIndex(typeID: r.type, field: name) else {
                        throw EvalError(.noSuchField, "no such field '\(name)' in \(decls.objectTypeName(r.type))")
                    }
                    guard let x = ctx.act.field(i, of: r) else { throw missing }
                    return x
                default:
                    throw EvalError(.noSuchField, "cannot select field '\(name)' of \(typeName(v)) value")
                }
            }
        case .index(let c, let i):
            let cf = value(c), xf = value(i)
            return { ctx throws(EvalError) in try indexValue(try cf(ctx), try xf(ctx)) }
        case .list(let elems):
            let fs = elems.map(value)
            return { ctx throws(EvalError) in
                var out: [Value] = []
                out.reserveCapacity(fs.count)
                for f in fs { out.append(try f(ctx)) }
                return .list(.array(out))
            }
        case .map(let entries):
            let fs = entries.map { (value($0.0), value($0.1)) }
            return { ctx throws(EvalError) in
                var pairs: [(key: Value, value: Value)] = []
                pairs.reserveCapacity(fs.count)
                for (k, v) in fs { pairs.append((try k(ctx), try v(ctx))) }
                return .map(try MapValue(pairs))
            }
        case .neg(let x):
            let f = value(x)
            return { ctx throws(EvalError) in try negate(try f(ctx)) }
        case .cond(let c, let a, let b):
            let cf = bool(c), af = value(a), bf = value(b)
            return { ctx throws(EvalError) in try cf(ctx) ? try af(ctx) : try bf(ctx) }
        case .binary(let op, let l, let r):
            let lf = value(l)
            if let k = constantOf(r), case .int(let c) = k {
                // Common case: arithmetic with an int constant.
                return { ctx throws(EvalError) in
                    let v = try lf(ctx)
                    if case .int(let a) = v, op == .add {
                        let (s, o) = a.addingReportingOverflow(c)
                        if o { throw intOverflow }
                        return .int(s)
                    }
                    return try arithmetic(op, v, k)
                }
            }
            let rf = value(r)
            return { ctx throws(EvalError) in try arithmetic(op, try lf(ctx), try rf(ctx)) }
        case .call(let b, let args):
            return call(b, args)
        case .comprehension(let kind, let range, let slot, let pred, let transform):
            let rf = value(range)
            let pf = inLoop { pred.map(bool) }
            let name = kind.rawValue
            if kind == .filter {
                let pf = pf!
                return { ctx throws(EvalError) in
                    var out: [Value] = []
                    try iterate(try rf(ctx), name) { (x) throws(EvalError) -> Bool in
                        ctx.locals[slot] = x
                        if try pf(ctx) { out.append(x) }
                        return true
                    }
                    return .list(.array(out))
                }
            }
            let tf = inLoop { value(transform!) }
            return { ctx throws(EvalError) in
                var out: [Value] = []
                try iterate(try rf(ctx), name) { (x) throws(EvalError) -> Bool in
                    ctx.locals[slot] = x
                    if let pf, try !pf(ctx) { return true }
                    out.append(try tf(ctx))
                    return true
                }
                return .list(.array(out))
            }
        case .not, .and, .or, .hasField, .hasDyn:
            fatalError("unreachable: boolean node")
        }
    }

    func fieldAccess(_ op: IR, _ idx: Int, _ path: String) -> VF {
        let missing = EvalError(.missingValue, "no value for '\(path)'")
        @Sendable func notObject(_ v: Value) -> EvalError {
            if case .null = v { return missing }
            return EvalError(.noSuchField, "cannot select a field of \(typeName(v)) value in '\(path)'")
        }
        switch op {
        case .local(let s):
            return { ctx throws(EvalError) in
                if case .object(let r) = ctx.locals[s] {
                    if let v = ctx.act.field(idx, of: r) { return v }
                    throw missing
                }
                throw notObject(ctx.locals[s])
            }
        case .variable(let s):
            // One call to the host (`h.x`, `m.x`, `params.x`): no object reference built.
            return { ctx throws(EvalError) in
                switch ctx.act.field(idx, ofVariable: s) {
                case .some(.some(let v)): return v
                case .some(.none): throw missing
                case .none: throw notObject(ctx.act.variable(s))
                }
            }
        default:
            let f = value(op)
            return { ctx throws(EvalError) in
                let o = try f(ctx)
                if case .object(let r) = o {
                    if let v = ctx.act.field(idx, of: r) { return v }
                    throw missing
                }
                throw notObject(o)
            }
        }
    }

    func call(_ b: Builtin, _ args: [IR]) -> VF {
        let f = value(args[0])
        switch b {
        case .size: return { ctx throws(EvalError) in try sizeOf(try f(ctx)) }
        case .toInt: return { ctx throws(EvalError) in try toInt(try f(ctx)) }
        case .toUint: return { ctx throws(EvalError) in try toUint(try f(ctx)) }
        case .toDouble: return { ctx throws(EvalError) in try toDouble(try f(ctx)) }
        case .toString: return { ctx throws(EvalError) in try toStringValue(try f(ctx)) }
        case .toBool: return { ctx throws(EvalError) in try toBool(try f(ctx)) }
        case .toBytes: return { ctx throws(EvalError) in try toBytes(try f(ctx)) }
        case .typeOf:
            let decls = self.decls
            return { ctx throws(EvalError) in .type(try f(ctx).runtimeType(decls)) }
        case .contains, .startsWith, .endsWith, .matches:
            fatalError("unreachable: boolean function")
        }
    }

    // MARK: Bool-producing closures

    func bool(_ ir: IR) -> BF {
        switch ir {
        case .constant(.bool(let b)):
            return { _ in b }
        case .not(let x):
            let f = bool(x)
            return { ctx throws(EvalError) in !(try f(ctx)) }
        case .and(let l, let r):
            if typedPaths, let fused = logicChain(ir, and: true) { return fused }
            let lf = bool(l), rf = bool(r)
            return { ctx throws(EvalError) in
                let a: Bool
                do throws(EvalError) {
                    a = try lf(ctx)
                } catch {
                    // error && false is false; otherwise the error stands.
                    if let b = try? rf(ctx), !b { return false }
                    throw error
                }
                if !a { return false }
                return try rf(ctx)
            }
        case .or(let l, let r):
            if typedPaths, let fused = logicChain(ir, and: false) { return fused }
            let lf = bool(l), rf = bool(r)
            return { ctx throws(EvalError) in
                let a: Bool
                do throws(EvalError) {
                    a = try lf(ctx)
                } catch {
                    if let b = try? rf(ctx), b { return true }
                    throw error
                }
                if a { return true }
                return try rf(ctx)
            }
        case .cond(let c, let a, let b):
            let cf = bool(c), af = bool(a), bf = bool(b)
            return { ctx throws(EvalError) in try cf(ctx) ? try af(ctx) : try bf(ctx) }
        case .hasField(let op, let idx):
            let f = value(op)
            return { ctx throws(EvalError) in
                let o = try f(ctx)
                guard case .object(let r) = o else {
                    throw EvalError(.noSuchField, "has() cannot test a field of \(typeName(o)) value")
                }
                return ctx.act.field(idx, of: r) != nil
            }
        case .hasDyn(let op, let name):
            let f = value(op)
            let decls = self.decls
            return { ctx throws(EvalError) in
                let o = try f(ctx)
                switch o {
                case .map(let m): return m[string: name] != nil
                case .object(let r):
                    guard let i = decls.fieldIndex(typeID: r.type, field: name) else {
                        throw EvalError(.noSuchField, "no such field '\(name)' in \(decls.objectTypeName(r.type))")
                    }
                    return ctx.act.field(i, of: r) != nil
                default:
                    throw EvalError(.noSuchField, "has() cannot test a field of \(typeName(o)) value")
                }
            }
        case .binary(let op, let l, let r) where op == .in:
            return membership(l, r)
        case .binary(let op, let l, let r) where isBoolNode(ir):
            return relationFn(op, l, r)
        case .comprehension(let kind, let range, let slot, let pred, _) where isBoolNode(ir):
            return quantifier(kind, range, slot, pred!)
        case .call(let b, let args) where isBoolNode(ir):
            return stringPredicate(b, args)
        default:
            let f = value(ir)
            let generic: BF = { ctx throws(EvalError) in
                let v = try f(ctx)
                guard case .bool(let b) = v else {
                    throw EvalError(.noMatchingOverload, "expected bool, found \(typeName(v))")
                }
                return b
            }
            // A bool field (`m.able_to_work`, a derived flag) read without a `Value`.
            if typedPaths, let typed = boolFieldTest(ir, generic) { return typed }
            return generic
        }
    }

    // MARK: Code fields compared as code ids

    /// A field declared enum-like (`Declarations.declareCodes`) of a variable or a macro
    /// variable: a closure giving its code id (-1 when the host does not answer) and the codes.
    /// `variable` is set for a field of a variable (`h.x`, `m.x`): callers then read the code
    /// id inline instead of calling `id`.
    func codeAccess(_ ir: IR) -> (id: @Sendable (Ctx) -> Int, codes: [String], variable: (slot: Int, field: Int)?)? {
        guard case .field(let op, let idx, _, let type) = ir, let codes = decls.codes(typeID: type, field: idx),
              !codes.isEmpty else { return nil }
        switch op {
        case .variable(let s):
            return ({ ctx in ctx.act.codeID(idx, ofVariable: s) }, codes, (s, idx))
        case .local(let s):
            return ({ ctx in
                if case .object(let r) = ctx.locals[s] { return ctx.act.codeID(idx, of: r) }
                return -1
            }, codes, nil)
        default:
            return nil
        }
    }

    /// The result of `test` for each code (nil when it throws for one of them).
    func codeTable(_ codes: [String], _ test: (Value) throws(EvalError) -> Bool) -> [Bool]? {
        var table: [Bool] = []
        table.reserveCapacity(codes.count)
        for c in codes {
            guard let b = try? test(.string(c)) else { return nil }
            table.append(b)
        }
        return table
    }

    /// A test on a code field answered from a table by code id; `generic` (the same test on the
    /// field's value) when the host gives no code id.
    func codeTest(_ idf: @escaping @Sendable (Ctx) -> Int, _ variable: (slot: Int, field: Int)?, _ table: [Bool],
                  _ generic: @escaping BF) -> BF {
        let n = table.count
        if let (s, f) = variable {
            return { ctx throws(EvalError) in
                let id = ctx.act.codeID(f, ofVariable: s)
                if id >= 0 && id < n { return table[id] }
                return try generic(ctx)
            }
        }
        return { ctx throws(EvalError) in
            let id = idf(ctx)
            if id >= 0 && id < n { return table[id] }
            return try generic(ctx)
        }
    }

    func relationFn(_ op: BinaryOp, _ l: IR, _ r: IR) -> BF {
        let generic = relationGeneric(op, l, r)
        // `code_field == 'x'`, `code_field != 'x'`: a table by code id.
        if op == .eq || op == .ne, let k = constantOf(r), case .string = k, let (idf, codes, variable) = codeAccess(l),
           let table = codeTable(codes, { (v) throws(EvalError) -> Bool in try relation(op, v, k) }) {
            return codeTest(idf, variable, table, generic)
        }
        // Ints and doubles compared without `Value`s (`m.age >= params.x`).
        if typedPaths, let typed = relationTyped(op, l, r, generic) { return typed }
        return generic
    }

    func relationGeneric(_ op: BinaryOp, _ l: IR, _ r: IR) -> BF {
        // Constant on the right (the usual `m.age >= 15`, `m.code == "x"`).
        if let k = constantOf(r) {
            let lf = value(l)
            switch k {
            case .int(let c):
                return { ctx throws(EvalError) in
                    let v = try lf(ctx)
                    if case .int(let a) = v { return orderedRelation(op, a, c) }
                    return try relation(op, v, k)
                }
            case .string(let s) where op == .eq || op == .ne:
                let want = op == .eq
                return { ctx throws(EvalError) in
                    let v = try lf(ctx)
                    if case .string(let a) = v { return stringsEqual(a, s) == want }
                    return try relation(op, v, k)
                }
            case .bool(let c) where op == .eq || op == .ne:
                let want = op == .eq
                return { ctx throws(EvalError) in
                    let v = try lf(ctx)
                    if case .bool(let a) = v { return (a == c) == want }
                    return try relation(op, v, k)
                }
            default:
                return { ctx throws(EvalError) in try relation(op, try lf(ctx), k) }
            }
        }
        let lf = value(l), rf = value(r)
        return { ctx throws(EvalError) in
            let a = try lf(ctx), b = try rf(ctx)
            if case .int(let x) = a, case .int(let y) = b { return orderedRelation(op, x, y) }
            return try relation(op, a, b)
        }
    }

    func membership(_ l: IR, _ r: IR) -> BF {
        let generic = membershipGeneric(l, r)
        guard let (idf, codes, variable) = codeAccess(l) else { return generic }
        // `code_field in [constants]`: a table by code id.
        if let k = constantOf(r) {
            guard let table = codeTable(codes, { (v) throws(EvalError) -> Bool in try contains(k, v) }) else { return generic }
            return codeTest(idf, variable, table, generic)
        }
        // `code_field in params.list`: a table by code id for each value the parameter can hold.
        if case .field(.variable(let ps), let pidx, _, let ptype) = r, let candidates = decls.values(typeID: ptype, field: pidx),
           !candidates.isEmpty {
            let n = codes.count, m = candidates.count
            var tables = [Bool](repeating: false, count: n * m)
            var valid = [Bool](repeating: false, count: m)
            for (k, candidate) in candidates.enumerated() {
                guard let t = codeTable(codes, { (v) throws(EvalError) -> Bool in try contains(candidate, v) }) else { continue }
                valid[k] = true
                for j in 0..<n { tables[k * n + j] = t[j] }
            }
            guard valid.contains(true) else { return generic }
            if let (s, f) = variable {
                return { [tables, valid] ctx throws(EvalError) in
                    let id = ctx.act.codeID(f, ofVariable: s)
                    if id >= 0 && id < n {
                        let k = ctx.act.valueIndex(pidx, ofVariable: ps)
                        if k >= 0 && k < m && valid[k] { return tables[k &* n &+ id] }
                    }
                    return try generic(ctx)
                }
            }
            return { [tables, valid] ctx throws(EvalError) in
                let id = idf(ctx)
                if id >= 0 && id < n {
                    let k = ctx.act.valueIndex(pidx, ofVariable: ps)
                    if k >= 0 && k < m && valid[k] { return tables[k &* n &+ id] }
                }
                return try generic(ctx)
            }
        }
        return generic
    }

    func membershipGeneric(_ l: IR, _ r: IR) -> BF {
        let lf = value(l)
        if let k = constantOf(r), case .list(.array(let elems)) = k {
            // `x in [constant list]`: scan a typed array.
            let strings = elems.compactMap { v -> String? in if case .string(let s) = v { return s } else { return nil } }
            if strings.count == elems.count {
                return { ctx throws(EvalError) in
                    let v = try lf(ctx)
                    if case .string(let s) = v {
                        for c in strings where stringsEqual(s, c) { return true }
                        return false
                    }
                    return try contains(k, v)
                }
            }
            let ints = elems.compactMap { v -> Int64? in if case .int(let i) = v { return i } else { return nil } }
            if ints.count == elems.count {
                return { ctx throws(EvalError) in
                    let v = try lf(ctx)
                    if case .int(let i) = v { return ints.contains(i) }
                    return try contains(k, v)
                }
            }
            return { ctx throws(EvalError) in try contains(k, try lf(ctx)) }
        }
        let rf = value(r)
        return { ctx throws(EvalError) in
            let v = try lf(ctx)
            return try contains(try rf(ctx), v)
        }
    }

    func quantifier(_ kind: MacroKind, _ range: IR, _ slot: Int, _ pred: IR) -> BF {
        let rf = value(range)
        let pf = inLoop { bool(pred) }
        let name = kind.rawValue
        switch kind {
        case .all:
            return { ctx throws(EvalError) in
                var err: EvalError?
                var result = true
                try iterate(try rf(ctx), name) { (x) throws(EvalError) -> Bool in
                    ctx.locals[slot] = x
                    do throws(EvalError) {
                        if try !pf(ctx) { result = false; return false }
                    } catch {
                        if err == nil { err = error }
                    }
                    return true
                }
                if !result { return false }
                if let err { throw err }
                return true
            }
        case .exists:
            return { ctx throws(EvalError) in
                var err: EvalError?
                var result = false
                try iterate(try rf(ctx), name) { (x) throws(EvalError) -> Bool in
                    ctx.locals[slot] = x
                    do throws(EvalError) {
                        if try pf(ctx) { result = true; return false }
                    } catch {
                        if err == nil { err = error }
                    }
                    return true
                }
                if result { return true }
                if let err { throw err }
                return false
            }
        default:  // exists_one
            return { ctx throws(EvalError) in
                var n = 0
                try iterate(try rf(ctx), name) { (x) throws(EvalError) -> Bool in
                    ctx.locals[slot] = x
                    if try pf(ctx) { n += 1 }
                    return true
                }
                return n == 1
            }
        }
    }

    func stringPredicate(_ b: Builtin, _ args: [IR]) -> BF {
        let sf = value(args[0])
        let name: String
        switch b {
        case .contains: name = "contains"
        case .startsWith: name = "startsWith"
        case .endsWith: name = "endsWith"
        default: name = "matches"
        }
        if b == .matches {
            if case .string(let pattern)? = constantOf(args[1]), let re = try? CompiledRegex(pattern) {
                return { ctx throws(EvalError) in
                    let v = try sf(ctx)
                    guard case .string(let s) = v else { throw noMatchingOverload(name, v, .string(pattern)) }
                    return re.matches(s)
                }
            }
            let pf = value(args[1])
            return { ctx throws(EvalError) in
                let v = try sf(ctx), p = try pf(ctx)
                guard case .string(let s) = v, case .string(let pattern) = p else { throw noMatchingOverload(name, v, p) }
                return try CompiledRegex(pattern).matches(s)
            }
        }
        let af = value(args[1])
        return { ctx throws(EvalError) in
            let v = try sf(ctx), a = try af(ctx)
            guard case .string(let s) = v, case .string(let t) = a else { throw noMatchingOverload(name, v, a) }
            return utf8Search(s, t, mode: b)
        }
    }
}
