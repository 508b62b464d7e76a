import Diagnostics

/// Columnar records of one batch: one value array per field, codes as small integers, dates as
/// day numbers, flags as 0/1. Absent values hold `RecordTable.absent`.
public struct RecordTable: Sendable {
    public let fields: [FieldSpec]
    public var count: Int
    public let file: String
    /// Raw column storage: Int64 bit patterns (Double bits for decimals, day numbers for dates,
    /// code ids, code-set masks, 0/1 for flags); `absent` when missing. Empty for text fields,
    /// whose cells are in the text columns (`text`, `textIndexes`).
    public internal(set) var values: [[Int64]]
    /// The fields with values in `values`: all but the texts.
    private let valueFields: [Int]
    /// While the reader builds the table, the rows of `values` that hold values; the columns
    /// have `valueRoom` rows, the rest not yet written (see `writeValues`, `endValues`).
    private var valueRows = 0
    private var valueRoom = 0
    /// Text cells as indexes into `strings` (`noText` when absent; empty for non-text fields).
    /// Freeing a batch then frees a few plain arrays and the distinct strings, instead of
    /// releasing an optional String per cell; and a value repeated on consecutive rows (the
    /// household id of members, a village) is stored once.
    private var textColumns: [TextColumn]
    private var strings: [String] = []
    /// The index of an absent text in `textIndexes`.
    public static let noText: Int32 = -1

    /// The text ids of one field, with the last string stored (its raw bits) and its index:
    /// the same String again (the reader hands out one String per distinct cell value) reuses
    /// the index. The string stays in `strings` while the batch lives, so its bits stay its own.
    struct TextColumn {
        var ids: [Int32] = []
        var lastBits: (UInt64, UInt64) = (0, 0)
        var lastID = RecordTable.noText

        @inline(__always) mutating func append(_ text: String?, pool: inout [String]) {
            ids.append(id(of: text, pool: &pool))
        }

        /// The index of `text` in `pool`, adding it unless it is the last one stored.
        @inline(__always) mutating func id(of text: String?, pool: inout [String]) -> Int32 {
            guard let text else { return RecordTable.noText }
            let bits = unsafeBitCast(text, to: (UInt64, UInt64).self)
            if lastID == RecordTable.noText || bits != lastBits {
                lastID = Int32(truncatingIfNeeded: pool.count)
                lastBits = bits
                pool.append(text)
            }
            return lastID
        }
    }
    var lines: [Int32]
    private let index: [String: Int]
    /// 1-based CSV column of each field; 0 when the file has no such column.
    public let columns: [Int]

    public static let absent = Int64.min

    public init(fields: [FieldSpec], file: String, columns: [Int] = []) {
        self.fields = fields
        self.file = file
        self.columns = columns
        count = 0
        values = Array(repeating: [], count: fields.count)
        valueFields = fields.indices.filter { if case .text = fields[$0].type { false } else { true } }
        textColumns = Array(repeating: TextColumn(), count: fields.count)
        lines = []
        var idx: [String: Int] = [:]
        for (i, f) in fields.enumerated() { idx[f.name] = i }
        index = idx
    }

    public func fieldIndex(_ name: String) -> Int? { index[name] }

    public func isPresent(_ field: Int, _ row: Int) -> Bool {
        if case .text = fields[field].type { return textColumns[field].ids[row] != RecordTable.noText }
        return values[field][row] != RecordTable.absent
    }

    /// `isPresent(field, _)` with the field's kind and column looked up once, for a test of
    /// every row of a column.
    public func presence(_ field: Int) -> (Int) -> Bool {
        if case .text = fields[field].type {
            let ids = textColumns[field].ids
            return { ids[$0] != RecordTable.noText }
        }
        let column = values[field]
        return { column[$0] != RecordTable.absent }
    }

    @inline(__always) func raw(_ field: Int, _ row: Int) -> Int64? {
        let v = values[field][row]
        return v == RecordTable.absent ? nil : v
    }

