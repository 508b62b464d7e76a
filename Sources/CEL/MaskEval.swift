import CMask

/// Bool expressions over a batch's rows as bit masks, 64 rows a word: comparisons and code
/// look-ups write words, `!`, `&&`, `||` and `?:` work on whole words, and a caller's "some
/// member" is a bit-range test (`BoolMasks.someInRanges`). The rows and the unknown flags are
/// those `Program.columns` gives for the same expression (tested in `MaskEvalTests`); an
/// expression this path does not cover gives nil, and the caller takes the column path.

/// A bool value per row of one level: bit `r % 64` of word `r / 64` is row `r`.
public struct BoolMasks: Sendable {
    public let level: VecLevel
    public let count: Int
    /// Set: the row is true (never set where the row is unknown, nor past `count`).
    public var values: [UInt64]
    /// Set: the row is unknown (as `VecColumn.unknown` in a column); never set past `count`.
    public var unknown: [UInt64]
    /// As `VecColumn.unknownIsError` and `unknownIsMissing`.
    public var unknownIsError: Bool
    public var unknownIsMissing: Bool

    /// Words for `count` rows.
    public static func words(_ count: Int) -> Int { (count + 63) >> 6 }

    /// Row `r` as a column holds it: 0, 1 or `VecColumn.unknown`.
    public func row(_ r: Int) -> Int64 {
        let bit = UInt64(1) << UInt64(r & 63)
        if unknown[r >> 6] & bit != 0 { return VecColumn.unknown }
        return values[r >> 6] & bit != 0 ? 1 : 0
    }

    /// The rows as a bool column (what `Program.columns` gives for the same expression).
    public func column() -> VecColumn {
        let rows = [Int64](unsafeUninitializedCapacity: count) { out, done in
            values.withUnsafeBufferPointer { v in
                unknown.withUnsafeBufferPointer { u in cmask_unpack(v.baseAddress, u.baseAddress, count, out.baseAddress) }
            }
            done = count
        }
        return VecColumn(level: level, kind: .bool, values: rows, unknownIsError: unknownIsError, unknownIsMissing: unknownIsMissing)
    }

    /// Per household (its member rows `bounds[2h] ..< bounds[2h + 1]`): true when some member
    /// is true and none unknown, unknown when some member is, false otherwise (a loop over the
    /// members that stops at the first unknown one; `trueBeforeFirstUnknown` tells what it had
    /// seen). Household masks, so the indicators' tally and the classes stay words.
    public func someInRanges(_ bounds: [Int64]) -> BoolMasks {
        Self.someInRanges(of: [self], bounds)[0]
    }

    /// `someInRanges` of each of `masks` (rows of one level and count), in one pass over the
    /// ranges: each household's window of member rows is found once for all of them.
    public static func someInRanges(of masks: [BoolMasks], _ bounds: [Int64]) -> [BoolMasks] {
        guard let first = masks.first else { return [] }
        let n = bounds.count / 2, words = Self.words(n), stride = Self.words(first.count)
        // The masks' words one after another, as the kernel takes them (a single mask as it is).
        let values = masks.count == 1 ? first.values : masks.flatMap(\.values)
        let unknown = masks.count == 1 ? first.unknown : masks.flatMap(\.unknown)
        var someTrue = [UInt64](repeating: 0, count: masks.count * words), someUnknown = someTrue
        someTrue.withUnsafeMutableBufferPointer { t in
            someUnknown.withUnsafeMutableBufferPointer { u in
                cmask_some_in_ranges(values, unknown, masks.count, stride, bounds, n, t.baseAddress, u.baseAddress)
            }
        }
        return masks.enumerated().map { j, m in
            BoolMasks(level: .household, count: n, values: Array(someTrue[j * words..<(j + 1) * words]),
                      unknown: Array(someUnknown[j * words..<(j + 1) * words]), unknownIsError: m.unknownIsError,
                      unknownIsMissing: m.unknownIsMissing)
        }
    }

