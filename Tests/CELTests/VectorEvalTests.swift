@testable import CEL
import Testing

/// A small batch held twice: as rows for the scalar path (an `Activation` per household or
/// member) and as columns for the kernels (`VectorHost`).
final class ColumnFixture: VectorHost, Activation {
    static let levels = ["none", "primary", "lower", "upper", "college"]
    static let devices = ["tv", "radio", "phone", "computer"]
    let decls: Declarations
    /// rows[type][row][field]: 0 households, 1 members, 2 params.
    let rows: [[[Value?]]]
    let householdCount: Int
    let memberRanges: [Range<Int>]
    let memberHousehold: [Int32]
    var household = 0
    var member = 0

    init() {
        var d = Declarations()
        d.declareObjectType(ObjectTypeDecl(name: "Household", fields: [
            ("area", .double), ("income", .double), ("flag_a", .bool), ("flag_b", .bool), ("flag_c", .bool), ("n", .int),
            ("devices", .list(.string)),
        ]))
        d.declareObjectType(ObjectTypeDecl(name: "Member", fields: [
            ("age", .int), ("months", .int), ("insured", .bool), ("level", .string), ("weight", .double),
        ]))
        d.declareObjectType(ObjectTypeDecl(name: "Params", fields: [
            ("min_age", .int), ("max_age", .int), ("share", .double), ("levels", .list(.string)), ("limit", .int),
            ("screens", .list(.string)),
        ]))
        d.declareCodes(Self.levels, type: "Member", field: "level")
        d.declareVariable("h", .object("Household"))
        d.declareVariable("members", .list(.object("Member")))
        d.declareVariable("params", .object("Params"))
        d.declareVariable("m", .object("Member"))
        decls = d
        func set(_ xs: [String]) -> Value { .list(.array(xs.map(Value.string))) }
        let households: [[Value?]] = [
            [.double(40.5), .double(1_500_000), .bool(true), .bool(false), nil, .int(3), set(["tv", "phone"])],
            [.double(12), .double(900_000), .bool(false), .bool(false), .bool(false), .int(-2), set([])],
            [nil, nil, nil, .bool(true), .bool(true), nil, nil],
            [.double(-0.5), .double(.nan), .bool(true), .bool(true), .bool(true), .int(9_223_372_036_854_775_807), set(["radio"])],
            [.double(30), .double(2_000_000), .bool(false), .bool(true), nil, .int(0), set(["computer", "tv"])],
        ]
        let members: [[Value?]] = [
            [.int(45), .int(543), .bool(true), .string("upper"), .double(61.5)],
            [.int(17), .int(210), .bool(false), .string("lower"), .double(.nan)],
            [.int(6), .int(75), .bool(true), .string("primary"), .double(20)],
            [nil, nil, nil, nil, nil],
            [.int(30), .int(366), .bool(false), .string("upper"), .double(70)],
            [.int(16), .int(192), nil, .string("none"), .double(50)],
            [.int(0), .int(0), .bool(true), nil, nil],
            [.int(90), .int(1080), .bool(false), .string("college"), .double(-0.0)],
        ]
        // Household 2 has no members.
        memberRanges = [0..<3, 3..<4, 4..<4, 4..<7, 7..<8]
        var owner: [Int32] = []
        for (h, r) in memberRanges.enumerated() { owner += r.map { _ in Int32(h) } }
        memberHousehold = owner
        householdCount = households.count
        let params: [Value?] = [.int(16), .int(30), .double(0.5), set(["upper", "college"]), .int(2), set(["tv", "computer"])]
        rows = [households, members, [params]]
    }

    // MARK: Activation (one household, one member)

    func variable(_ slot: Int) -> Value {
        switch slot {
        case 0: return .object(ObjectRef(type: 0, row: Int32(household)))
        case 1: return .list(.rows(type: 1, start: Int32(memberRanges[household].lowerBound), count: Int32(memberRanges[household].count)))
        case 2: return .object(ObjectRef(type: 2, row: 0))
        default: return .object(ObjectRef(type: 1, row: Int32(member)))
        }
    }
    func field(_ field: Int, of object: ObjectRef) -> Value? { rows[Int(object.type)][Int(object.row)][field] }

