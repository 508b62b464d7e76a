enum BinaryOp: String {
    case add = "+", sub = "-", mul = "*", div = "/", mod = "%"
    case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">="
    case `in` = "in"
    case and = "&&", or = "||"
}

enum MacroKind: String {
    case all, exists, existsOne = "exists_one", map, filter
}

/// Parsed expression. `line`/`column` is where errors about this node are reported (the
/// operator, the field name, the function name); `start..<end` is its whole source range.
struct Expr {
    indirect enum Kind {
        case literal(Value)
        /// 9223372036854775808 not (yet) negated.
        case bigInt
        case ident(String)
        case select(Expr, String)
        case index(Expr, Expr)
        case call(target: Expr?, name: String, args: [Expr])
        case list([Expr])
        case map([(Expr, Expr)])
        case not(Expr)
        case neg(Expr)
        case binary(BinaryOp, Expr, Expr)
        case cond(Expr, Expr, Expr)
        case has(Expr)
        /// target.kind(iterVar, args…)
        case macro(MacroKind, target: Expr, iterVar: String, iterLine: Int, iterColumn: Int, args: [Expr])
    }
    var kind: Kind
    var line: Int
    var column: Int
    var start: Int
    var end: Int
}

struct Parser {
    var tokens: [Token]
    var i = 0
    var depth = 0
    let maxDepth = 200

    init(_ source: String) throws(CELError) {
        var lexer = Lexer(source)
        tokens = try lexer.tokenize()
    }

    var cur: Token { tokens[i] }

    func isPunct(_ p: String) -> Bool {
        if case .punct(let q) = cur.kind, q == p { return true }
        return false
    }

    mutating func eat(_ p: String) -> Bool {
        if isPunct(p) { i += 1; return true }
        return false
    }

    func describe(_ t: Token) -> String {
        switch t.kind {
        case .eof: return "end of expression"
        case .punct(let p): return "'\(p)'"
        case .ident(let n): return "'\(n)'"
        case .int, .uint, .double: return "number"
        case .string: return "string"
        case .bytes: return "bytes"
        }
    }

    func err(_ msg: String, _ t: Token) -> CELError { CELError(msg, line: t.line, column: t.column) }

    mutating func expect(_ p: String, _ context: String = "") throws(CELError) -> Token {
        guard isPunct(p) else {
            throw err("expected '\(p)'\(context), found \(describe(cur))", cur)
        }
        let t = cur
        i += 1
        return t
    }

    mutating func parseAll() throws(CELError) -> Expr {
        if case .eof = cur.kind { throw err("empty expression", cur) }
        let e = try parseExpr()
        if case .eof = cur.kind { return e }
        throw err("unexpected \(describe(cur)) after the end of the expression", cur)
    }

    mutating func parseExpr() throws(CELError) -> Expr {
        depth += 1
        defer { depth -= 1 }
        if depth > maxDepth { throw err("expression nested too deeply", cur) }
        let c = try parseOr()
        if isPunct("?") {
            let q = cur
            i += 1
            let a = try parseOr()
            _ = try expect(":", " in conditional expression")
            let b = try parseExpr()
            return Expr(kind: .cond(c, a, b), line: q.line, column: q.column, start: c.start, end: b.end)
        }
        return c
    }

    mutating func parseOr() throws(CELError) -> Expr {
        var l = try parseAnd()
        while isPunct("||") {
            let op = cur
            i += 1
            let r = try parseAnd()
            l = Expr(kind: .binary(.or, l, r), line: op.line, column: op.column, start: l.start, end: r.end)
        }
        return l
    }

    mutating func parseAnd() throws(CELError) -> Expr {
        var l = try parseRelation()
        while isPunct("&&") {
            let op = cur
            i += 1
            let r = try parseRelation()
            l = Expr(kind: .binary(.and, l, r), line: op.line, column: op.column, start: l.start, end: r.end)
        }
        return l
    }

    mutating func parseRelation() throws(CELError) -> Expr {
        var l = try parseAddition()
        while true {
            let op: BinaryOp
            switch cur.kind {
            case .punct("<"): op = .lt
            case .punct("<="): op = .le
            case .punct(">"): op = .gt
            case .punct(">="): op = .ge
            case .punct("=="): op = .eq
            case .punct("!="): op = .ne
            case .ident("in"): op = .in
            default: return l
            }
            let t = cur
            i += 1
            let r = try parseAddition()
            l = Expr(kind: .binary(op, l, r), line: t.line, column: t.column, start: l.start, end: r.end)
        }
    }