    /// Whether some row of `rows` before the first unknown one is true.
    public func trueBeforeFirstUnknown(in rows: Range<Int>) -> Bool {
        values.withUnsafeBufferPointer { v in
            unknown.withUnsafeBufferPointer { u in
                let firstUnknown = Self.firstSet(u, rows.lowerBound, rows.upperBound)
                return Self.firstSet(v, rows.lowerBound, firstUnknown) < firstUnknown
            }
        }
    }

    /// The first set bit in rows `lo..<hi`, or `hi`.
    @inline(__always)
    static func firstSet(_ w: UnsafeBufferPointer<UInt64>, _ lo: Int, _ hi: Int) -> Int {
        var r = lo
        while r < hi {
            let rest = w[r >> 6] >> UInt64(r & 63)
            if rest != 0 { return min(r + rest.trailingZeroBitCount, hi) }
            r = (r | 63) + 1
        }
        return hi
    }
}

extension BoolMasks {
    /// A bool column's rows (0, 1 or unknown) as masks, with its flags.
    public init(_ column: VecColumn) {
        let (values, unknown) = MaskEvaluator.wordPair(column.values) { x, n, v, u in cmask_low_bit_known(x, n, VecColumn.unknown, v, u) }
        self.init(level: column.level, count: column.values.count, values: values, unknown: unknown,
                  unknownIsError: column.unknownIsError, unknownIsMissing: column.unknownIsMissing)
    }

    /// Calls `body` with each word of these masks (true and unknown bits, to update) and the
    /// same word of `other`'s, through pointers: no uniqueness or bounds check per word.
    @inline(__always)
    mutating func updateWords(with other: BoolMasks, _ body: (inout UInt64, inout UInt64, UInt64, UInt64) -> Void) {
        let n = values.count
        values.withUnsafeMutableBufferPointer { v in
            unknown.withUnsafeMutableBufferPointer { u in
                other.values.withUnsafeBufferPointer { ov in
                    other.unknown.withUnsafeBufferPointer { ou in
                        for w in 0..<n { body(&v[w], &u[w], ov[w], ou[w]) }
                    }
                }
            }
        }
    }

    /// Calls `body` with each set bit's row, in order.
    @inline(__always)
    public static func forEachRow(_ words: [UInt64], _ body: (Int) -> Void) {
        for w in 0..<words.count {
            var bits = words[w]
            while bits != 0 {
                body(w << 6 | bits.trailingZeroBitCount)
                bits &= bits &- 1
            }
        }
    }
}

extension VecEvaluator {
    /// Per household: how many of its member rows of `p` are true (neither 0 nor unknown) and
    /// how many unknown, by counting the bits of the rows' masks in its range.
    static func memberCounts(_ p: [Int64], _ ranges: [Range<Int>]) -> (trues: [Int64], unknowns: [Int64]) {
        let unknown = MaskEvaluator.words(p) { x, n, out in cmask_compare(x, n, CMaskEqual, VecColumn.unknown, out) }
        var trues = MaskEvaluator.words(p) { x, n, out in cmask_compare(x, n, CMaskNotEqual, 0, out) }
        for w in 0..<trues.count { trues[w] &= ~unknown[w] }
        return memberCounts(trues: trues, unknown: unknown, ranges)
    }

    /// The same from the rows' masks: `trues` (never set where `unknown` is) and `unknown`.
    static func memberCounts(trues: [UInt64], unknown: [UInt64], _ ranges: [Range<Int>]) -> (trues: [Int64], unknowns: [Int64]) {
        var bounds = [Int64]()
        bounds.reserveCapacity(2 * ranges.count)
        for r in ranges {
            bounds.append(Int64(r.lowerBound))
            bounds.append(Int64(r.upperBound))
        }
        let n = ranges.count
        var unknowns = [Int64](repeating: 0, count: n)
        let counts = [Int64](unsafeUninitializedCapacity: n) { out, done in
            unknowns.withUnsafeMutableBufferPointer { u in
                cmask_count_in_ranges(trues, unknown, bounds, n, out.baseAddress, u.baseAddress)
            }
            done = n
        }
        return (counts, unknowns)
    }
}