    public func bool(_ field: Int, _ row: Int) -> Bool? { raw(field, row).map { $0 != 0 } }
    public func int(_ field: Int, _ row: Int) -> Int64? { raw(field, row) }
    public func decimal(_ field: Int, _ row: Int) -> Double? { raw(field, row).map { Double(bitPattern: UInt64(bitPattern: $0)) } }
    public func text(_ field: Int, _ row: Int) -> String? {
        let id = textColumns[field].ids[row]
        return id == RecordTable.noText ? nil : strings[Int(id)]
    }
    /// The index of each row's text of field `field` in `pooledTexts` (`noText` when absent):
    /// rows with the same index have the same text, so a writer can make what it writes of a
    /// text once per index instead of once per row.
    public func textIndexes(_ field: Int) -> [Int32] { textColumns[field].ids }
    /// The batch's pool of texts, of every text field, that `textIndexes` point into.
    public var pooledTexts: [String] { strings }
    /// True when text field `field` has a value in `row`.
    public func hasText(_ field: Int, _ row: Int) -> Bool { textColumns[field].ids[row] != RecordTable.noText }
    public func code(_ field: Int, _ row: Int) -> Int32? { raw(field, row).map { Int32(truncatingIfNeeded: $0) } }
    public func codeSet(_ field: Int, _ row: Int) -> UInt64? { raw(field, row).map { UInt64(bitPattern: $0) } }
    public func date(_ field: Int, _ row: Int) -> CivilDate? { raw(field, row).map { CivilDate(dayNumber: Int32(truncatingIfNeeded: $0)) } }
    /// A date column as a day number (days since 1970-01-01).
    public func dayNumber(_ field: Int, _ row: Int) -> Int32? { raw(field, row).map { Int32(truncatingIfNeeded: $0) } }

    /// Source line of the row, for diagnostics.
    public func line(_ row: Int) -> Int { Int(lines[row]) }

    /// Where a row, or one of its cells, stands in the file.
    public func location(_ row: Int, field: Int? = nil) -> SourceLocation {
        var column = 1
        if let field, field < columns.count, columns[field] > 0 { column = columns[field] }
        return SourceLocation(file: file, line: line(row), column: column)
    }

    /// Appends the texts and line of a row whose values go to a `RowStore` (moved in with
    /// `takeValues` when the batch is complete).
    @inline(__always) mutating func appendRow(texts rowTexts: UnsafePointer<String?>, fields: UnsafePointer<Int>, count n: Int,
                                              line: Int) {
        // One uniqueness check of the columns per row, not one per text field.
        textColumns.withUnsafeMutableBufferPointer { columns in
            for k in 0..<n {
                let f = fields[k]
                columns[f].append(rowTexts[f], pool: &strings)
            }
        }
        lines.append(Int32(truncatingIfNeeded: line))
        count += 1
    }

    /// Drops rows from `n` on (texts and lines; the values live in the `RowStore`).
    mutating func truncateRows(to n: Int, textFields: [Int]) {
        guard n < count else { return }
        // Their strings stay in `strings` until the batch is freed: `lastID` may point at them.
        for f in textFields { textColumns[f].ids.removeLast(count - n) }
        lines.removeLast(count - n)
        count = n
    }

    /// Appends the store's rows to the value columns, and empties the store: the values of the
    /// rows appended with `appendRow` since the last call.
    mutating func takeValues(_ store: RowStore) {
        appendValues(store.column(0), stride: store.columnStride, from: 0, count: store.count)
        store.count = 0
    }

    /// `takeValues`, then cuts the value columns to the rows written: the table is complete.
    mutating func endValues(_ store: RowStore) {
        takeValues(store)
        if valueRoom > valueRows {
            for f in valueFields { values[f].removeLast(valueRoom &- valueRows) }
        }
        valueRoom = valueRows
    }

    /// Appends rows `from..<from + n` of the column-major values at `source` (field f's column
    /// at `source + f * stride`) to the value columns.
    mutating func appendValues(_ source: UnsafePointer<Int64>, stride: Int, from: Int, count n: Int) {
        guard n > 0 else { return }
        let valueFields = self.valueFields
        _ = writeValues(rows: n) { columns in
            for f in valueFields { columns[f].update(from: source + (f &* stride &+ from), count: n) }
            return true
        }
    }