    mutating func parseAddition() throws(CELError) -> Expr {
        var l = try parseMultiplication()
        while true {
            let op: BinaryOp
            switch cur.kind {
            case .punct("+"): op = .add
            case .punct("-"): op = .sub
            default: return l
            }
            let t = cur
            i += 1
            let r = try parseMultiplication()
            l = Expr(kind: .binary(op, l, r), line: t.line, column: t.column, start: l.start, end: r.end)
        }
    }

    mutating func parseMultiplication() throws(CELError) -> Expr {
        var l = try parseUnary()
        while true {
            let op: BinaryOp
            switch cur.kind {
            case .punct("*"): op = .mul
            case .punct("/"): op = .div
            case .punct("%"): op = .mod
            default: return l
            }
            let t = cur
            i += 1
            let r = try parseUnary()
            l = Expr(kind: .binary(op, l, r), line: t.line, column: t.column, start: l.start, end: r.end)
        }
    }

    mutating func parseUnary() throws(CELError) -> Expr {
        if isPunct("!") || isPunct("-") {
            var ops: [Token] = []
            let p = cur.kind
            while cur.kind == p { ops.append(cur); i += 1 }
            var e = try parseMember()
            var rest = ops[...]
            if p == .punct("-"), let last = ops.last {
                // Fold the innermost minus into a numeric literal: -9223372036854775808 is valid.
                switch e.kind {
                case .bigInt:
                    e = Expr(kind: .literal(.int(Int64.min)), line: last.line, column: last.column, start: last.start, end: e.end)
                    rest = ops.dropLast()
                case .literal(.int(let v)) where v != Int64.min:
                    e = Expr(kind: .literal(.int(-v)), line: last.line, column: last.column, start: last.start, end: e.end)
                    rest = ops.dropLast()
                case .literal(.double(let d)):
                    e = Expr(kind: .literal(.double(-d)), line: last.line, column: last.column, start: last.start, end: e.end)
                    rest = ops.dropLast()
                default: break
                }
            }
            for t in rest.reversed() {
                e = Expr(kind: p == .punct("!") ? .not(e) : .neg(e), line: t.line, column: t.column, start: t.start, end: e.end)
            }
            return e
        }
        return try parseMember()
    }

    mutating func parseArgs(_ close: String) throws(CELError) -> [Expr] {
        var args: [Expr] = []
        if eat(close) { return args }
        while true {
            args.append(try parseExpr())
            if eat(close) { return args }
            if isPunct(",") {
                i += 1
                if eat(close) { return args }  // trailing comma
                continue
            }
            throw err("expected ',' or '\(close)', found \(describe(cur))", cur)
        }
    }

    mutating func parseMember() throws(CELError) -> Expr {
        var e = try parsePrimary()
        while true {
            if isPunct(".") {
                i += 1
                guard case .ident(let name) = cur.kind else {
                    throw err("expected a field or method name after '.', found \(describe(cur))", cur)
                }
                let nt = cur
                i += 1
                if isPunct("(") {
                    i += 1
                    let args = try parseArgs(")")
                    let end = tokens[i - 1].end
                    e = try makeReceiverCall(e, name, nt, args, end)
                } else {
                    e = Expr(kind: .select(e, name), line: nt.line, column: nt.column, start: e.start, end: nt.end)
                }
            } else if isPunct("[") {
                let t = cur
                i += 1
                let idx = try parseExpr()
                let close = try expect("]", " to close the index")
                e = Expr(kind: .index(e, idx), line: t.line, column: t.column, start: e.start, end: close.end)
            } else if isPunct("{") {
                throw err("message construction (Type{field: value}) is not supported", cur)
            } else {
                return e
            }
        }
    }