/// Leaf masks of the expressions evaluated over one batch, kept so that a column tested by
/// several expressions (a member's age, `m.child`, `m.in_school`) is turned into bits once.
/// Entries hold their column, so its buffer (the key) cannot be reused while they live.
public final class MaskLeaves {
    struct Key: Hashable {
        let address: UInt
        let count: Int
        /// `boolTag` for a bool column's true rows, 0 for its unknown rows, `compareTag` for the
        /// known rows where a comparison with `constant` holds.
        let tag: Int
        let constant: Int64
    }
    static let boolTag = -1
    /// The tag of the comparison `relation` (`CMaskRelation`) with a constant.
    static func compareTag(_ relation: CMaskRelation) -> Int { 1 + Int(relation.rawValue) }
    var entries: [Key: (column: [Int64], masks: [UInt64])] = [:]

    public init() {}

    /// Rows of `column` holding `VecColumn.unknown`, made once per column.
    public func unknownRows(_ column: [Int64]) -> [UInt64] {
        masks(column, tag: 0) {
            MaskEvaluator.words(column) { x, n, out in cmask_compare(x, n, CMaskEqual, VecColumn.unknown, out) }
        }
    }

    /// Whether the unknown rows of `column` are made (`unknownRows`).
    func knowsUnknownRows(_ column: [Int64]) -> Bool { entries[Self.key(column)] != nil }

    /// Takes `rows` as the unknown rows of `column`, made by a pass that gave something else too.
    func noteUnknownRows(_ column: [Int64], _ rows: [UInt64]) { entries[Self.key(column)] = (column, rows) }

    /// The key of `column`'s masks under `tag` and `constant` (by default its unknown rows, and
    /// the key of its entry in `compared`).
    static func key(_ column: [Int64], tag: Int = 0, constant: Int64 = 0) -> Key {
        let address = column.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        return Key(address: address, count: column.count, tag: tag, constant: constant)
    }

    /// Takes `m` as the masks of `column`, a bool column made from them (`BoolMasks.column()`),
    /// so that expressions reading the column (a derived field, the income test) take the
    /// bits instead of packing its rows again.
    public func remember(_ column: [Int64], _ m: BoolMasks) {
        entries[Self.key(column, tag: Self.boolTag)] = (column, m.values)
        entries[Self.key(column)] = (column, m.unknown)
    }

    /// Int columns compared with a number so far: once (the column held, so its buffer stays
    /// its own), or more, with their rows as 16-bit numbers where they fit (`cmask_narrow16`).
    enum Compared {
        case once([Int64])
        case narrowed([Int64], [Int16]?)
    }
    var compared: [Key: Compared] = [:]

    /// Known rows of `column` where `relation` with `q` holds (bits of unknown rows are of no
    /// use to the caller). A column compared with a second number (a member's age against each
    /// bound of the rules) is made 16-bit numbers once, and compared from them after: a
    /// quarter of the bytes, and sixteen rows a compare instead of four.
    func comparison(_ column: [Int64], _ relation: CMaskRelation, _ q: Int64) -> [UInt64] {
        let key = Self.key(column)
        let narrow: [Int16]?
        switch compared[key] {
        case nil:
            compared[key] = .once(column)
            narrow = nil
        case .once?:
            let rows = Self.narrowed(column)
            compared[key] = .narrowed(column, rows)
            narrow = rows
        case .narrowed(_, let rows)?:
            narrow = rows
        }
        guard let narrow else {
            return MaskEvaluator.words(column) { x, n, out in cmask_compare(x, n, relation, q, out) }
        }
        let n = BoolMasks.words(narrow.count)
        return [UInt64](unsafeUninitializedCapacity: n) { out, done in
            narrow.withUnsafeBufferPointer { cmask_compare16($0.baseAddress, $0.count, relation, Int16(clamping: q), out.baseAddress) }
            done = n
        }
    }