    /// Lets `body` write the values of the next `n` rows straight into the value columns, field
    /// f's at `columns[f][0..<n]`, and appends them when it returns true (when false, they are
    /// left unwritten, as before the call). A decoder writing there stores each value once,
    /// instead of into a scratch block that is copied: a batch's columns are megabytes, out of
    /// the cache, and that copy cost more than the decode's own stores. A text field's
    /// `columns[f]` is scratch, shared by them all, whose values are dropped.
    mutating func writeValues(rows n: Int, _ body: (_ columns: UnsafePointer<UnsafeMutablePointer<Int64>>) -> Bool) -> Bool {
        makeRoom(n)
        let row = valueRows, valueFields = self.valueFields, fieldCount = fields.count
        let written = withUnsafeTemporaryAllocation(of: Int64.self, capacity: Swift.max(1, n)) { dropped in
            withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<Int64>.self, capacity: Swift.max(1, fieldCount)) { pointers in
                pointers.baseAddress!.initialize(repeating: dropped.baseAddress!, count: fieldCount)
                return values.withUnsafeMutableBufferPointer { columns in
                    valueFields.withUnsafeBufferPointer { valueFields in
                        RecordTable.holding(columns, valueFields, from: 0, at: row, into: pointers.baseAddress!) { body(pointers.baseAddress!) }
                    }
                }
            }
        }
        if written { valueRows &+= n }
        return written
    }

    /// Calls `body` with `pointers[f]` at row `row` of column f, for every field f of `fields`
    /// from the k-th on, while each column's storage is held (`withUnsafeMutableBufferPointer`).
    private static func holding(_ columns: UnsafeMutableBufferPointer<[Int64]>, _ fields: UnsafeBufferPointer<Int>, from k: Int,
                                at row: Int, into pointers: UnsafeMutablePointer<UnsafeMutablePointer<Int64>>,
                                _ body: () -> Bool) -> Bool {
        guard k < fields.count else { return body() }
        let f = fields[k]
        return columns[f].withUnsafeMutableBufferPointer { column in
            pointers[f] = column.baseAddress! + row
            return holding(columns, fields, from: k &+ 1, at: row, into: pointers, body)
        }
    }

    /// Room in every value column for `n` rows after those written, at least one: new room is
    /// left unwritten (`Int64` needs no initializing), each row written before the table is
    /// read, or cut by `endValues`.
    private mutating func makeRoom(_ n: Int) {
        let needed = valueRows &+ Swift.max(n, 1)
        guard needed > valueRoom else { return }
        let room = Swift.max(needed, 2 &* valueRoom), rows = valueRows
        for f in valueFields {
            values[f] = values[f].withUnsafeBufferPointer { old in
                [Int64](unsafeUninitializedCapacity: room) { column, done in
                    if rows > 0 { column.baseAddress!.initialize(from: old.baseAddress!, count: rows) }
                    done = room
                }
            }
        }
        valueRoom = room
    }

    /// Appends `n` texts of field `field`, the i-th `text(i)`, for rows appended a column at a
    /// time (with `appendLines`).
    @inline(__always) mutating func appendTexts(_ field: Int, count n: Int, _ text: (Int) -> String?) {
        appendTextIDs(field, count: n) { texts, ids in
            for i in 0..<n { ids[i] = texts.id(of: text(i)) }
        }
    }

    /// The strings of one field's texts as `appendTextIDs` takes them: a String's index in the
    /// batch's strings.
    struct TextIDs {
        fileprivate let column: UnsafeMutablePointer<TextColumn>
        fileprivate let pool: UnsafeMutablePointer<[String]>

        /// The index of `text` (`noText` for nil), stored unless it is the last one stored.
        @inline(__always) func id(of text: String?) -> Int32 { column.pointee.id(of: text, pool: &pool.pointee) }
    }

    /// Appends `n` texts of field `field`, for rows appended a column at a time: `body` sets the
    /// i-th one's index in `ids[i]`, from `texts.id(of:)` or as an index it set before for an
    /// equal text (a cell with the same bytes as another), which costs no String.
    @inline(__always) mutating func appendTextIDs(_ field: Int, count n: Int,
                                                  _ body: (_ texts: TextIDs, _ ids: UnsafeMutablePointer<Int32>) -> Void) {
        guard n > 0 else { return }
        // The ids in a scratch block, appended to the column at once.
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: n) { scratch in
            let ids = scratch.baseAddress!
            textColumns.withUnsafeMutableBufferPointer { columns in
                withUnsafeMutablePointer(to: &strings) { pool in body(TextIDs(column: columns.baseAddress! + field, pool: pool), ids) }
                columns[field].ids.append(contentsOf: UnsafeBufferPointer(start: ids, count: n))
            }
        }
    }

    /// Appends `text` `n` times to field `field` (a default), for rows appended a column at a
    /// time.
    mutating func appendText(_ field: Int, _ text: String?, repeated n: Int) {
        appendTexts(field, groups: 1, rows: n) { _ in (text, n) }
    }

    /// Appends texts of field `field` for `rows` rows in `groups` groups of rows with one text,
    /// group g being `group(g)` = (its text, its number of rows): the household id of each
    /// household's members, for rows appended a column at a time.
    @inline(__always) mutating func appendTexts(_ field: Int, groups: Int, rows n: Int, _ group: (Int) -> (String?, Int)) {
        guard n > 0 else { return }
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: n) { scratch in
            let ids = scratch.baseAddress!
            textColumns.withUnsafeMutableBufferPointer { columns in
                var i = 0
                for g in 0..<groups {
                    let (text, k) = group(g)
                    (ids + i).initialize(repeating: columns[field].id(of: text, pool: &strings), count: k)
                    i &+= k
                }
                columns[field].ids.append(contentsOf: UnsafeBufferPointer(start: ids, count: i))
            }
        }
    }

    /// Appends `n` texts of field `field`, the i-th `text(i)`, for rows appended a column at a
    /// time whose texts differ row after row (household ids): each goes to the pool as it comes,
    /// without the comparison with the last one stored, which would never find it again.
    @inline(__always) mutating func appendDistinctTexts(_ field: Int, count n: Int, _ text: (Int) -> String?) {
        guard n > 0 else { return }
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: n) { scratch in
            let ids = scratch.baseAddress!
            for i in 0..<n {
                if let t = text(i) {
                    ids[i] = Int32(truncatingIfNeeded: strings.count)
                    strings.append(t)
                } else {
                    ids[i] = RecordTable.noText
                }
            }
            textColumns.withUnsafeMutableBufferPointer { columns in
                columns[field].ids.append(contentsOf: UnsafeBufferPointer(start: ids, count: n))
                // The next text compared with the last one stored is stored anew.
                columns[field].lastID = RecordTable.noText
            }
        }
    }

    /// Appends texts of field `field` for rows appended a column at a time, in groups of rows
    /// with one text: the `size(g)` rows of group g take the text of row `rows.lowerBound + g` of
    /// `source`'s field `sourceField` (the household id of each household's members). The
    /// source's texts of those rows come over into this pool in one piece, the stretch of its
    /// pool they stand in (one slot each after `appendDistinctTexts`), with no comparison.
    mutating func appendTexts(_ field: Int, of source: RecordTable, field sourceField: Int, rows: Range<Int>,
                              size: (Int) -> Int) {
        source.textColumns[sourceField].ids.withUnsafeBufferPointer { all in
            let sourceIDs = UnsafeBufferPointer(rebasing: all[rows])
            var low = Int32.max, high = Int32.min
            for id in sourceIDs where id != RecordTable.noText {
                low = min(low, id)
                high = max(high, id)
            }
            // Source slot s is slot s + shift here.
            let shift = Int32(truncatingIfNeeded: strings.count) &- low
            // One append each: appending the slice copies each String through the runtime's
            // generic copy, at twice the instructions.
            if low <= high {
                for s in Int(low)...Int(high) { strings.append(source.strings[s]) }
            }
            var n = 0
            for g in sourceIDs.indices { n &+= size(g) }
            guard n > 0 else { return }
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: n) { scratch in
                var at = scratch.baseAddress!
                for (g, id) in sourceIDs.enumerated() {
                    let k = size(g)
                    at.initialize(repeating: id == RecordTable.noText ? id : id &+ shift, count: k)
                    at += k
                }
                textColumns.withUnsafeMutableBufferPointer { columns in
                    columns[field].ids.append(contentsOf: UnsafeBufferPointer(start: scratch.baseAddress!, count: n))
                    columns[field].lastID = RecordTable.noText
                }
            }
        }
    }

    /// Ends the appending of `n` rows a column at a time: their lines; their texts and values
    /// are appended already.
    mutating func appendLines(_ rowLines: UnsafePointer<Int32>, count n: Int) {
        lines.append(contentsOf: UnsafeBufferPointer(start: rowLines, count: n))
        count += n
    }

    mutating func reserve(_ n: Int, textFields: [Int]) {
        makeRoom(n)
        for f in textFields { textColumns[f].ids.reserveCapacity(n) }
        strings.reserveCapacity(n)
        lines.reserveCapacity(n)
    }
}

