import Diagnostics

enum Builtin {
    case size, contains, startsWith, endsWith, matches
    case toInt, toUint, toDouble, toString, toBool, toBytes, typeOf
}

/// Checked, resolved expression: variables are slots, fields are indices, macros are loops.
indirect enum IR {
    case constant(Value)
    case variable(Int)
    case local(Int)
    /// Field `index` of an object (statically known object type); `path` is the selection as
    /// written, for the missing-value message.
    case field(IR, index: Int, path: String, type: Int32)
    /// Selection on a map or a `dyn` value, resolved at run time.
    case dynSelect(IR, name: String, path: String)
    case hasField(IR, index: Int)
    case hasDyn(IR, name: String)
    case index(IR, IR)
    case list([IR])
    case map([(IR, IR)])
    case not(IR)
    case neg(IR)
    case and(IR, IR)
    case or(IR, IR)
    case cond(IR, IR, IR)
    /// Arithmetic, relations and `in`.
    case binary(BinaryOp, IR, IR)
    case call(Builtin, [IR])
    case comprehension(MacroKind, range: IR, slot: Int, pred: IR?, transform: IR?)

    var constantValue: Value? {
        if case .constant(let v) = self { return v }
        return nil
    }
}

let typeIdentifiers: [String: CELType] = [
    "int": .int, "uint": .uint, "double": .double, "bool": .bool, "string": .string,
    "bytes": .bytes, "list": .list(.dyn), "map": .map(.dyn, .dyn), "null_type": .null,
    "type": .type, "dyn": .dyn,
]

let functionNames = [
    "size", "contains", "startsWith", "endsWith", "matches", "int", "uint", "double", "string",
    "bool", "bytes", "type", "dyn", "has", "all", "exists", "exists_one", "map", "filter",
]

/// Can a value of static type `a` be compared with `==` to one of type `b`?
func comparable(_ a: CELType, _ b: CELType) -> Bool {
    if a.isDyn || b.isDyn { return true }
    if a.isNumeric && b.isNumeric { return true }
    switch (a, b) {
    case (.list(let x), .list(let y)): return comparable(x, y)
    case (.map(let k1, let v1), .map(let k2, let v2)): return comparable(k1, k2) && comparable(v1, v2)
    case (.null, .object), (.object, .null): return true
    default: return a == b
    }
}

func orderable(_ a: CELType, _ b: CELType) -> Bool {
    func ok(_ t: CELType) -> Bool {
        switch t {
        case .int, .uint, .double, .string, .bytes, .bool, .dyn: return true
        default: return false
        }
    }
    guard ok(a), ok(b) else { return false }
    if a.isDyn || b.isDyn { return true }
    if a.isNumeric && b.isNumeric { return true }
    return a == b
}

/// Is a value of type `a` acceptable where `b` is expected?
func isAssignable(_ a: CELType, to b: CELType) -> Bool {
    if a.isDyn || b.isDyn { return true }
    switch (a, b) {
    case (.list(let x), .list(let y)): return isAssignable(x, to: y)
    case (.map(let k1, let v1), .map(let k2, let v2)): return isAssignable(k1, to: k2) && isAssignable(v1, to: v2)
    default: return a == b
    }
}

func join(_ a: CELType, _ b: CELType) -> CELType {
    if a == b { return a }
    switch (a, b) {
    case (.list(let x), .list(let y)): return .list(join(x, y))
    case (.map(let k1, let v1), .map(let k2, let v2)): return .map(join(k1, k2), join(v1, v2))
    default: return .dyn
    }
}

struct Checker {
    let decls: Declarations
    let src: [Unicode.Scalar]
    var scopes: [(name: String, slot: Int, type: CELType)] = []
    var localCount = 0

    init(decls: Declarations, source: String) {
        self.decls = decls
        self.src = Array(source.unicodeScalars)
    }

    func text(_ e: Expr) -> String {
        var s = String.UnicodeScalarView()
        for u in src[max(0, e.start)..<min(src.count, e.end)] where !(u == " " || u == "\n" || u == "\t" || u == "\r") {
            s.append(u)
        }
        return String(s)
    }

    func fail(_ msg: String, _ e: Expr, hint: String? = nil) -> CELError {
        CELError(msg, line: e.line, column: e.column, hint: hint)
    }