    /// Notes a comparison of `column` made without `comparison` (with its unknown rows), so
    /// that a second one narrows it as after a first `comparison`.
    func firstComparison(_ column: [Int64]) {
        let key = Self.key(column)
        if compared[key] == nil { compared[key] = .once(column) }
    }

    /// The rows of `column` as 16-bit numbers (unknown rows as 0), nil when some known row
    /// does not fit.
    static func narrowed(_ column: [Int64]) -> [Int16]? {
        var fits: Int32 = 0
        let rows = [Int16](unsafeUninitializedCapacity: column.count) { out, done in
            column.withUnsafeBufferPointer { fits = cmask_narrow16($0.baseAddress, $0.count, VecColumn.unknown, out.baseAddress) }
            done = column.count
        }
        return fits != 0 ? rows : nil
    }

    /// The masks `make` gives for `column`, made once per column and tag.
    func masks(_ column: [Int64], tag: Int, constant: Int64 = 0, _ make: () -> [UInt64]) -> [UInt64] {
        let key = Self.key(column, tag: tag, constant: constant)
        if let e = entries[key] { return e.masks }
        let m = make()
        entries[key] = (column, m)
        return m
    }

    /// The masks `make` gives for `column` under `tag` and `constant` (of its known rows), with
    /// its unknown rows (`unknownRows`). A column met for the first time gives both from one
    /// pass (`both`): each pass over a member column reads a few hundred KB.
    func knownRows(_ column: [Int64], tag: Int, constant: Int64 = 0, both: () -> (values: [UInt64], unknown: [UInt64]),
                   _ make: (_ unknown: [UInt64]) -> [UInt64]) -> (values: [UInt64], unknown: [UInt64]) {
        guard let unknown = entries[Self.key(column)]?.masks else {
            let made = both()
            entries[Self.key(column)] = (column, made.unknown)
            entries[Self.key(column, tag: tag, constant: constant)] = (column, made.values)
            return made
        }
        return (masks(column, tag: tag, constant: constant) { make(unknown) }, unknown)
    }
}

extension Program {
    /// The expression's bool value for every row of `level`, as masks; nil when the expression
    /// is not a bool one that `MaskEvaluator` covers (the column path, `columns`, may still be).
    public func masks(_ host: some VectorHost, level: VecLevel, leaves: MaskLeaves) -> BoolMasks? {
        var e = MaskEvaluator(columns: VecEvaluator(host: host), level: level, leaves: leaves)
        guard let v = e.eval(ir) else { return nil }
        return e.masks(v)
    }
}

/// A bool value during mask evaluation: the same for every row, unknown for every row, or masks.
enum MaskValue {
    case constant(Bool)
    case allUnknown
    case masks(BoolMasks)
}

/// Evaluates `!`, `&&`, `||` and `?:` over masks, and takes their operands from the column
/// evaluator: an int column against a number and a table by ids (`VecEvaluator.LogicOperand`),
/// or a bool column, each turned into bits. Every operand must be of the evaluated level.
struct MaskEvaluator {
    var columns: VecEvaluator
    let level: VecLevel
    let count: Int
    let words: Int
    let leaves: MaskLeaves

    init(columns: VecEvaluator, level: VecLevel, leaves: MaskLeaves) {
        self.columns = columns
        self.level = level
        count = columns.count(level)
        words = BoolMasks.words(count)
        self.leaves = leaves
    }

