/// A parsed, type-checked and compiled expression. Immutable and safe to evaluate from many
/// threads at once (each evaluation has its own stack-allocated macro variables).
public final class Program: Sendable {
    public let resultType: CELType
    public let source: String
    let root: VF
    let rootBool: BF?
    let localCount: Int
    let cacheCount: Int
    let declarations: Declarations
    /// The checked expression, for the column kernels (`VectorEval.swift`).
    let ir: IR

    /// Parse, type-check and compile. Throws `CELError` with the position of the problem.
    public convenience init(_ source: String, declarations: Declarations, expecting: CELType? = nil) throws {
        try self.init(source, declarations: declarations, expecting: expecting, typedPaths: true)
    }

    /// `typedPaths` false compiles without the typed closures (`TypedCompiler.swift`), so tests
    /// can check that both give the same results and errors.
    init(_ source: String, declarations: Declarations, expecting: CELType? = nil, typedPaths: Bool) throws {
        self.source = source
        self.declarations = declarations
        let (ir, type, locals) = try Program.checkTyped(source, declarations)
        if let expecting, !isAssignable(type, to: expecting) {
            throw CELError("expected \(expecting), found \(type)", line: 1, column: 1)
        }
        resultType = type
        self.ir = ir
        let compiler = Compiler(decls: declarations, localCount: locals)
        compiler.typedPaths = typedPaths
        root = compiler.value(ir)
        rootBool = (type == .bool || type.isDyn) ? compiler.bool(ir) : nil
        localCount = locals + compiler.cacheCount
        cacheCount = compiler.cacheCount
    }

    static func checkTyped(_ source: String, _ decls: Declarations) throws(CELError) -> (IR, CELType, Int) {
        var parser = try Parser(source)
        let ast = try parser.parseAll()
        var checker = Checker(decls: decls, source: source)
        let (ir, type) = try checker.check(ast)
        return (ir, type, checker.localCount)
    }

    /// Parse and type-check only; returns the result type.
    public static func check(_ source: String, declarations: Declarations) throws -> CELType {
        try checkTyped(source, declarations).1
    }

    /// Stand-ins for the locals of an expression without macros or cached values: `Ctx`
    /// needs pointers, but such an expression never reads or writes through them.
    nonisolated(unsafe) static let noLocals: UnsafeMutablePointer<Value> = {
        let p = UnsafeMutablePointer<Value>.allocate(capacity: 1)
        p.initialize(to: .null)
        return p
    }()
    nonisolated(unsafe) static let noFlags: UnsafeMutablePointer<Bool> = {
        let p = UnsafeMutablePointer<Bool>.allocate(capacity: 1)
        p.initialize(to: false)
        return p
    }()

    @inline(__always)
    func run<R>(_ activation: any Activation, _ body: (Ctx) throws(EvalError) -> R) throws(EvalError) -> R {
        if localCount == 0 {
            return try body(Ctx(act: activation, locals: Program.noLocals, cached: Program.noFlags))
        }
        let n = localCount, c = max(cacheCount, 1)
        return try withUnsafeTemporaryAllocation(of: Value.self, capacity: n) { (buf) throws(EvalError) -> R in
            buf.initialize(repeating: .null)
            defer { buf.baseAddress!.deinitialize(count: n) }
            return try withUnsafeTemporaryAllocation(of: Bool.self, capacity: c) { (flags) throws(EvalError) -> R in
                flags.initialize(repeating: false)
                return try body(Ctx(act: activation, locals: buf.baseAddress!, cached: flags.baseAddress!))
            }
        }
    }

    /// Evaluates the expression; throws `EvalError`.
    public func evaluate(_ activation: some Activation) throws -> Value {
        try evaluateTyped(activation)
    }

    /// `evaluate` with a typed error.
    public func evaluateTyped(_ activation: some Activation) throws(EvalError) -> Value {
        if localCount == 0 { return try root(Ctx(act: activation, locals: Program.noLocals, cached: Program.noFlags)) }
        let root = self.root
        return try run(activation) { (ctx) throws(EvalError) -> Value in try root(ctx) }
    }

    /// Evaluates a boolean expression; `EvalError` when the result is not a bool.
    public func evaluateBool(_ activation: some Activation) throws -> Bool {
        try evaluateBoolTyped(activation)
    }

