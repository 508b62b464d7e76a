import CEL
import Engine
import RuleModel
import Survey

/// Writes classification results in the contract's CSV or JSONL (data-contract.md §2), one
/// household a row, in input order. Bytes depend only on the results, so runs are reproducible.
public struct ClassificationWriter {
    public enum Format: String, Sendable, CaseIterable { case csv, jsonl }

    public let format: Format
    /// Indicator columns, from the rule set of the first household (the contract's order).
    public private(set) var indicatorIDs: [String]?
    public private(set) var mismatchedRuleSets: Set<String> = []

    public init(format: Format) {
        self.format = format
    }

    /// The header line (CSV only), once the first result fixes the indicator columns.
    public mutating func header(for first: HouseholdResult) -> String? {
        header(for: first.rules)
    }

    /// The header line (CSV only), with the indicator columns of `rules` (those of the first
    /// household classified).
    public mutating func header(for rules: CompiledRuleSet) -> String? {
        indicatorIDs = rules.ruleSet.indicators.map(\.id)
        guard format == .csv else { return nil }
        var cols = ["household_id", "village", "area", "status", "deprivation_count", "income_below_line"]
        cols += indicatorIDs!.map { "d_" + $0 }
        cols += ["newly_escaped", "ruleset"]
        return cols.joined(separator: ",") + "\n"
    }

    /// The rule set whose indicator order was last matched against the columns, with the
    /// indicator index of each column (-1: the rule set has no such indicator).
    private var columnsOf: (rules: ObjectIdentifier, indicators: [Int], reference: [UInt8])?

    /// Appends the row of `r` to `out` as bytes: the same bytes as `row`, without building
    /// strings (the streaming path of `povrules classify`).
    public mutating func appendRow(_ r: HouseholdResult, to out: inout [UInt8]) {
        guard format == .csv else {
            out.append(contentsOf: row(r).utf8)
            return
        }
        let unknown = r.unknownIndicators
        appendCells(rules: r.rules, householdID: r.householdID, village: r.village, area: r.area, status: r.status,
                    deprivationCount: r.deprivationCount, incomeBelowLine: r.incomeBelowLine, newlyEscaped: r.newlyEscaped,
                    deprived: { i in !unknown.isEmpty && unknown.contains(i) ? nil : r.deprived[i] }, to: &out)
    }

    /// One CSV row from a household's cells, whichever way it was classified; `deprived(i)` is
    /// nil for an indicator left unknown (an empty cell).
    private mutating func appendCells(rules: CompiledRuleSet, householdID: String, village: String, area: String, status: String,
                                      deprivationCount: Int, incomeBelowLine: Bool, newlyEscaped: Bool,
                                      deprived: (Int) -> Bool?, to out: inout [UInt8]) {
        matchColumns(rules)
        let comma = UInt8(ascii: ","), zero = UInt8(ascii: "0"), one = UInt8(ascii: "1")
        CSVText.appendCell(householdID, to: &out)
        out.append(comma)
        CSVText.appendCell(village, to: &out)
        out.append(comma)
        CSVText.appendCell(area, to: &out)
        out.append(comma)
        CSVText.appendCell(status, to: &out)
        out.append(comma)
        CSVText.appendInt(deprivationCount, to: &out)
        out.append(comma)
        out.append(incomeBelowLine ? one : zero)
        for i in columnsOf!.indicators {
            out.append(comma)
            if i >= 0, let d = deprived(i) { out.append(d ? one : zero) }
        }
        out.append(comma)
        out.append(newlyEscaped ? one : zero)
        out.append(comma)
        out.append(contentsOf: columnsOf!.reference)
        out.append(10)
    }