    mutating func eval(_ ir: IR) -> MaskValue? {
        switch ir {
        case .not(let x):
            return eval(x).map { negation($0) }
        case .and(let l, let r):
            return logic(l, r, decide: false)
        case .or(let l, let r):
            return logic(l, r, decide: true)
        case .cond(let c, let a, let b):
            return cond(c, a, b)
        case .binary(.in, let l, .cond(let c, let a, let b)):
            // As `VecEvaluator.binary`: `x in (c ? A : B)` is `c ? x in A : x in B`.
            return cond(c, .binary(.in, l, a), .binary(.in, l, b))
        case .binary(let op, let l, .cond(let c, let a, let b)) where Self.relations.contains(op):
            // `x < (c ? A : B)` with numbers A and B is `c ? x < A : x < B`: two comparisons
            // with numbers instead of a column of the chosen numbers (with a column for a branch
            // the unknown flags would not be the column path's).
            guard sameForEveryRow(a), sameForEveryRow(b) else { return relation(ir) }
            return cond(c, .binary(op, l, a), .binary(op, l, b))
        case .binary(let op, _, _) where Self.relations.contains(op):
            return relation(ir)
        case .field(let op, let field, _, _):
            if let m = hostMasks(op, field) { return .masks(m) }
            guard let v = columns.eval(ir) else { return nil }
            return leaf(.value(v))
        default:
            guard let v = columns.eval(ir) else { return nil }
            return leaf(.value(v))
        }
    }

    /// A field of `h` or `m` the host holds as masks of the evaluated level, as they are.
    func hostMasks(_ op: IR, _ field: Int) -> BoolMasks? {
        guard case .variable(let s) = op else { return nil }
        switch columns.host.binding(s) {
        case .householdObject(let type)?, .memberObject(let type)?:
            guard let m = columns.host.masks(type: type, field: field), m.level == level else { return nil }
            return m
        default:
            return nil
        }
    }

    /// A comparison or look-up as a leaf.
    mutating func relation(_ ir: IR) -> MaskValue? {
        guard let o = columns.logicOperand(ir) else { return nil }
        return leaf(o)
    }

    /// Whether `ir` is a constant (a number, a parameter).
    mutating func sameForEveryRow(_ ir: IR) -> Bool {
        guard case .constant? = columns.eval(ir) else { return false }
        return true
    }

    /// The operators whose operands become leaves.
    static let relations: Set<BinaryOp> = [.lt, .le, .gt, .ge, .eq, .ne, .in]

    // MARK: Operands

    /// An operand of the column evaluator as masks; nil for one of another level or kind.
    func leaf(_ o: VecEvaluator.LogicOperand) -> MaskValue? {
        switch o {
        case .compare(let c, let op, let q):
            guard c.level == level else { return nil }
            return compared(c, op, q)
        case .lookup(let c, let t):
            guard c.level == level else { return nil }
            return looked(c, t)
        case .value(.constant(.bool(let b))):
            return .constant(b)
        case .value(.allUnknown):
            return .allUnknown
        case .value(.column(let c)):
            guard c.level == level, c.kind == .bool else { return nil }
            return boolLeaf(c)
        case .value:
            return nil
        }
    }

    /// The words of column `x`'s rows, as `fill` writes them (a `CMask` kernel).
    @inline(__always)
    static func words(_ x: [Int64], _ fill: (UnsafePointer<Int64>?, Int, UnsafeMutablePointer<UInt64>?) -> Void) -> [UInt64] {
        let n = BoolMasks.words(x.count)
        return [UInt64](unsafeUninitializedCapacity: n) { out, done in
            x.withUnsafeBufferPointer { fill($0.baseAddress, $0.count, out.baseAddress) }
            done = n
        }
    }

    /// Two sets of words of column `x`'s rows from one pass, as `fill` writes them.
    @inline(__always)
    static func wordPair(_ x: [Int64], _ fill: (UnsafePointer<Int64>?, Int, UnsafeMutablePointer<UInt64>?, UnsafeMutablePointer<UInt64>?) -> Void)
        -> (values: [UInt64], unknown: [UInt64]) {
        let n = BoolMasks.words(x.count)
        var second = [UInt64](unsafeUninitializedCapacity: n) { _, done in done = n }
        let first = [UInt64](unsafeUninitializedCapacity: n) { out, done in
            x.withUnsafeBufferPointer { x in
                second.withUnsafeMutableBufferPointer { fill(x.baseAddress, x.count, out.baseAddress, $0.baseAddress) }
            }
            done = n
        }
        return (first, second)
    }