    // MARK: VectorHost

    func binding(_ slot: Int) -> VecBinding? {
        switch slot {
        case 0: return .householdObject(0)
        case 1: return .memberList(1)
        case 2: return .constants
        default: return .memberObject(1)
        }
    }
    func constant(field: Int) -> Value? { rows[2][0][field] }
    func present(type: Int32, field: Int) -> VecColumn? { nil }
    func column(type: Int32, field: Int) -> VecColumn? {
        let table = rows[Int(type)]
        let declared = decls.fieldType(typeID: type, field: field)!
        let kind: VecKind
        switch declared {
        case .int: kind = .int
        case .double: kind = .double
        case .bool: kind = .bool
        case .string: kind = .code(Self.levels)
        default: kind = .codeSet(Self.devices)
        }
        let values: [Int64] = table.map { row in
            guard let v = row[field] else { return VecColumn.unknown }
            if case .list(.array(let items)) = v {
                var mask: Int64 = 0
                for case .string(let s) in items { mask |= 1 << Int64(Self.devices.firstIndex(of: s)!) }
                return mask
            }
            return VecEvaluator.raw(v, kind)!
        }
        return VecColumn(level: type == 0 ? .household : .member, kind: kind, values: values, unknownIsAbsent: true)
    }
}

@Suite struct VectorEvalTests {
    /// Expressions over a household (`h`, `members`, `params`).
    static let householdExpressions = [
        "members.exists(x, x.age < 10)",
        "members.all(x, x.insured)",
        "members.exists(x, x.insured)",
        "members.exists_one(x, x.level == 'upper')",
        "members.exists(x, x.age > h.n * 10)",
        "double(members.filter(x, x.insured).size()) / double(size(members)) > params.share",
        "members.filter(x, x.age >= params.min_age).size() >= params.limit",
        "size(members) >= params.limit",
        "[h.flag_a, h.flag_b, h.flag_c].filter(x, !x).size() >= 1",
        "[h.flag_a, h.flag_b].exists(x, x)",
        "[h.flag_a, h.flag_c].all(x, x)",
        "h.flag_c || h.flag_a",
        "h.flag_c && h.flag_b",
        "h.flag_b && h.flag_c",
        "h.flag_b || h.flag_c || h.flag_a",
        "h.area < 8.0 * double(size(members))",
        "h.area == 0.0 || h.area / 0.0 > 1.0",
        "has(h.devices) && h.devices.exists(d, d in params.screens)",
        "!(has(h.devices) && h.devices.exists(d, d in params.screens)) && !h.flag_b",
        "h.devices.all(d, d != 'tv')",
        "h.devices.exists(d, d == 'radio' && h.flag_a)",
        "h.devices.exists_one(d, d in params.screens)",
        "h.devices.all(d, d in params.screens)",
        "h.devices.filter(d, d in params.screens).size() >= 1",
        "h.devices.filter(d, !(d in params.screens)).size() == 2",
        "[h.flag_a, h.n > 2, h.flag_c].exists_one(x, x)",
        "[h.flag_a, h.flag_c, h.n > 2].filter(x, x).size() == 2",
        "[h.flag_c, h.flag_a].exists(x, !x)",
        "size(h.devices) > 1",
        "h.income <= 1000000.0 ? h.n > 2 : h.flag_a",
        "has(h.income) ? h.income > 1.0 : h.area > 1.0",
        "-h.n < -2",
        "h.n + 1 > 0",
        "h.n * 2 > 0",
        "h.n % 2 == 0",
        "h.n / 0 == 1 && h.flag_a",
        "!has(h.flag_c)",
        "h.income != h.income",
        "double(h.n) > h.area",
        "int(h.area) > 10",
        "h.n > 2 ? true : h.area > 20.0",
        "(h.n > 2 ? params.min_age : params.max_age) > 20",
        "params.limit > 1 && h.flag_a",
        "params.limit > 5 && h.flag_c",
        "true || h.flag_c",
        "h.flag_c && false",
    ]