    /// Sets `columnsOf` for a household classified under `rules` (the header's columns are
    /// those of the first household).
    @inline(__always)
    private mutating func matchColumns(_ rules: CompiledRuleSet) {
        if indicatorIDs == nil { _ = header(for: rules) }
        let key = ObjectIdentifier(rules)
        if columnsOf?.rules != key {
            let own = rules.ruleSet.indicators.map(\.id)
            if own != indicatorIDs! { mismatchedRuleSets.insert(rules.ruleSet.reference) }
            columnsOf = (key, indicatorIDs!.map { own.firstIndex(of: $0) ?? -1 },
                         Array(CSVText.cell(rules.ruleSet.reference).utf8))
        }
    }

    /// Appends the rows of every household of `batch` classified, as `appendRow` of each
    /// outcome would; the households decided over columns are read from the columns (CSV).
    public mutating func appendRows(_ batch: ClassifiedBatch, to out: inout [UInt8]) {
        guard format == .csv else {
            for case .classified(let r) in batch.allOutcomes() { appendRow(r, to: &out) }
            return
        }
        // The rows are written straight into a new array's storage, which becomes `out` when it
        // is empty (a batch's rows of `povrules classify`): no copy of the batch's bytes, unless
        // the rows outgrow the estimate.
        var spilled: [UInt8]?
        let rows = [UInt8](unsafeUninitializedCapacity: batch.count * RowBytes.rowEstimate + 256) { storage, initialized in
            var bytes = RowBytes(writingInto: storage)
            putRows(batch, to: &bytes)
            if bytes.isInPlace {
                initialized = bytes.count
            } else {
                spilled = Array(UnsafeBufferPointer(start: bytes.base, count: bytes.count))
                initialized = 0
            }
            bytes.free()
        }
        if out.isEmpty { out = spilled ?? rows } else { out.append(contentsOf: spilled ?? rows) }
    }

