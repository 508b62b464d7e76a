/// Closures giving an int or a double without a `Value` box (the generic closures return a
/// `Value` enum, whose copies and reference counting cost more than the comparison itself).
///
/// A typed closure returns nil when the value at run time is not of the kind the declarations
/// promise (a `dyn` value, a host that answers with another kind); the caller then runs the
/// generic closure of the whole expression, which gives the language's result or error.
/// A typed closure throws exactly the error the generic closure of the same expression would
/// throw: both visit the subexpressions in the same order, and evaluation has no side effects,
/// so running the generic closure after a nil gives the same values again.
typealias IF = @Sendable (Ctx) throws(EvalError) -> Int64?
typealias DF = @Sendable (Ctx) throws(EvalError) -> Double?
/// A bool field read: nil when the host gives no typed answer (see `Activation.boolField`).
typealias OBF = @Sendable (Ctx) throws(EvalError) -> Bool?

extension Compiler {
    /// The static type of an expression when it is int, double or bool and the typed closures
    /// below cover it; nil otherwise.
    func scalarType(_ ir: IR) -> CELType? {
        switch ir {
        case .constant(.int): return .int
        case .constant(.double): return .double
        case .constant(.bool): return .bool
        case .field(_, let idx, _, let t):
            guard let ft = decls.fieldType(typeID: t, field: idx) else { return nil }
            return ft == .int || ft == .double || ft == .bool ? ft : nil
        case .variable(let s):
            guard s >= 0 && s < decls.variables.count else { return nil }
            let vt = decls.variables[s].type
            return vt == .int || vt == .double || vt == .bool ? vt : nil
        case .call(.size, _): return .int
        case .call(.toDouble, let args):
            let at = scalarType(args[0])
            return at == .int || at == .double ? .double : nil
        case .cond(_, let a, let b):
            let ta = scalarType(a)
            return ta != nil && ta == scalarType(b) ? ta : nil
        case .binary(let op, let a, let b) where op == .add || op == .sub || op == .mul || op == .div:
            let ta = scalarType(a)
            return (ta == .int || ta == .double) && ta == scalarType(b) ? ta : nil
        default:
            return isBoolNode(ir) ? .bool : nil
        }
    }

    // MARK: Int

    func intFn(_ ir: IR) -> IF? {
        guard scalarType(ir) == .int else { return nil }
        switch ir {
        case .constant(.int(let c)):
            return { _ in c }
        case .field(.variable(let s), let idx, let path, _):
            let missing = EvalError(.missingValue, "no value for '\(path)'")
            return { ctx throws(EvalError) in
                switch ctx.act.intField(idx, ofVariable: s) {
                case .some(.some(let v)): return v
                case .some(.none): throw missing
                case .none: return nil
                }
            }
        case .field(.local(let s), let idx, let path, _):
            let missing = EvalError(.missingValue, "no value for '\(path)'")
            return { ctx throws(EvalError) in
                guard case .object(let r) = ctx.locals[s] else { return nil }
                switch ctx.act.intField(idx, of: r) {
                case .some(.some(let v)): return v
                case .some(.none): throw missing
                case .none: return nil
                }
            }
        case .variable(let s):
            return { ctx in
                if case .int(let v) = ctx.act.variable(s) { return v }
                return nil
            }
        case .call(.size, let args):
            return sizeFn(args[0])
        case .cond(let c, let a, let b):
            guard let af = intFn(a), let bf = intFn(b) else { return nil }
            let cf = bool(c)
            return { ctx throws(EvalError) in try cf(ctx) ? try af(ctx) : try bf(ctx) }
        case .binary(let op, let a, let b):
            guard let af = intFn(a), let bf = intFn(b) else { return nil }
            return { ctx throws(EvalError) in
                guard let x = try af(ctx), let y = try bf(ctx) else { return nil }
                let r: (partialValue: Int64, overflow: Bool)
                switch op {
                case .add: r = x.addingReportingOverflow(y)
                case .sub: r = x.subtractingReportingOverflow(y)
                case .mul: r = x.multipliedReportingOverflow(by: y)
                default:
                    if y == 0 { throw EvalError(.divideByZero, "division by zero") }
                    r = x.dividedReportingOverflow(by: y)
                }
                if r.overflow { throw intOverflow }
                return r.partialValue
            }
        default:
            return nil
        }
    }