    func noOverload(_ name: String, _ types: [CELType], _ e: Expr, receiver: Bool = false) -> CELError {
        let sig: String
        if receiver, let first = types.first {
            sig = "\(first).\(name)(\(types.dropFirst().map(\.description).joined(separator: ", ")))"
            return fail("no matching overload for '\(sig)'", e)
        }
        sig = "(" + types.map(\.description).joined(separator: ", ") + ")"
        return fail("no matching overload for '\(name)' applied to \(sig)", e)
    }

    func isBoolish(_ t: CELType) -> Bool { t == .bool || t.isDyn }

    mutating func check(_ e: Expr) throws(CELError) -> (IR, CELType) {
        switch e.kind {
        case .literal(let v):
            return (.constant(v), v.runtimeType)
        case .bigInt:
            throw fail("integer literal out of range", e)
        case .ident(let name):
            if let local = scopes.last(where: { $0.name == name }) {
                return (.local(local.slot), local.type)
            }
            if let slot = decls.variableSlot(name) {
                return (.variable(slot), decls.variables[slot].type)
            }
            if let t = typeIdentifiers[name] { return (.constant(.type(t)), .type) }
            if decls.objectTypeID(name) != nil { return (.constant(.type(.object(name))), .type) }
            let candidates = scopes.map(\.name) + decls.variables.map(\.name)
            throw fail("undeclared reference to '\(name)'", e, hint: Suggestion.didYouMean(name, in: candidates))
        case .select(let operand, let field):
            let (ir, t) = try check(operand)
            let path = text(e)
            switch t {
            case .object(let typeName):
                guard let (typeID, decl) = decls.objectDecl(typeName) else {
                    throw fail("unknown object type '\(typeName)'", e)
                }
                guard let idx = decls.fieldIndex(type: typeName, field: field) else {
                    throw fail("type '\(typeName)' has no field '\(field)'", e,
                               hint: Suggestion.didYouMean(field, in: decl.fields.map(\.name)))
                }
                return (.field(ir, index: idx, path: path, type: Int32(typeID)), decl.fields[idx].type)
            case .map(let k, let v):
                guard k == .string || k.isDyn else {
                    throw fail("cannot select field '\(field)' of a map with \(k) keys; use m[key]", e)
                }
                return (.dynSelect(ir, name: field, path: path), v)
            case .dyn:
                return (.dynSelect(ir, name: field, path: path), .dyn)
            default:
                throw fail("type '\(t)' has no fields; cannot select '\(field)'", e)
            }
        case .has(let sel):
            guard case .select(let operand, let field) = sel.kind else { throw fail("has() takes a field selection", e) }
            let (ir, t) = try check(operand)
            switch t {
            case .object(let typeName):
                guard let (_, decl) = decls.objectDecl(typeName) else { throw fail("unknown object type '\(typeName)'", sel) }
                guard let idx = decls.fieldIndex(type: typeName, field: field) else {
                    throw fail("type '\(typeName)' has no field '\(field)'", sel,
                               hint: Suggestion.didYouMean(field, in: decl.fields.map(\.name)))
                }
                return (.hasField(ir, index: idx), .bool)
            case .map(let k, _) where k == .string || k.isDyn:
                return (.hasDyn(ir, name: field), .bool)
            case .dyn:
                return (.hasDyn(ir, name: field), .bool)
            default:
                throw fail("has() cannot test field '\(field)' of type '\(t)'", sel)
            }
        case .index(let target, let index):
            let (ti, tt) = try check(target)
            let (ii, it) = try check(index)
            switch tt {
            case .list(let elem):
                guard it == .int || it == .uint || it.isDyn else { throw noOverload("[]", [tt, it], e) }
                return (.index(ti, ii), elem)
            case .map(let k, let v):
                guard comparable(it, k) else { throw noOverload("[]", [tt, it], e) }
                return (.index(ti, ii), v)
            case .dyn:
                return (.index(ti, ii), .dyn)
            default:
                throw noOverload("[]", [tt, it], e)
            }
        case .list(let elems):
            var irs: [IR] = []
            var t: CELType?
            for el in elems {
                let (i, et) = try check(el)
                irs.append(i)
                t = t.map { join($0, et) } ?? et
            }
            return (.list(irs), .list(t ?? .dyn))
        case .map(let entries):
            var irs: [(IR, IR)] = []
            var kt: CELType?, vt: CELType?
            for (k, v) in entries {
                let (ki, ktype) = try check(k)
                switch ktype {
                case .int, .uint, .bool, .string, .dyn: break
                default: throw fail("unsupported map key type '\(ktype)' (keys are int, uint, bool or string)", k)
                }
                let (vi, vtype) = try check(v)
                irs.append((ki, vi))
                kt = kt.map { join($0, ktype) } ?? ktype
                vt = vt.map { join($0, vtype) } ?? vtype
            }
            return (.map(irs), .map(kt ?? .dyn, vt ?? .dyn))
        case .not(let x):
            let (i, t) = try check(x)
            guard isBoolish(t) else { throw noOverload("!", [t], e) }
            return (.not(i), .bool)
        case .neg(let x):
            let (i, t) = try check(x)
            guard t == .int || t == .double || t.isDyn else { throw noOverload("-", [t], e) }
            return (.neg(i), t)
        case .cond(let c, let a, let b):
            let (ci, ct) = try check(c)
            guard isBoolish(ct) else {
                throw fail("the condition of '?:' must be bool, found \(ct)", e)
            }
            let (ai, at) = try check(a)
            let (bi, bt) = try check(b)
            return (.cond(ci, ai, bi), join(at, bt))
        case .binary(let op, let l, let r):
            let (li, lt) = try check(l)
            let (ri, rt) = try check(r)
            return (try binaryIR(op, li, lt, ri, rt, e), try binaryType(op, lt, rt, e))
        case .call(let target, let name, let args):
            return try checkCall(target, name, args, e)
        case .macro(let kind, let target, let iterVar, let iterLine, let iterColumn, let args):
            let (ri, rt) = try check(target)
            let elemType: CELType
            switch rt {
            case .list(let el): elemType = el
            case .map(let k, _): elemType = k
            case .dyn: elemType = .dyn
            default:
                throw fail("\(kind.rawValue)() needs a list or a map, found \(rt)", e)
            }
            if typeIdentifiers[iterVar] != nil || iterVar == "has" {
                throw CELError("'\(iterVar)' cannot be used as a variable name", line: iterLine, column: iterColumn)
            }
            let slot = localCount
            localCount += 1
            scopes.append((iterVar, slot, elemType))
            defer { scopes.removeLast() }
            switch kind {
            case .all, .exists, .existsOne, .filter:
                let (pi, pt) = try check(args[0])
                guard isBoolish(pt) else {
                    throw fail("the predicate of \(kind.rawValue)() must be bool, found \(pt)", args[0])
                }
                if kind == .filter {
                    return (.comprehension(kind, range: ri, slot: slot, pred: pi, transform: nil), .list(elemType))
                }
                return (.comprehension(kind, range: ri, slot: slot, pred: pi, transform: nil), .bool)
            case .map:
                var pred: IR?
                if args.count == 2 {
                    let (pi, pt) = try check(args[0])
                    guard isBoolish(pt) else {
                        throw fail("the filter of map() must be bool, found \(pt)", args[0])
                    }
                    pred = pi
                }
                let (ti, tt) = try check(args[args.count - 1])
                return (.comprehension(.map, range: ri, slot: slot, pred: pred, transform: ti), .list(tt))
            }
        }
    }