    /// An int column against a number: unknown where the column is.
    func compared(_ c: VecColumn, _ op: BinaryOp, _ q: Int64) -> MaskValue {
        let relation: CMaskRelation
        switch op {
        case .lt: relation = CMaskLess
        case .le: relation = CMaskLessOrEqual
        case .gt: relation = CMaskGreater
        case .ge: relation = CMaskGreaterOrEqual
        case .eq: relation = CMaskEqual
        default: relation = CMaskNotEqual
        }
        // Once per column, relation and number: several expressions compare a member's age with
        // the same age.
        let (values, unknown) = leaves.knownRows(c.values, tag: MaskLeaves.compareTag(relation), constant: q, both: {
            leaves.firstComparison(c.values)
            return Self.wordPair(c.values) { x, n, v, u in cmask_compare_known(x, n, relation, q, VecColumn.unknown, v, u) }
        }) { unknown in
            var values = leaves.comparison(c.values, relation, q)
            for w in 0..<values.count { values[w] &= ~unknown[w] }
            return values
        }
        return .masks(BoolMasks(level: level, count: count, values: values, unknown: unknown,
                                unknownIsError: c.unknownIsError, unknownIsMissing: c.unknownIsMissing))
    }

    /// A table (0 or 1) by the column's ids: an id past the table (unknown or negative, as an
    /// unsigned number) is unknown, as in `VecEvaluator.lookup`. Tables of up to 64 codes.
    func looked(_ c: VecColumn, _ table: [Int64]) -> MaskValue? {
        guard table.count <= 64 else { return nil }
        var bits: UInt64 = 0
        for (id, t) in table.enumerated() where t != 0 { bits |= 1 << UInt64(id) }
        var unknown = [UInt64](repeating: 0, count: words)
        let values: [UInt64]
        if leaves.knowsUnknownRows(c.values) {
            values = Self.words(c.values) { x, n, out in
                unknown.withUnsafeMutableBufferPointer { cmask_lookup(x, n, bits, UInt64(table.count), out, $0.baseAddress) }
            }
        } else {
            // The column's unknown rows from the same pass, for the requirements that ask
            // where the field is empty (often this field).
            var skipped = [UInt64](repeating: 0, count: words)
            values = Self.words(c.values) { x, n, out in
                unknown.withUnsafeMutableBufferPointer { outside in
                    skipped.withUnsafeMutableBufferPointer {
                        cmask_lookup_known(x, n, bits, UInt64(table.count), VecColumn.unknown, out, outside.baseAddress, $0.baseAddress)
                    }
                }
            }
            leaves.noteUnknownRows(c.values, skipped)
        }
        return .masks(BoolMasks(level: level, count: count, values: values, unknown: unknown,
                                unknownIsError: c.unknownIsError, unknownIsMissing: c.unknownIsMissing))
    }

    /// A bool column's rows (0, 1 or unknown), once per column.
    func boolLeaf(_ c: VecColumn) -> MaskValue {
        let (values, unknown) = leaves.knownRows(c.values, tag: MaskLeaves.boolTag, both: {
            Self.wordPair(c.values) { x, n, v, u in cmask_low_bit_known(x, n, VecColumn.unknown, v, u) }
        }) { _ in
            Self.words(c.values) { x, n, out in cmask_low_bit(x, n, out) }
        }
        return .masks(BoolMasks(level: level, count: count, values: values, unknown: unknown,
                                unknownIsError: c.unknownIsError, unknownIsMissing: c.unknownIsMissing))
    }

    // MARK: Logic

    /// A constant or unknown-everywhere value as masks: such operands count as errors, not as
    /// missing values (as the column path's `materialize`).
    func masks(_ v: MaskValue) -> BoolMasks {
        switch v {
        case .masks(let m): return m
        case .constant(let b):
            let values = b ? allRows() : [UInt64](repeating: 0, count: words)
            return BoolMasks(level: level, count: count, values: values, unknown: [UInt64](repeating: 0, count: words),
                             unknownIsError: true, unknownIsMissing: false)
        case .allUnknown:
            return BoolMasks(level: level, count: count, values: [UInt64](repeating: 0, count: words), unknown: allRows(),
                             unknownIsError: true, unknownIsMissing: false)
        }
    }