    /// `size(list)`; `list.filter(x, p).size()` counts without building the filtered list.
    func sizeFn(_ arg: IR) -> IF {
        if case .comprehension(.filter, let range, let slot, let pred?, _) = arg {
            let rf = value(range)
            let pf = inLoop { bool(pred) }
            let name = MacroKind.filter.rawValue
            if case .list(let elems) = range {
                return literalCount(elems, slot, pf)
            }
            return { ctx throws(EvalError) in
                var n: Int64 = 0
                // The same walk as the generic `filter` (first error stops it), without the list.
                try iterate(try rf(ctx), name) { (x) throws(EvalError) -> Bool in
                    ctx.locals[slot] = x
                    if try pf(ctx) { n += 1 }
                    return true
                }
                return n
            }
        }
        let f = value(arg)
        return { ctx throws(EvalError) in
            if case .list(let l) = try f(ctx) { return Int64(l.count) }
            return nil
        }
    }

    /// `[a, b, c].filter(x, p).size()`: the elements are computed first (an element's error
    /// comes before any test's, as when the list is built), into a buffer on the stack.
    func literalCount(_ elems: [IR], _ slot: Int, _ pf: @escaping BF) -> IF {
        let fs = elems.map(value)
        let n = fs.count
        return { ctx throws(EvalError) in
            try withUnsafeTemporaryAllocation(of: Value.self, capacity: max(n, 1)) { (buf) throws(EvalError) -> Int64 in
                let base = buf.baseAddress!
                var made = 0
                defer { base.deinitialize(count: made) }
                for f in fs {
                    (base + made).initialize(to: try f(ctx))
                    made += 1
                }
                var count: Int64 = 0
                for i in 0..<n {
                    ctx.locals[slot] = base[i]
                    if try pf(ctx) { count += 1 }
                }
                return count
            }
        }
    }

    // MARK: Double

    func doubleFn(_ ir: IR) -> DF? {
        guard scalarType(ir) == .double else { return nil }
        switch ir {
        case .constant(.double(let c)):
            return { _ in c }
        case .field(.variable(let s), let idx, let path, _):
            let missing = EvalError(.missingValue, "no value for '\(path)'")
            return { ctx throws(EvalError) in
                switch ctx.act.doubleField(idx, ofVariable: s) {
                case .some(.some(let v)): return v
                case .some(.none): throw missing
                case .none: return nil
                }
            }
        case .field(.local(let s), let idx, let path, _):
            let missing = EvalError(.missingValue, "no value for '\(path)'")
            return { ctx throws(EvalError) in
                guard case .object(let r) = ctx.locals[s] else { return nil }
                switch ctx.act.doubleField(idx, of: r) {
                case .some(.some(let v)): return v
                case .some(.none): throw missing
                case .none: return nil
                }
            }
        case .variable(let s):
            return { ctx in
                if case .double(let v) = ctx.act.variable(s) { return v }
                return nil
            }
        case .call(.toDouble, let args):
            if let f = intFn(args[0]) {
                return { ctx throws(EvalError) in try f(ctx).map { Double($0) } }
            }
            return doubleFn(args[0])
        case .cond(let c, let a, let b):
            guard let af = doubleFn(a), let bf = doubleFn(b) else { return nil }
            let cf = bool(c)
            return { ctx throws(EvalError) in try cf(ctx) ? try af(ctx) : try bf(ctx) }
        case .binary(let op, let a, let b):
            guard let af = doubleFn(a), let bf = doubleFn(b) else { return nil }
            return { ctx throws(EvalError) in
                guard let x = try af(ctx), let y = try bf(ctx) else { return nil }
                switch op {
                case .add: return x + y
                case .sub: return x - y
                case .mul: return x * y
                default: return x / y
                }
            }
        default:
            return nil
        }
    }

    // MARK: Bool fields