    /// The CSV rows of `appendRows`, put into `bytes`.
    private mutating func putRows(_ batch: ClassifiedBatch, to bytes: inout RowBytes) {
        // The cells that depend on a group's rule set, as bytes once per batch: status and area
        // by code, each indicator column's indicator, the rule set's reference; and the most
        // bytes of a row after its texts.
        struct GroupCells {
            var status: [[UInt8]]
            var area: [[UInt8]]
            var indicators: [Int]
            var tailBound: Int
            /// The cells from area to income (`area,status,count,income`) in `made`, by area
            /// (0 for none, else its code + 1), status, deprivation count (below `counts`: one
            /// more than the rule set's indicators) and income bit, made the first time a row
            /// has them (-1 before: a batch meets a few of them); and the last ones
            /// (`,newly_escaped,ruleset` and the line's end) by newly escaped.
            var middles: [Int]
            var counts: Int
            var ends: [Int]
            /// When the columns are the rule set's indicators in its order (nearly always): the
            /// bytes of four indicator cells (`,0,1,1,0`) by their four deprivation bits.
            var fours: [UInt64]?
        }
        var groups: [GroupCells?] = Array(repeating: nil, count: batch.groupCount)
        var made = MadeCells()
        let comma = UInt8(ascii: ","), zero = UInt8(ascii: "0"), one = UInt8(ascii: "1")
        func putMiddle(_ status: [UInt8], _ deprivationCount: Int, _ incomeBelowLine: Bool, to out: inout RowBytes) {
            out.reserve(status.count + 24)
            out.put(comma)
            out.put(status)
            out.put(comma)
            out.putInt(deprivationCount)
            out.put(comma)
            out.put(incomeBelowLine ? one : zero)
        }
        func putEnd(_ newlyEscaped: UInt8, _ reference: [UInt8], to out: inout RowBytes) {
            out.reserve(3)
            out.put(comma)
            out.put(newlyEscaped)
            out.put(comma)
            out.put(reference)
            out.reserve(1)
            out.put(10)
        }
        func cells(_ g: Int) -> GroupCells {
            if let c = groups[g] { return c }
            matchColumns(batch.rules(ofGroup: g))
            let status = batch.statusCodes(ofGroup: g).map { Array(CSVText.cell($0).utf8) }
            let area = batch.areaTexts(ofGroup: g).map { Array(CSVText.cell($0).utf8) }
            let indicators = columnsOf!.indicators, reference = columnsOf!.reference
            let bound = (area.map(\.count).max() ?? 0) + (status.map(\.count).max() ?? 0) + 2 * indicators.count + reference.count + 40
            let counts = batch.rules(ofGroup: g).ruleSet.indicators.count + 1
            // The cells from area to income (`,area,status,count,income`) in `made`, by area (0
            // for none, else its code + 1), status, deprivation count (below `counts`: one more
            // than the rule set's indicators) and income bit, made the first time a row has them
            // (-1 before: a batch meets a few of them); and the last ones
            // (`,newly_escaped,ruleset` and the line's end) by newly escaped.
            let middles = [Int](repeating: -1, count: (area.count + 1) * status.count * counts * 2)
            let ends = [zero, one].map { newly in made.make { putEnd(newly, reference, to: &$0) } }
            var fours: [UInt64]?
            if indicators.count <= 64, indicators.elementsEqual(0..<indicators.count) {
                fours = (0..<16).map { (bits: Int) -> UInt64 in
                    var word: UInt64 = 0
                    for k in 0..<4 {
                        let digit = UInt64(bits >> k & 1) + UInt64(UInt8(ascii: "0"))
                        word |= (UInt64(UInt8(ascii: ",")) | digit << 8) << (16 * UInt64(k))
                    }
                    return word
                }
            }
            let c = GroupCells(status: status, area: area, indicators: indicators, tailBound: bound, middles: middles, counts: counts,
                               ends: ends, fours: fours)
            groups[g] = c
            return c
        }
        let table = batch.batch.households
        // Texts by their index in the batch's pool; the village's cell made once per village.
        let ids = batch.householdIDField.map(table.textIndexes), villages = batch.villageField.map(table.textIndexes)
        let texts = table.pooledTexts
        let areaCodes = batch.areaField.map { table.values[$0] }
        var villageCells = PooledCells(texts: texts)
        defer {
            villageCells.free()
            made.free()
        }
        var scalarRow: [UInt8] = []
        var current = -1
        var g = GroupCells(status: [], area: [], indicators: [], tailBound: 0, middles: [], counts: 0, ends: [], fours: nil)
        for h in 0..<batch.count {
            // Households classified one by one, and rule sets of more indicators than the
            // cells hold, row by row (a rejected household has no row).
            guard let x = batch.cells(h) else {
                scalarRow.removeAll(keepingCapacity: true)
                if let o = batch.scalarOutcome(h) {
                    if case .classified(let r) = o { appendRow(r, to: &scalarRow) }
                } else {
                    appendColumnRow(batch.row(h), to: &scalarRow)
                }
                bytes.put(scalarRow)
                continue
            }
            // Most batches have one group: its cells are taken out of `groups` only when the
            // group changes (a copy per row would retain each of its arrays), and put back
            // with the middles made meanwhile.
            if x.group != current {
                if current >= 0 { groups[current] = g }
                g = cells(x.group)
                current = x.group
            }
            // Household ids are all different: their cells are made row by row.
            let id = ids?[h] ?? RecordTable.noText
            bytes.putCell(id == RecordTable.noText ? "?" : texts[Int(id)])
            bytes.reserve(1)
            bytes.put(comma)
            if let villages { villageCells.put(villages[h], to: &bytes) }
            bytes.reserve(g.tailBound)
            bytes.put(comma)
            var area = 0
            if let areaCodes, case let v = areaCodes[h], v != RecordTable.absent, case let c = Int(Int32(truncatingIfNeeded: v)),
               c >= 0, c < g.area.count { area = c + 1 }
            if x.deprivationCount < g.counts {
                let k = ((area * g.status.count + x.status) * g.counts + x.deprivationCount) * 2 + (x.incomeBelowLine ? 1 : 0)
                if g.middles[k] < 0 {
                    let cell = area > 0 ? g.area[area - 1] : [], status = g.status[x.status]
                    g.middles[k] = made.make {
                        $0.put(cell)
                        putMiddle(status, x.deprivationCount, x.incomeBelowLine, to: &$0)
                    }
                }
                made.put(g.middles[k], to: &bytes)
            } else {
                if area > 0 { bytes.put(g.area[area - 1]) }
                putMiddle(g.status[x.status], x.deprivationCount, x.incomeBelowLine, to: &bytes)
            }
            var first = 0
            if let fours = g.fours, x.unknown == 0 {
                // Four cells a store; the rest one by one below.
                first = g.indicators.count / 4 * 4
                for k in Swift.stride(from: 0, to: first, by: 4) { bytes.putWord(fours[Int(x.deprived >> UInt64(k) & 15)]) }
            }
            for i in g.indicators[first...] {
                bytes.put(comma)
                if i >= 0 && x.unknown & (1 << UInt64(i)) == 0 { bytes.put(x.deprived & (1 << UInt64(i)) != 0 ? one : zero) }
            }
            made.put(g.ends[x.newlyEscaped ? 1 : 0], to: &bytes)
        }
    }