    public func evaluateBoolTyped(_ activation: some Activation) throws(EvalError) -> Bool {
        if let rootBool {
            // Most conditions have no macro: no frame to set up, no closure around the call.
            if localCount == 0 { return try rootBool(Ctx(act: activation, locals: Program.noLocals, cached: Program.noFlags)) }
            return try run(activation) { (ctx) throws(EvalError) -> Bool in try rootBool(ctx) }
        }
        let v = try evaluateTyped(activation)
        guard case .bool(let b) = v else {
            throw EvalError(.noMatchingOverload, "expected bool, found \(CEL.typeName(v))")
        }
        return b
    }

    /// Evaluates the expression once per row `0..<count` in a single run (one context, one
    /// frame of macro variables): `select(i)` points the activation at row `i` (or returns
    /// false to skip the row: no evaluation, no call of `body`), then
    /// `body(i, result)` takes the row's value or error and returns false to stop. Each row
    /// is a fresh evaluation (loop-invariant values cached inside macros are recomputed), so
    /// the results are those of `count` separate `evaluate` calls.
    public func evaluateEach(_ activation: some Activation, count: Int, select: (Int) -> Bool,
                             _ body: (Int, Result<Value, EvalError>) -> Bool) {
        eachRow(activation, count: count, select: select, root, body)
    }

    /// One run over rows `0..<count` of `root` (the loop of `evaluateEach` and
    /// `evaluateBoolEach`): macro caches are reset before each row.
    @inline(__always)
    private func eachRow<T>(_ activation: some Activation, count: Int, select: (Int) -> Bool,
                            _ root: (Ctx) throws(EvalError) -> T, _ body: (Int, Result<T, EvalError>) -> Bool) {
        guard count > 0 else { return }
        let nCached = cacheCount
        try? run(activation) { (ctx) -> Void in
            for i in 0..<count {
                if !select(i) { continue }
                if nCached > 0 { ctx.cached.update(repeating: false, count: nCached) }
                let r: Result<T, EvalError>
                do throws(EvalError) { r = .success(try root(ctx)) } catch { r = .failure(error) }
                if !body(i, r) { return }
            }
        }
    }

    /// `evaluateEach` for a boolean expression (`evaluateBool` per row).
    public func evaluateBoolEach(_ activation: some Activation, count: Int, select: (Int) -> Bool,
                                 _ body: (Int, Result<Bool, EvalError>) -> Bool) {
        guard count > 0 else { return }
        guard let rootBool else {
            evaluateEach(activation, count: count, select: select) { i, r in
                switch r {
                case .success(.bool(let b)): return body(i, .success(b))
                case .success(let v): return body(i, .failure(EvalError(.noMatchingOverload, "expected bool, found \(CEL.typeName(v))")))
                case .failure(let e): return body(i, .failure(e))
                }
            }
            return
        }
        eachRow(activation, count: count, select: select, rootBool, body)
    }

    /// The name of the type of an evaluation result: the checked type, or where that is (or
    /// contains) `dyn`, the run-time type of the value.
    public func typeName(of value: Value) -> String {
        resultType.containsDyn ? inferType(value, declarations).description : resultType.description
    }
}

/// The most precise type of a run-time value (element types joined over the elements).
public func inferType(_ value: Value, _ decls: Declarations = Declarations()) -> CELType {
    switch value {
    case .list(let l):
        if case .rows(let t, _, _) = l { return .list(.object(decls.objectTypeName(t))) }
        var t: CELType?
        for e in l.elements { t = t.map { join($0, inferType(e, decls)) } ?? inferType(e, decls) }
        return .list(t ?? .dyn)
    case .map(let m):
        var k: CELType?, v: CELType?
        for (a, b) in zip(m.keys, m.values) {
            k = k.map { join($0, inferType(a, decls)) } ?? inferType(a, decls)
            v = v.map { join($0, inferType(b, decls)) } ?? inferType(b, decls)
        }
        return .map(k ?? .dyn, v ?? .dyn)
    default:
        return value.runtimeType(decls)
    }
}

/// An activation over an array of variable values (by slot), for hosts without objects and
/// for tests. Fields come from `fields`, if given.
public final class ValueActivation: Activation {
    public var values: [Value]
    public var fields: ((Int, ObjectRef) -> Value?)?

    public init(_ values: [Value], fields: ((Int, ObjectRef) -> Value?)? = nil) {
        self.values = values
        self.fields = fields
    }

    public func variable(_ slot: Int) -> Value { slot < values.count ? values[slot] : .null }
    public func field(_ field: Int, of object: ObjectRef) -> Value? { fields?(field, object) }
}