    /// `h.flag`, `m.flag`, `x.flag` read as a Swift `Bool`.
    func boolFieldFn(_ ir: IR) -> OBF? {
        guard case .field(let op, let idx, let path, let t) = ir, decls.fieldType(typeID: t, field: idx) == .bool else { return nil }
        let missing = EvalError(.missingValue, "no value for '\(path)'")
        switch op {
        case .variable(let s):
            return { ctx throws(EvalError) in
                switch ctx.act.boolField(idx, ofVariable: s) {
                case .some(.some(let v)): return v
                case .some(.none): throw missing
                case .none: return nil
                }
            }
        case .local(let s):
            return { ctx throws(EvalError) in
                guard case .object(let r) = ctx.locals[s] else { return nil }
                switch ctx.act.boolField(idx, of: r) {
                case .some(.some(let v)): return v
                case .some(.none): throw missing
                case .none: return nil
                }
            }
        default:
            return nil
        }
    }

    /// A bool field as a condition: the host's typed read inline for a field of a variable,
    /// `generic` when the host does not answer that way.
    func boolFieldTest(_ ir: IR, _ generic: @escaping BF) -> BF? {
        guard let typed = boolFieldFn(ir) else { return nil }
        if case .field(.variable(let s), let idx, let path, _) = ir {
            let missing = EvalError(.missingValue, "no value for '\(path)'")
            return { ctx throws(EvalError) in
                switch ctx.act.boolField(idx, ofVariable: s) {
                case .some(.some(let v)): return v
                case .some(.none): throw missing
                case .none: return try generic(ctx)
                }
            }
        }
        return { ctx throws(EvalError) in
            if let b = try typed(ctx) { return b }
            return try generic(ctx)
        }
    }

    // MARK: Relations

    /// A relation between two typed numbers, or a bool field and a bool constant; `generic`
    /// when a side is not of its declared kind at run time.
    func relationTyped(_ op: BinaryOp, _ l: IR, _ r: IR, _ generic: @escaping BF) -> BF? {
        switch (scalarType(l), scalarType(r)) {
        case (.int?, .int?):
            if let fused = fieldRelation(op, l, r, generic) { return fused }
            guard let lf = intFn(l), let rf = intFn(r) else { return nil }
            return { ctx throws(EvalError) in
                guard let x = try lf(ctx), let y = try rf(ctx) else { return try generic(ctx) }
                return orderedRelation(op, x, y)
            }
        case (.double?, .double?):
            guard let lf = doubleFn(l), let rf = doubleFn(r) else { return nil }
            return { ctx throws(EvalError) in
                guard let x = try lf(ctx), let y = try rf(ctx) else { return try generic(ctx) }
                return orderedRelation(op, x, y)
            }
        case (.int?, .double?):
            guard let lf = intFn(l), let rf = doubleFn(r) else { return nil }
            return { ctx throws(EvalError) in
                guard let x = try lf(ctx), let y = try rf(ctx) else { return try generic(ctx) }
                return mixedRelation(op, compareIntDouble(x, y))
            }
        case (.double?, .int?):
            guard let lf = doubleFn(l), let rf = intFn(r) else { return nil }
            return { ctx throws(EvalError) in
                guard let x = try lf(ctx), let y = try rf(ctx) else { return try generic(ctx) }
                return mixedRelation(op, compareIntDouble(y, x).map { -$0 })
            }
        case (.bool?, .bool?) where op == .eq || op == .ne:
            guard let lf = boolFieldFn(l), case .bool(let c)? = constantOf(r) else { return nil }
            let want = op == .eq
            return { ctx throws(EvalError) in
                guard let x = try lf(ctx) else { return try generic(ctx) }
                return (x == c) == want
            }
        default:
            return nil
        }
    }
}

extension Compiler {
    /// `h.x op params.y`, `m.x op 16`: the commonest relations, with the host's reads inline
    /// (no closure per side). Same reads, order and errors as the composed typed closures.
    func fieldRelation(_ op: BinaryOp, _ l: IR, _ r: IR, _ generic: @escaping BF) -> BF? {
        guard case .field(.variable(let s1), let i1, let p1, _) = l else { return nil }
        let missing1 = EvalError(.missingValue, "no value for '\(p1)'")
        switch r {
        case .constant(.int(let c)):
            return { ctx throws(EvalError) in
                switch ctx.act.intField(i1, ofVariable: s1) {
                case .some(.some(let a)): return orderedRelation(op, a, c)
                case .some(.none): throw missing1
                case .none: return try generic(ctx)
                }
            }
        case .field(.variable(let s2), let i2, let p2, _):
            let missing2 = EvalError(.missingValue, "no value for '\(p2)'")
            return { ctx throws(EvalError) in
                let a: Int64
                switch ctx.act.intField(i1, ofVariable: s1) {
                case .some(.some(let v)): a = v
                case .some(.none): throw missing1
                case .none: return try generic(ctx)
                }
                switch ctx.act.intField(i2, ofVariable: s2) {
                case .some(.some(let b)): return orderedRelation(op, a, b)
                case .some(.none): throw missing2
                case .none: return try generic(ctx)
                }
            }
        default:
            return nil
        }
    }
}