    /// The row of a household decided over columns, from its `ColumnRow`.
    private mutating func appendColumnRow(_ r: ColumnRow, to out: inout [UInt8]) {
        appendCells(rules: r.rules, householdID: r.householdID, village: r.village, area: r.area, status: r.status,
                    deprivationCount: r.deprivationCount, incomeBelowLine: r.incomeBelowLine, newlyEscaped: r.newlyEscaped,
                    deprived: r.deprived, to: &out)
    }

    public mutating func row(_ r: HouseholdResult) -> String {
        if indicatorIDs == nil { _ = header(for: r) }
        let ids = indicatorIDs!
        let own = r.rules.ruleSet.indicators.map(\.id)
        if own != ids { mismatchedRuleSets.insert(r.rules.ruleSet.reference) }
        switch format {
        case .csv:
            var cells = [r.householdID, r.village, r.area, r.status, String(r.deprivationCount), r.incomeBelowLine ? "1" : "0"]
            for id in ids {
                if let i = own.firstIndex(of: id) {
                    cells.append(r.unknownIndicators.contains(i) ? "" : (r.deprived[i] ? "1" : "0"))
                } else {
                    cells.append("")
                }
            }
            cells.append(r.newlyEscaped ? "1" : "0")
            cells.append(r.rules.ruleSet.reference)
            return cells.map(CSVText.cell).joined(separator: ",") + "\n"
        case .jsonl:
            var o = JSONObject()
            o.add("household_id", .string(r.householdID))
            o.add("village", .string(r.village))
            o.add("area", .string(r.area))
            o.add("status", .string(r.status))
            o.add("deprivation_count", .int(r.deprivationCount))
            o.add("income_below_line", .int(r.incomeBelowLine ? 1 : 0))
            for (i, id) in own.enumerated() {
                o.add("d_" + id, r.unknownIndicators.contains(i) ? .null : .int(r.deprived[i] ? 1 : 0))
            }
            o.add("newly_escaped", .int(r.newlyEscaped ? 1 : 0))
            o.add("ruleset", .string(r.rules.ruleSet.reference))
            o.add("reference_date", .string(r.referenceDate.description))
            var reasons = JSONObject()
            for (i, id) in own.enumerated() where r.deprived[i] {
                var reason = JSONObject()
                reason.add("vi", .string(r.reasons[i][0]))
                reason.add("en", .string(r.reasons[i][1]))
                reason.add("members", .array(r.deprivedMembers[i].map(JSONValue.string)))
                reasons.add(id, .object(reason))
            }
            o.add("reasons", .object(reasons))
            return JSONValue.object(o).text + "\n"
        }
    }
}

/// Rows written in place through a pointer: a row of many small cells costs a store a byte,
/// not an array append a cell. Callers reserve before putting (`put` does not grow).
struct RowBytes {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var capacity: Int
    /// Whether `base` is this buffer's own allocation (not storage lent by `writingInto`).
    private var owned = true