    /// Expressions over a member (`m` too).
    static let memberExpressions = [
        "m.age >= params.min_age && m.age <= params.max_age",
        "m.age >= params.min_age || m.insured",
        "!m.insured && m.age > 3",
        "m.insured == true",
        "m.insured != true",
        "m.insured == false",
        "m.insured != false",
        "!(m.insured == false) && m.age > 3",
        "m.age < m.months / 12",
        "m.age <= m.months / 12",
        "m.age > m.months / 12",
        "m.age >= m.months / 12",
        "m.age == m.months / 12",
        "m.age != m.months / 12",
        "m.level == 'upper'",
        "m.level != 'lower'",
        "m.level in params.levels",
        "m.level in ['primary', 'upper']",
        "m.level < 'n'",
        "m.age >= params.min_age && !(m.level in params.levels)",
        "m.level in (m.age < 18 ? params.levels : ['lower'])",
        "m.months < (m.level == 'upper' ? params.max_age * 12 : params.min_age * 12)",
        "m.age < (m.insured ? params.min_age : params.max_age)",
        "m.age < 16 && (m.level == 'primary' || m.insured)",
        "m.weight > 60.0",
        "m.weight <= 60.0",
        "m.weight / 2.0 < 30.0",
        "m.weight * m.weight > 2500.0",
        "m.weight - 0.5 <= 59.5",
        "m.weight + m.weight / 0.0 > 1.0",
        "m.age * 2 + 1 > 40",
        "double(m.age) > m.weight",
        "m.age / 0 > 1",
        "m.age * 9223372036854775807 > 1",
        "m.age % 5 == 0",
        "has(m.age) && m.age > 10",
        "!has(m.level)",
        "m.age > 10 ? m.insured : !m.insured",
        "h.n > 2 && m.insured",
        "m.insured || h.flag_c",
        "h.flag_c && m.age > 100",
        "members.exists(x, x.age > 40) && m.insured",
        "double(members.filter(x, x.insured).size()) / double(size(members)) > params.share || m.age > 60",
        "m.age / 0 > 1 || h.flag_c || m.insured",
        "h.flag_c && m.age / 0 > 1 && !h.flag_a",
        "m.age > 3 && (h.flag_c || m.insured || m.age / 0 > 1) && !m.insured",
        "m.insured && m.age > 40",
        "m.age > 3 && m.age < 60 && m.months != 100",
        "!m.insured || m.age <= 5",
    ]

    /// Expressions the kernels do not cover: they give no columns.
    static let uncovered = [
        "members.exists(x, x.age > m.age)",
        "members.map(x, x.age).exists(a, a > 40)",
        "string(m.age) == '6'",
        "m.level + 'x' == 'upperx'",
    ]

    static func scalar(_ p: Program, _ f: ColumnFixture) -> Result<Value, EvalError> {
        do throws(EvalError) { return .success(try p.evaluateTyped(f)) } catch { return .failure(error) }
    }

    /// Each known row equals the scalar value; each scalar error is an unknown row. Returns
    /// the number of unknown rows whose scalar value is not an error (harmless, but counted).
    static func compare(_ src: String, level: VecLevel, _ f: ColumnFixture) throws -> Int {
        let p = try Program(src, declarations: f.decls)
        let col = try #require(p.columns(f, level: level), "\(src): not covered")
        let rows = level == .household ? f.householdCount : f.memberHousehold.count
        #expect(col.values.count == rows && col.level == level, "\(src)")
        var spurious = 0
        for row in 0..<rows {
            if level == .household { f.household = row } else { f.member = row; f.household = Int(f.memberHousehold[row]) }
            let want = scalar(p, f)
            let got = col.values[row]
            switch want {
            case .failure(let e):
                #expect(got == VecColumn.unknown, "\(src), row \(row): scalar error \(e.message), kernels \(got)")
            case .success(let v):
                if got == VecColumn.unknown { spurious += 1; continue }
                #expect(VecEvaluator.value(got, col.kind) == v, "\(src), row \(row): scalar \(v), kernels \(got)")
            }
        }
        return spurious
    }