    mutating func makeReceiverCall(_ target: Expr, _ name: String, _ nt: Token, _ args: [Expr], _ end: Int) throws(CELError) -> Expr {
        let macro: MacroKind?
        switch (name, args.count) {
        case ("all", 2): macro = .all
        case ("exists", 2): macro = .exists
        case ("exists_one", 2): macro = .existsOne
        case ("map", 2), ("map", 3): macro = .map
        case ("filter", 2): macro = .filter
        default: macro = nil
        }
        if let macro {
            guard case .ident(let v) = args[0].kind else {
                throw CELError("the first argument of \(name)() must be a simple variable name", line: args[0].line, column: args[0].column)
            }
            return Expr(kind: .macro(macro, target: target, iterVar: v, iterLine: args[0].line, iterColumn: args[0].column, args: Array(args.dropFirst())),
                        line: nt.line, column: nt.column, start: target.start, end: end)
        }
        if ["all", "exists", "exists_one", "map", "filter"].contains(name) {
            throw err("\(name)() takes \(name == "map" ? "2 or 3" : "2") arguments: \(name)(variable, \(name == "map" ? "expression" : "predicate"))", nt)
        }
        return Expr(kind: .call(target: target, name: name, args: args), line: nt.line, column: nt.column, start: target.start, end: end)
    }

    mutating func parsePrimary() throws(CELError) -> Expr {
        let t = cur
        func lit(_ v: Value) -> Expr { Expr(kind: .literal(v), line: t.line, column: t.column, start: t.start, end: t.end) }
        switch t.kind {
        case .int(let v, let overflow):
            i += 1
            if !overflow && v == UInt64(Int64.max) + 1 {
                return Expr(kind: .bigInt, line: t.line, column: t.column, start: t.start, end: t.end)
            }
            if overflow || v > UInt64(Int64.max) { throw err("integer literal out of range", t) }
            return lit(.int(Int64(v)))
        case .uint(let v): i += 1; return lit(.uint(v))
        case .double(let d): i += 1; return lit(.double(d))
        case .string(let s): i += 1; return lit(.string(s))
        case .bytes(let b): i += 1; return lit(.bytes(b))
        case .ident(let name):
            i += 1
            switch name {
            case "true": return lit(.bool(true))
            case "false": return lit(.bool(false))
            case "null": return lit(.null)
            case "in": throw err("unexpected 'in'", t)
            default: break
            }
            if reservedWords.contains(name) { throw err("'\(name)' is a reserved word", t) }
            if isPunct("(") {
                i += 1
                let args = try parseArgs(")")
                let end = tokens[i - 1].end
                if name == "has" {
                    guard args.count == 1, case .select = args[0].kind else {
                        throw err("has() takes one field selection, as in has(m.age)", t)
                    }
                    return Expr(kind: .has(args[0]), line: t.line, column: t.column, start: t.start, end: end)
                }
                return Expr(kind: .call(target: nil, name: name, args: args), line: t.line, column: t.column, start: t.start, end: end)
            }
            return Expr(kind: .ident(name), line: t.line, column: t.column, start: t.start, end: t.end)
        case .punct("."):
            // Leading dot: root-scoped name.
            i += 1
            guard case .ident = cur.kind else { throw err("expected a name after '.'", cur) }
            var e = try parsePrimary()
            e.start = t.start
            return e
        case .punct("("):
            i += 1
            var e = try parseExpr()
            let close = try expect(")", " to close '('")
            e.start = t.start
            e.end = close.end
            return e
        case .punct("["):
            i += 1
            let elems = try parseArgs("]")
            return Expr(kind: .list(elems), line: t.line, column: t.column, start: t.start, end: tokens[i - 1].end)
        case .punct("{"):
            i += 1
            var entries: [(Expr, Expr)] = []
            if !eat("}") {
                while true {
                    let k = try parseExpr()
                    _ = try expect(":", " between map key and value")
                    let v = try parseExpr()
                    entries.append((k, v))
                    if eat("}") { break }
                    if isPunct(",") {
                        i += 1
                        if eat("}") { break }
                        continue
                    }
                    throw err("expected ',' or '}', found \(describe(cur))", cur)
                }
            }
            return Expr(kind: .map(entries), line: t.line, column: t.column, start: t.start, end: tokens[i - 1].end)
        case .eof:
            throw err("unexpected end of expression", t)
        default:
            throw err("unexpected \(describe(t))", t)
        }
    }
}