    func binaryIR(_ op: BinaryOp, _ l: IR, _ lt: CELType, _ r: IR, _ rt: CELType, _ e: Expr) throws(CELError) -> IR {
        switch op {
        case .and: return .and(l, r)
        case .or: return .or(l, r)
        default: return .binary(op, l, r)
        }
    }

    func binaryType(_ op: BinaryOp, _ lt: CELType, _ rt: CELType, _ e: Expr) throws(CELError) -> CELType {
        switch op {
        case .and, .or:
            guard isBoolish(lt), isBoolish(rt) else { throw noOverload(op.rawValue, [lt, rt], e) }
            return .bool
        case .eq, .ne:
            guard comparable(lt, rt) else { throw noOverload(op.rawValue, [lt, rt], e) }
            return .bool
        case .lt, .le, .gt, .ge:
            guard orderable(lt, rt) else { throw noOverload(op.rawValue, [lt, rt], e) }
            return .bool
        case .in:
            switch rt {
            case .list(let el):
                guard comparable(lt, el) else { throw noOverload("in", [lt, rt], e) }
            case .map(let k, _):
                guard comparable(lt, k) else { throw noOverload("in", [lt, rt], e) }
            case .dyn: break
            default: throw noOverload("in", [lt, rt], e)
            }
            return .bool
        case .add, .sub, .mul, .div, .mod:
            func supports(_ t: CELType) -> Bool {
                switch (op, t) {
                case (.add, .int), (.add, .uint), (.add, .double), (.add, .string), (.add, .bytes), (.add, .list): return true
                case (.sub, .int), (.sub, .uint), (.sub, .double), (.mul, .int), (.mul, .uint), (.mul, .double),
                     (.div, .int), (.div, .uint), (.div, .double), (.mod, .int), (.mod, .uint): return true
                default: return false
                }
            }
            if lt.isDyn && rt.isDyn { return .dyn }
            if lt.isDyn { guard supports(rt) else { throw noOverload(op.rawValue, [lt, rt], e) }; return rt }
            if rt.isDyn { guard supports(lt) else { throw noOverload(op.rawValue, [lt, rt], e) }; return lt }
            if case .list(let a) = lt, case .list(let b) = rt, op == .add { return .list(join(a, b)) }
            guard lt == rt, supports(lt) else { throw noOverload(op.rawValue, [lt, rt], e) }
            return lt
        }
    }