    @Test(arguments: householdExpressions)
    func householdKernelsMatchScalar(_ src: String) throws {
        let spurious = try Self.compare(src, level: .household, ColumnFixture())
        #expect(spurious == 0, "\(src): \(spurious) rows unknown though the scalar path has a value")
    }

    @Test(arguments: memberExpressions)
    func memberKernelsMatchScalar(_ src: String) throws {
        let spurious = try Self.compare(src, level: .member, ColumnFixture())
        // -0.0 shares its bits with the unknown marker: a weight of -0.0 is unknown to the kernels.
        #expect(spurious <= (src.contains("weight") ? 1 : 0), "\(src): \(spurious) rows unknown though the scalar path has a value")
    }

    @Test(arguments: uncovered)
    func uncoveredExpressionsGiveNoColumns(_ src: String) throws {
        let f = ColumnFixture()
        let p = try Program(src, declarations: f.decls)
        #expect(p.columns(f, level: .member) == nil, "\(src)")
    }

    /// `false && <error>` is false and `true || <error>` true whatever the order, as CEL
    /// absorbs errors; the kernels know these rows.
    @Test func absorbedErrorsAreKnown() throws {
        let f = ColumnFixture()
        let p = try Program("h.flag_c && h.flag_b", declarations: f.decls)
        let col = try #require(p.columns(f, level: .household))
        // Household 0: flag_c missing, flag_b false → false; household 4: flag_c missing, flag_b true → unknown.
        #expect(col.values[0] == 0)
        #expect(col.values[4] == VecColumn.unknown)
    }
}

/// The fixture's columns, each made once and handed out again on every request (as
/// `BatchColumns` caches its survey columns): kernels that write their results over an
/// operand's buffer must never write over these.
final class CachingColumns: WrappingHost {
    let base: ColumnFixture
    var cache: [Int: VecColumn] = [:]
    init(_ base: ColumnFixture) { self.base = base }
    func column(type: Int32, field: Int) -> VecColumn? {
        let key = Int(type) * 1000 + field
        if let c = cache[key] { return c }
        let c = base.column(type: type, field: field)
        cache[key] = c
        return c
    }
}

@Suite struct VectorInPlaceTests {
    /// Every expression of the suites above, evaluated twice over one host that hands out the
    /// same column buffers each time: the same rows as over fresh columns, both times, and the
    /// host's columns unchanged.
    @Test func kernelsLeaveHostColumnsAlone() throws {
        let f = ColumnFixture()
        let host = CachingColumns(f)
        let all = VectorEvalTests.householdExpressions.map { ($0, VecLevel.household) }
            + VectorEvalTests.memberExpressions.map { ($0, VecLevel.member) } + Self.testedOperands.map { ($0.0, $0.1) }
            + Self.computedAgainstConstant
        for (src, level) in all + all {
            let p = try Program(src, declarations: f.decls)
            let want = try #require(p.columns(f, level: level), "\(src)")
            let got = try #require(p.columns(host, level: level), "\(src)")
            #expect(got.values == want.values, "\(src)")
            #expect(got.unknownIsError == want.unknownIsError && got.unknownIsMissing == want.unknownIsMissing, "\(src)")
            for (key, c) in host.cache {
                let fresh = f.column(type: Int32(key / 1000), field: key % 1000)!
                #expect(c.values == fresh.values, "\(src) changed column \(key)")
            }
        }
    }

    /// An int column against an int constant, one loop per operator (missing ages included).
    @Test(arguments: ["m.age == 16", "m.age != 16", "m.age < 16", "m.age <= 16", "m.age > 16", "m.age >= 16",
                      "m.age >= params.min_age", "m.months != params.limit", "m.age == 16 || !(m.age != 30)"])
    func intAgainstConstant(_ src: String) throws {
        let spurious = try VectorEvalTests.compare(src, level: .member, ColumnFixture())
        #expect(spurious == 0, "\(src)")
    }

    @Test(arguments: ["h.n == 3", "h.n != 3", "h.n < 0", "h.n <= 0", "h.n > 0", "h.n >= 9223372036854775807"])
    func householdIntAgainstConstant(_ src: String) throws {
        let spurious = try VectorEvalTests.compare(src, level: .household, ColumnFixture())
        #expect(spurious == 0, "\(src)")
    }