/// Column-major value scratch of the rows the row path appends: a row is appended with one store
/// per field and dropped by moving the count back; `RecordTable.takeValues` copies each column
/// once per batch, or before rows decoded a column at a time are appended.
///
/// Columns are `stride` values apart, and the stride is one cache line more than the capacity:
/// with a power-of-two distance every column of a row would fall in the same cache set, and
/// the 20-odd stores of an appended row would evict each other's lines from L1 and L2.
final class RowStore {
    let fieldCount: Int
    @exclusivity(unchecked) private var cols: UnsafeMutablePointer<Int64>
    @exclusivity(unchecked) private var cap: Int
    @exclusivity(unchecked) private var stride: Int
    @exclusivity(unchecked) var count = 0

    init(fieldCount: Int, capacity: Int = 1024) {
        self.fieldCount = max(1, fieldCount)
        cap = max(16, capacity)
        stride = RowStore.stride(for: cap)
        cols = .allocate(capacity: stride * self.fieldCount)
    }

    deinit { cols.deallocate() }

    private static func stride(for cap: Int) -> Int { cap + 8 }

    @inline(__always) func append(_ row: UnsafeMutablePointer<Int64>) {
        if count == cap { grow() }
        // In locals: the stores through `p` could alias this object's fields for all the
        // compiler knows, and it would load them again for every field.
        let s = stride, n = fieldCount
        var p = cols + count
        for f in 0..<n { p.pointee = row[f]; p += s }
        count += 1
    }