    /// The bytes a row of classification results takes, about (a batch's first guess).
    static let rowEstimate = 96

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    /// Puts bytes into `storage` (an array's uninitialized capacity) while they fit, then into
    /// a buffer of its own with them copied (`isInPlace` false).
    init(writingInto storage: UnsafeMutableBufferPointer<UInt8>) {
        guard let start = storage.baseAddress, storage.count > 0 else {
            capacity = 64
            base = .allocate(capacity: capacity)
            return
        }
        base = start
        capacity = storage.count
        owned = false
    }

    /// Whether the bytes are still in the storage given to `writingInto`.
    var isInPlace: Bool { !owned }

    func free() { if owned { base.deallocate() } }

    /// Room for `n` more bytes.
    @inline(__always)
    mutating func reserve(_ n: Int) {
        guard count + n > capacity else { return }
        let c = max(capacity * 2, count + n)
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
        grown.initialize(from: base, count: count)
        if owned { base.deallocate() }
        base = grown
        capacity = c
        owned = true
    }

    @inline(__always)
    mutating func put(_ b: UInt8) {
        base[count] = b
        count += 1
    }

    @inline(__always)
    mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let p = bytes.baseAddress else { return }
        (base + count).initialize(from: p, count: bytes.count)
        count += bytes.count
    }

    /// Puts the eight bytes of `word`, lowest first (room reserved).
    @inline(__always)
    mutating func putWord(_ word: UInt64) {
        UnsafeMutableRawPointer(base + count).storeBytes(of: word.littleEndian, as: UInt64.self)
        count += 8
    }

    /// The bytes `putCopy` moves at a time.
    static let word = 8

    /// Puts the `n` bytes at `source`, reserving room for them, a word at a time (cells are a
    /// few words long, and a `memcpy` call costs more than copying them): `source` is readable
    /// up to a word past its end.
    @inline(__always)
    mutating func putCopy(of source: UnsafePointer<UInt8>, count n: Int) {
        reserve(n + RowBytes.word)
        let from = UnsafeRawPointer(source), to = UnsafeMutableRawPointer(base + count)
        var k = 0
        while k < n {
            to.storeBytes(of: from.loadUnaligned(fromByteOffset: k, as: UInt64.self), toByteOffset: k, as: UInt64.self)
            k += RowBytes.word
        }
        count += n
    }

    /// Puts `bytes`, reserving room for them.
    mutating func put(_ bytes: [UInt8]) {
        reserve(bytes.count)
        bytes.withUnsafeBufferPointer { put($0) }
    }

    /// Puts the digits of `v` (room reserved: at most 20 bytes).
    @inline(__always)
    mutating func putInt(_ v: Int) {
        if v >= 0 && v < 10 {
            put(UInt8(ascii: "0") + UInt8(v))
        } else {
            for b in String(v).utf8 { put(b) }
        }
    }

    /// Puts `CSVText.cell(s)`, reserving room for it; the text's bytes as they are when it
    /// needs neither a formula guard nor quotes (almost always), checked and copied in the same
    /// words.
    mutating func putCell(_ s: String) {
        let plain = s.utf8.withContiguousStorageIfAvailable { b -> Bool in
            reserve(b.count + RowBytes.word)
            let to = UnsafeMutableRawPointer(base + count)
            // Words past a quoted byte may be stored: `count` moves only when all were plain.
            guard CSVText.isPlain(b, eachWord: { at, w in to.storeBytes(of: w, toByteOffset: at, as: UInt64.self) }) else {
                return false
            }
            count += b.count
            return true
        } ?? false
        if !plain { put(Array(CSVText.cell(s).utf8)) }
    }
}

/// The CSV cells of a batch's pooled texts (`RecordTable.pooledTexts`), each made the first
/// time a row shows it and copied after: the rows of a village share its text, and making a
/// cell (the bytes of a String, the check for quotes and formula guards) costs several times
/// copying it.
struct PooledCells {
    private let texts: [String]
    /// Where each pooled text's cell is in `made` (a `MadeCells` span); -1 until made.
    private let spans: UnsafeMutablePointer<Int>
    private var made = MadeCells()