    /// A column the kernels made, compared with a constant: its rows are written over (it is
    /// handed to the comparison, not copied), in every kind the comparison takes.
    static let computedAgainstConstant: [(String, VecLevel)] = [
        ("m.age * 2 >= 16", .member), ("m.age + m.months != 100", .member), ("-m.age < -40", .member),
        ("(m.age > 3) == false", .member), ("(m.age > 3 && m.insured) != true", .member), ("(m.age > 3) == true", .member),
        ("h.area * 2.0 > 10.0", .household), ("h.n - 1 <= 1", .household), ("!(h.flag_a || h.flag_b) == false", .household),
    ]

    @Test func computedColumnAgainstConstant() throws {
        for (src, level) in Self.computedAgainstConstant {
            let spurious = try VectorEvalTests.compare(src, level: level, ColumnFixture())
            #expect(spurious == 0, "\(src)")
        }
    }

    /// `a && x op n` and `a || x op n` (an int column against a number on the right) are
    /// compared inside the `&&`/`||` pass: every operator, with `a` known, missing, an error,
    /// and a column of the pass's own (written over).
    @Test(arguments: ["m.insured && m.age == 16", "m.insured && m.age != 16", "m.insured || m.age < 5", "!m.insured || m.age <= 5",
                      "m.insured && m.age > 40", "!m.insured && m.age >= params.min_age", "m.age / 0 > 1 && m.age > 3",
                      "m.age / 0 > 1 || m.age <= 3", "m.level == 'upper' || m.months < params.limit",
                      "m.age > 3 && m.age < 60 && m.months != 100", "(m.age > 3 || m.insured) && m.age < 60",
                      "has(m.level) || m.age >= 70", "m.insured && m.age / 0 > 1", "m.age > 40 && m.insured",
                      "m.age <= 5 || !m.insured", "m.age / 0 > 1 && m.insured", "m.months != 100 && (m.insured || m.age < 3)",
                      "m.age == 16 || m.age == 90", "m.age >= 16 && h.flag_a", "m.age >= 16 && false", "m.age < 16 || true"])
    func comparisonInsideLogic(_ src: String) throws {
        _ = try VectorEvalTests.compare(src, level: .member, ColumnFixture())
    }

    @Test(arguments: ["h.flag_c && h.n > 2", "h.flag_b || h.n <= 0", "h.flag_a && h.n != 3 && h.n >= 1", "h.flag_c || h.n == 3",
                      "h.n > 2 && h.flag_c", "h.n < 0 || h.flag_b", "h.n >= 1 && h.n != 3 && h.flag_a"])
    func householdComparisonInsideLogic(_ src: String) throws {
        _ = try VectorEvalTests.compare(src, level: .household, ColumnFixture())
    }