    mutating func checkCall(_ target: Expr?, _ name: String, _ args: [Expr], _ e: Expr) throws(CELError) -> (IR, CELType) {
        var irs: [IR] = []
        var types: [CELType] = []
        if let target {
            let (i, t) = try check(target)
            irs.append(i)
            types.append(t)
        }
        for a in args {
            let (i, t) = try check(a)
            irs.append(i)
            types.append(t)
        }
        let receiver = target != nil
        let me = self
        let fail = { () -> CELError in me.noOverload(name, types, e, receiver: receiver) }
        func isOne(_ t: CELType, _ allowed: [CELType]) -> Bool { t.isDyn || allowed.contains(t) }

        switch name {
        case "size":
            guard types.count == 1 else { throw fail() }
            switch types[0] {
            case .string, .bytes, .list, .map, .dyn: return (.call(.size, irs), .int)
            default: throw fail()
            }
        case "contains", "startsWith", "endsWith":
            guard receiver, types.count == 2, isOne(types[0], [.string]), isOne(types[1], [.string]) else { throw fail() }
            let b: Builtin = name == "contains" ? .contains : (name == "startsWith" ? .startsWith : .endsWith)
            return (.call(b, irs), .bool)
        case "matches":
            guard types.count == 2, isOne(types[0], [.string]), isOne(types[1], [.string]) else { throw fail() }
            if case .constant(.string(let pattern)) = irs[1] {
                do {
                    _ = try CompiledRegex(pattern)
                } catch {
                    let at = receiver ? args[0] : args[1]
                    throw self.fail(error.message, at)
                }
            }
            return (.call(.matches, irs), .bool)
        case "int", "uint", "double", "string", "bool", "bytes", "type", "dyn":
            guard !receiver, types.count == 1 else { throw fail() }
            let t = types[0]
            switch name {
            case "int":
                guard isOne(t, [.int, .uint, .double, .string]) else { throw fail() }
                return (.call(.toInt, irs), .int)
            case "uint":
                guard isOne(t, [.int, .uint, .double, .string]) else { throw fail() }
                return (.call(.toUint, irs), .uint)
            case "double":
                guard isOne(t, [.int, .uint, .double, .string]) else { throw fail() }
                return (.call(.toDouble, irs), .double)
            case "string":
                guard isOne(t, [.int, .uint, .double, .string, .bytes, .bool]) else { throw fail() }
                return (.call(.toString, irs), .string)
            case "bool":
                guard isOne(t, [.bool, .string]) else { throw fail() }
                return (.call(.toBool, irs), .bool)
            case "bytes":
                guard isOne(t, [.bytes, .string]) else { throw fail() }
                return (.call(.toBytes, irs), .bytes)
            case "type":
                return (.call(.typeOf, irs), .type)
            default:  // dyn
                return (irs[0], .dyn)
            }
        default:
            throw self.fail("undeclared reference to function '\(name)'", e,
                            hint: Suggestion.didYouMean(name, in: functionNames))
        }
    }
}