    init(texts: [String]) {
        self.texts = texts
        spans = .allocate(capacity: max(texts.count, 1))
        spans.initialize(repeating: -1, count: max(texts.count, 1))
    }

    func free() {
        spans.deallocate()
        made.free()
    }

    /// Puts the cell of pooled text `index` (nothing for `noText`: an absent text is an empty
    /// cell), reserving room for it.
    @inline(__always)
    mutating func put(_ index: Int32, to out: inout RowBytes) {
        guard index != RecordTable.noText else { return }
        var span = spans[Int(index)]
        if span < 0 { span = make(index) }
        made.put(span, to: &out)
    }

    private mutating func make(_ index: Int32) -> Int {
        let span = made.make { $0.putCell(texts[Int(index)]) }
        spans[Int(index)] = span
        return span
    }
}

/// Byte strings made once and copied into rows many times, a word at a time.
struct MadeCells {
    private var made = RowBytes(capacity: 1024)

    func free() { made.free() }

    /// Adds the bytes `body` puts; where they are (a span: start << 32 | count), with room for
    /// `RowBytes.putCopy` to read a word past their end.
    mutating func make(_ body: (inout RowBytes) -> Void) -> Int {
        let start = made.count
        body(&made)
        made.reserve(RowBytes.word)
        return start << 32 | (made.count - start)
    }

    /// Puts the bytes of `span` (from `make`), reserving room for them.
    @inline(__always)
    func put(_ span: Int, to out: inout RowBytes) {
        out.putCopy(of: made.base + (span >> 32), count: span & 0xFFFF_FFFF)
    }
}

/// RFC 4180 cells that are safe to open in a spreadsheet: a cell that starts like a formula
/// (`=`, `+`, `-`, `@`) and is not a number is prefixed with `'` so it stays text.
public enum CSVText {
    public static func cell(_ s: String) -> String {
        var text = s
        if let first = text.utf8.first, first == UInt8(ascii: "=") || first == UInt8(ascii: "+") || first == UInt8(ascii: "-") || first == UInt8(ascii: "@"),
           !isNumber(text) {
            text = "'" + text
        }
        if text.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 10 || $0 == 13 }) {
            return "\"" + text.replacingAll("\"", with: "\"\"") + "\""
        }
        return text
    }

    /// Appends `cell(s)` to `out`, copying the bytes straight when the text needs neither a
    /// formula guard nor quotes (almost always).
    public static func appendCell(_ s: String, to out: inout [UInt8]) {
        var s = s
        let plain = s.withUTF8 { b -> Bool in
            guard isPlain(b) else { return false }
            out.append(contentsOf: b)
            return true
        }
        if !plain { out.append(contentsOf: cell(s).utf8) }
    }

    /// Whether text `b` is its own cell: no formula guard (`cell`'s first characters), nothing
    /// to quote.
    @inline(__always)
    static func isPlain(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        isPlain(b, eachWord: { _, _ in })
    }

    /// `isPlain(b)`, handing each word of the text it checks to `eachWord` with its byte offset
    /// (in memory order; words may overlap, with the same bytes where they do, and a text
    /// shorter than a word is one word with zeros after it): a copy of a plain text costs no
    /// more loads than its check.
    @inline(__always)
    static func isPlain(_ b: UnsafeBufferPointer<UInt8>, eachWord: (Int, UInt64) -> Void) -> Bool {
        guard let base = b.baseAddress, b.count > 0 else { return true }
        let first = base[0]
        if first == UInt8(ascii: "=") || first == UInt8(ascii: "+") || first == UInt8(ascii: "-") || first == UInt8(ascii: "@") {
            return false
        }
        // Eight bytes a step, the last step over the text's last eight bytes (a byte seen twice
        // is the same answer); shorter texts in one word.
        let n = b.count, raw = UnsafeRawPointer(base)
        guard n >= 8 else {
            // Gathered into a word, zeros after the text (no zero byte is a byte to quote): from
            // 4 bytes on, the first four and the last four (overlapping: the same bytes or'ed).
            var w: UInt64 = 0
            if n >= 4 {
                let low = UInt64(UInt32(littleEndian: raw.loadUnaligned(as: UInt32.self)))
                let high = UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)))
                w = low | high << UInt64(8 * (n - 4))
            } else {
                for k in 0..<n { w |= UInt64(base[k]) << UInt64(8 * k) }
            }
            guard !quotedByteIn(w) else { return false }
            eachWord(0, w.littleEndian)
            return true
        }
        var i = 0
        while i < n {
            let at = min(i, n - 8)
            let w = raw.loadUnaligned(fromByteOffset: at, as: UInt64.self)
            if quotedByteIn(UInt64(littleEndian: w)) { return false }
            eachWord(at, w)
            i += 8
        }
        return true
    }

    /// Whether one of the eight bytes of `w` is a comma, a double quote, LF or CR: a zero byte
    /// of `w` xor each repeated (`(x - 0x01…) & ~x & 0x80…` is nonzero exactly when `x` has one).
    @inline(__always)
    static func quotedByteIn(_ w: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        func zeroByte(_ x: UInt64) -> UInt64 { (x &- ones) & ~x & highs }
        let found = zeroByte(w ^ (ones &* UInt64(UInt8(ascii: ",")))) | zeroByte(w ^ (ones &* UInt64(UInt8(ascii: "\""))))
            | zeroByte(w ^ (ones &* 10)) | zeroByte(w ^ (ones &* 13))
        return found != 0
    }

    /// Appends the decimal digits of `v`.
    public static func appendInt(_ v: Int, to out: inout [UInt8]) {
        if v >= 0 && v < 10 {
            out.append(UInt8(ascii: "0") + UInt8(v))
        } else {
            out.append(contentsOf: String(v).utf8)
        }
    }

    static func isNumber(_ s: String) -> Bool {
        var u = Substring(s)
        if u.first == "-" || u.first == "+" { u = u.dropFirst() }
        guard !u.isEmpty else { return false }
        var dot = false
        for c in u {
            if c == "." { if dot { return false }; dot = true } else if !c.isASCII || !c.isNumber { return false }
        }
        return true
    }
}