    /// Operands tested inside the `&&`/`||` pass from one column (a code compared with a
    /// constant, a code or bool `in` a list, a bool's `!`, `!` of these and of int comparisons),
    /// on either side, against known, missing and error rows, columns of the pass's own and
    /// columns of the other level; each with its tested operands marked.
    static let testedOperands: [(String, VecLevel, [String])] = [
        ("m.insured && !m.insured", .member, ["!m.insured"]),
        ("m.age > 3 && !m.insured", .member, ["m.age > 3", "!m.insured"]),
        ("!m.insured && m.age > 3", .member, ["!m.insured", "m.age > 3"]),
        ("m.insured || m.level == 'upper'", .member, ["m.level == 'upper'"]),
        ("m.level != 'lower' && m.insured", .member, ["m.level != 'lower'"]),
        ("m.age >= params.min_age && m.level in params.levels", .member, ["m.age >= params.min_age", "m.level in params.levels"]),
        ("m.age >= params.min_age && !(m.level in params.levels)", .member, ["!(m.level in params.levels)"]),
        ("!(m.age < 16) || m.level in ['primary', 'upper']", .member, ["!(m.age < 16)", "m.level in ['primary', 'upper']"]),
        ("m.age / 0 > 1 || !(m.level == 'upper')", .member, ["!(m.level == 'upper')"]),
        ("m.age / 0 > 1 && m.level in params.levels", .member, ["m.level in params.levels"]),
        ("!m.insured || !m.insured", .member, ["!m.insured"]),
        ("!!m.insured && m.age > 1 && m.insured in [true]", .member, ["!!m.insured", "m.insured in [true]"]),
        ("'upper' == m.level || !(m.age != 30)", .member, ["'upper' == m.level", "!(m.age != 30)"]),
        ("h.flag_c && m.level == 'none'", .member, ["m.level == 'none'"]),
        ("m.level == 'none' && h.flag_c", .member, ["m.level == 'none'"]),
        ("!(m.age > 3 && m.insured) || m.level < 'n'", .member, ["m.level < 'n'"]),
        ("m.level == 'upper' && false", .member, ["m.level == 'upper'"]),
        ("true || !m.insured", .member, ["!m.insured"]),
        ("m.insured == true && !(m.level in (m.age < 18 ? params.levels : ['lower']))", .member, ["m.insured == true"]),
        ("!h.flag_a && h.flag_c", .household, ["!h.flag_a"]),
        ("h.flag_b || !h.flag_c", .household, ["!h.flag_c"]),
        ("!(h.n > 2) && !h.flag_b", .household, ["!(h.n > 2)", "!h.flag_b"]),
        ("h.n / 0 == 1 || !h.flag_c", .household, ["!h.flag_c"]),
    ]

    /// Each expression against the scalar path, and against itself with its tested operands
    /// made columns first (`true ? x : false` is not tested in the pass): the same rows and the
    /// same unknown flags.
    @Test func testedOperandsInsideLogic() throws {
        let f = ColumnFixture()
        for (src, level, operands) in Self.testedOperands {
            let spurious = try VectorEvalTests.compare(src, level: level, f)
            #expect(spurious == 0, "\(src)")
            var plain = src
            for o in operands {
                let at = try #require(plain.range(of: o), "\(src): \(o)")
                plain.replaceSubrange(at, with: "(true ? \(o) : false)")
            }
            let fused = try #require(try Program(src, declarations: f.decls).columns(f, level: level), "\(src)")
            let apart = try #require(try Program(plain, declarations: f.decls).columns(f, level: level), "\(plain)")
            #expect(fused.values == apart.values, "\(src)")
            #expect(fused.unknownIsError == apart.unknownIsError && fused.unknownIsMissing == apart.unknownIsMissing, "\(src)")
        }
    }

    /// The word operations of `!`, `&&` and `||` against CEL's tables (unknown: an error, which
    /// the deciding value absorbs) for every pair of rows.
    @Test func logicWordsFollowTheTables() {
        let U = VecColumn.unknown
        let rows: [Bool?] = [false, true, nil]
        func word(_ b: Bool?) -> Int64 { b.map { $0 ? 1 : 0 } ?? U }
        for p in rows {
            #expect(VecEvaluator.not(word(p)) == word(p.map { !$0 }), "!\(String(describing: p))")
            for q in rows {
                let and: Bool? = p == false || q == false ? false : (p == nil || q == nil ? nil : true)
                let or: Bool? = p == true || q == true ? true : (p == nil || q == nil ? nil : false)
                #expect(VecEvaluator.and(word(p), word(q)) == word(and), "\(String(describing: p)) && \(String(describing: q))")
                #expect(VecEvaluator.or(word(p), word(q)) == word(or), "\(String(describing: p)) || \(String(describing: q))")
            }
        }
    }

    /// A list element that is itself a computed column is read by each element's predicate:
    /// a kernel over it must not change it for the next.
    @Test func listElementsSurviveTheirPredicates() throws {
        let f = ColumnFixture()
        for src in ["[h.n > 2, h.flag_a].exists(x, !x)", "[h.n > 2, !h.flag_a].filter(x, !x && x == x).size() == 1",
                    "[!h.flag_b, h.area > 1.0].all(x, !(!x))"] {
            _ = try VectorEvalTests.compare(src, level: .household, f)
            _ = try VectorEvalTests.compare(src, level: .household, f)
        }
    }
}