    @inline(__always) func value(_ row: Int, _ field: Int) -> Int64 { cols[field * stride + row] }
    @inline(__always) func column(_ field: Int) -> UnsafePointer<Int64> { UnsafePointer(cols + field * stride) }
    /// The distance from one field's column to the next.
    var columnStride: Int { stride }

    private func grow() {
        let n = cap * 2
        let s = RowStore.stride(for: n)
        let r = UnsafeMutablePointer<Int64>.allocate(capacity: s * fieldCount)
        for f in 0..<fieldCount { (r + f * s).update(from: cols + f * stride, count: count) }
        cols.deallocate()
        cols = r
        cap = n
        stride = s
    }
}

/// One batch of accepted households with their members.
public struct SurveyBatch: Sendable {
    public var households: RecordTable
    public var members: RecordTable
    /// Member rows of household i.
    public var memberRanges: [Range<Int>]
    /// Reference date of household i: `--as-of`, else its review date, else today.
    public var referenceDates: [CivilDate]
    /// Completed months of age of each member row on its household's reference date.
    public var ageMonths: [Int32]

    /// Completed years of age of member row `m`.
    public func ageYears(_ m: Int) -> Int { CivilDate.completedYears(months: Int(ageMonths[m])) }
}

/// Row accounting of a survey read: read = accepted + rejected for both files.
public struct SurveyCounts: Sendable, Equatable {
    public var householdsRead = 0
    public var householdsAccepted = 0
    public var householdsRejected = 0
    public var membersRead = 0
    public var membersAccepted = 0
    public var membersRejected = 0
    /// Rows with no value at all (blank lines, rows of commas), skipped.
    public var blankRows = 0

    public init() {}

    /// `read 2000 households (2000 accepted, 0 rejected) and 7012 members (7012 accepted, 0 rejected)`
    public var summary: String {
        "read \(householdsRead) households (\(householdsAccepted) accepted, \(householdsRejected) rejected) and \(membersRead) members (\(membersAccepted) accepted, \(membersRejected) rejected)"
            + (blankRows > 0 ? "; skipped \(blankRows) blank rows" : "")
    }
}

/// One data problem: a stable kind, the diagnostic (file, line, column, value, what was expected),
/// and the household it rejected when known.
public struct DataProblem: Sendable {
    public let kind: String
    public let diagnostic: Diagnostic
    public let householdID: String?

    public init(kind: String, diagnostic: Diagnostic, householdID: String?) {
        self.kind = kind
        self.diagnostic = diagnostic
        self.householdID = householdID
    }
}