extension String {
    /// Replaces every `target` with `replacement`. An ASCII target is replaced byte by byte
    /// (what quoting a CSV cell asks for, and much cheaper than walking grapheme clusters: the
    /// reasons of an eligibility list are quoted sentences, one per person and programme).
    func replacingAll(_ target: Character, with replacement: String) -> String {
        guard let t = target.asciiValue else {
            var out = ""
            for c in self { if c == target { out += replacement } else { out.append(c) } }
            return out
        }
        guard utf8.contains(t) else { return self }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count + 16)
        let r = replacement.utf8
        for b in utf8 { if b == t { out.append(contentsOf: r) } else { out.append(b) } }
        return String(decoding: out, as: UTF8.self)
    }
}

/// A small ordered JSON builder: keys keep insertion order so output is deterministic.
public struct JSONObject: Sendable {
    public private(set) var pairs: [(String, JSONValue)] = []
    public init() {}
    public mutating func add(_ key: String, _ value: JSONValue) { pairs.append((key, value)) }
}

public indirect enum JSONValue: Sendable {
    case null, bool(Bool), int(Int), double(Double), string(String), array([JSONValue]), object(JSONObject)

    public var text: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d):
            if d.isFinite, d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) + ".0" }
            return d.isFinite ? String(d) : "null"
        case .string(let s): return JSONValue.quote(s)
        case .array(let items): return "[" + items.map(\.text).joined(separator: ",") + "]"
        case .object(let o): return "{" + o.pairs.map { JSONValue.quote($0.0) + ":" + $0.1.text }.joined(separator: ",") + "}"
        }
    }

    /// One JSON string escape for every output: the expression language's.
    public static func quote(_ s: String) -> String { CELJSON.quoteJSON(s) }
}