    /// Every row's bit set, none past `count`.
    func allRows() -> [UInt64] {
        var w = [UInt64](repeating: ~0, count: words)
        if count & 63 != 0 { w[words - 1] = (1 << UInt64(count & 63)) - 1 }
        return w
    }

    /// `!v`: known rows flip, unknown ones stay.
    func negation(_ v: MaskValue) -> MaskValue {
        switch v {
        case .constant(let b): return .constant(!b)
        case .allUnknown: return .allUnknown
        case .masks(var m):
            let all = BoolMasks(level: level, count: count, values: allRows(), unknown: [UInt64](repeating: 0, count: words),
                                unknownIsError: true, unknownIsMissing: false)
            m.updateWords(with: all) { v, u, row, _ in v = ~(v | u) & row }
            return .masks(m)
        }
    }

    /// `&&` (`decide` false) and `||` (`decide` true) as `VecEvaluator.logic` gives them: a
    /// constant deciding operand on the left decides without the right one; otherwise the
    /// deciding value wins over an unknown, and any other unknown makes the row unknown.
    mutating func logic(_ l: IR, _ r: IR, decide: Bool) -> MaskValue? {
        guard let a = eval(l) else { return nil }
        if case .constant(let x) = a, x == decide { return .constant(decide) }
        guard let b = eval(r) else { return nil }
        if let ka = known(a), let kb = known(b) {
            if ka == decide || kb == decide { return .constant(decide) }
            if ka == nil || kb == nil { return .allUnknown }
            return .constant(!decide)
        }
        var x = masks(a)
        let y = masks(b)
        x.updateWords(with: y) { p, pu, q, qu in
            if decide {
                let t = p | q
                p = t
                pu = (pu | qu) & ~t
            } else {
                // Known false on either side decides.
                let f = ~(p | pu) | ~(q | qu)
                p &= q
                pu = (pu | qu) & ~f
            }
        }
        x.unknownIsError = x.unknownIsError && y.unknownIsError
        x.unknownIsMissing = x.unknownIsMissing && y.unknownIsMissing
        return .masks(x)
    }

    /// A constant's value, `.some(nil)` for unknown everywhere, nil for masks.
    func known(_ v: MaskValue) -> Bool?? {
        switch v {
        case .constant(let b): return .some(b)
        case .allUnknown: return .some(nil)
        case .masks: return nil
        }
    }

    /// `c ? a : b` as `VecEvaluator.cond` gives it: unknown where the condition is, else the
    /// chosen branch's row.
    mutating func cond(_ c: IR, _ a: IR, _ b: IR) -> MaskValue? {
        guard let cv = eval(c) else { return nil }
        switch cv {
        case .constant(let x): return eval(x ? a : b)
        case .allUnknown: return .allUnknown
        case .masks(var m):
            guard let av = eval(a), let bv = eval(b) else { return nil }
            if case .allUnknown = av, case .allUnknown = bv { return .allUnknown }
            var constants = false
            if case .constant = av, case .constant = bv { constants = true }
            let x = masks(av), y = masks(bv)
            for w in 0..<words {
                let t = m.values[w], tu = m.unknown[w]
                let u = tu | (t & x.unknown[w]) | (~t & ~tu & y.unknown[w])
                m.values[w] = ((t & x.values[w]) | (~t & y.values[w])) & ~u
                m.unknown[w] = u
            }
            // Constant branches keep the condition's flags (the column path maps over it).
            if !constants {
                m.unknownIsError = m.unknownIsError && x.unknownIsError && y.unknownIsError
                m.unknownIsMissing = m.unknownIsMissing && x.unknownIsMissing && y.unknownIsMissing
            }
            return .masks(m)
        }
    }
}