/// The relation of an int and a double from their comparison (nil: NaN, unordered and unequal).
@inline(__always)
func mixedRelation(_ op: BinaryOp, _ c: Int?) -> Bool {
    guard let c else { return op == .ne }
    return orderResult(op, c)
}

extension Compiler {
    /// The operands of a chain of `&&` (or of `||`), however nested, left to right.
    func chainOperands(_ ir: IR, and: Bool, into out: inout [IR]) {
        switch ir {
        case .and(let l, let r) where and:
            chainOperands(l, and: and, into: &out)
            chainOperands(r, and: and, into: &out)
        case .or(let l, let r) where !and:
            chainOperands(l, and: and, into: &out)
            chainOperands(r, and: and, into: &out)
        default:
            out.append(ir)
        }
    }

    /// `a && b && c ...` (or `||`) of three operands or more as one closure over the operands,
    /// instead of one closure per operator. `&&` and `||` are associative: the generic
    /// closures (left to right, the right side run after an error on the left) give exactly this walk for any nesting: operands run left to right;
    /// the first deciding value (false for `&&`, true for `||`) is the result and no later
    /// operand runs; an error is kept (the first one) and the walk goes on; at the end the
    /// kept error is thrown, else the non-deciding value is the result.
    func logicChain(_ ir: IR, and: Bool) -> BF? {
        var operands: [IR] = []
        chainOperands(ir, and: and, into: &operands)
        guard operands.count >= 3 else { return nil }
        return chain(operands[...], decide: !and)
    }

    /// The closure over `ops` (one or more): the operands' closures are captured one by one (a
    /// closure kept in an array is called through a reabstraction thunk, and retained and
    /// released at each call); beyond four, the last operand is the chain of the rest, which
    /// walks the same way.
    func chain(_ ops: ArraySlice<IR>, decide: Bool) -> BF {
        let b = ops.startIndex
        if ops.count == 1 { return bool(ops[b]) }
        if ops.count == 2 {
            let f0 = bool(ops[b]), f1 = bool(ops[b + 1])
            return { ctx throws(EvalError) in
                var pending: EvalError? = nil
                do throws(EvalError) { if try f0(ctx) == decide { return decide } } catch { pending = error }
                do throws(EvalError) { if try f1(ctx) == decide { return decide } } catch { if pending == nil { pending = error } }
                if let pending { throw pending }
                return !decide
            }
        }
        let f0 = bool(ops[b]), f1 = bool(ops[b + 1]), f2 = bool(ops[b + 2])
        if ops.count == 3 {
            return { ctx throws(EvalError) in
                var pending: EvalError? = nil
                do throws(EvalError) { if try f0(ctx) == decide { return decide } } catch { pending = error }
                do throws(EvalError) { if try f1(ctx) == decide { return decide } } catch { if pending == nil { pending = error } }
                do throws(EvalError) { if try f2(ctx) == decide { return decide } } catch { if pending == nil { pending = error } }
                if let pending { throw pending }
                return !decide
            }
        }
        let f3 = ops.count == 4 ? bool(ops[b + 3]) : chain(ops[(b + 3)...], decide: decide)
        return { ctx throws(EvalError) in
            var pending: EvalError? = nil
            do throws(EvalError) { if try f0(ctx) == decide { return decide } } catch { pending = error }
            do throws(EvalError) { if try f1(ctx) == decide { return decide } } catch { if pending == nil { pending = error } }
            do throws(EvalError) { if try f2(ctx) == decide { return decide } } catch { if pending == nil { pending = error } }
            do throws(EvalError) { if try f3(ctx) == decide { return decide } } catch { if pending == nil { pending = error } }
            if let pending { throw pending }
            return !decide
        }
    }
}
