import Diagnostics
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One problem found in a row before the row's consequence is known.
struct RowIssue {
    var kind: String
    var location: SourceLocation
    var message: String
    var hint: String?
}

/// One CSV file of the survey with its header resolved against the schema: which column feeds
/// which field, how each field's bytes become a value, and the per-row scratch values.
final class TableInput {
    enum Kind { case text, personal, bool, int, decimal, date, birthDate, code, codeSet }

    let csv: CSVReader
    let table: String
    let noun: String
    let file: String
    let specs: [FieldSpec]
    @exclusivity(unchecked) private(set) var colField: [Int] = []
    @exclusivity(unchecked) private(set) var fieldCol: [Int]
    @exclusivity(unchecked) private(set) var headers: [String] = []
    @exclusivity(unchecked) private(set) var kinds: [Kind] = []
    @exclusivity(unchecked) private var tokens: [TokenTable?] = []
    @exclusivity(unchecked) private var caches: [TextCache?] = []
    /// Per flag, code and code-set field: its spellings by length, for `decodeColumns`.
    @exclusivity(unchecked) private var spellings: [ShortSpellings?] = []
    /// Per flag and code field whose column has a comma after it: its spellings by slot, for
    /// `decodeColumns`.
    @exclusivity(unchecked) private var commaSpellings: [CommaSpellings?] = []
    /// Per code-set field: whole cells (lists) met and their masks, for `decodeColumns`.
    @exclusivity(unchecked) private var wholeLists: [ShortSpellings?] = []
    @exclusivity(unchecked) private var defaults: [Int64] = []
    @exclusivity(unchecked) private var defaultTexts: [String?] = []
    @exclusivity(unchecked) private(set) var textFields: [Int] = []
    @exclusivity(unchecked) private var codeLists: [CodeList?] = []
    @exclusivity(unchecked) private var spellingHints: [[String]] = []
    let hidField: Int
    /// A field the caller fills itself (the household id of a member, joined).
    @exclusivity(unchecked) var skipField = -1 { didSet { planSkip = Int.min } }

    /// What to do with each mapped column, in column order, resolved once (no look-ups per cell).
    struct ColPlan {
        var col: Int
        var field: Int
        var kind: Kind
        var required: Bool
        var hasMinimum: Bool
        /// The field's lower bound (when `hasMinimum`), and whether it is excluded.
        var minimum: Double
        var minimumExclusive: Bool
        var maxAgeYears: Int?
        var token: Unmanaged<TokenTable>?
        /// The token table's cache of short spellings (`TokenTable.cached`), read without a call.
        var fast: UnsafeMutablePointer<UInt64>?
        var cache: Unmanaged<TextCache>?
        var spellings: Unmanaged<ShortSpellings>?
        var wholeLists: Unmanaged<ShortSpellings>?
        var commaSpellings: Unmanaged<CommaSpellings>?
        /// For a flag column: the values of the spellings `true` and `false` (a mapping may
        /// give either another meaning), checked on the cell's bytes before the token table.
        var flagTrue: Int64 = -1
        var flagFalse: Int64 = -1
        /// A text or personal field: an empty cell sets its default text.
        var isText = false
    }
    /// The plan in plain memory (a POD per column): the per-row loop neither retains an array nor
    /// checks its bounds.
    @exclusivity(unchecked) private var plan: UnsafeMutablePointer<ColPlan>
    @exclusivity(unchecked) private var planCount = 0
    @exclusivity(unchecked) private var planSkip = Int.min

    private func buildPlan() {
        planCount = 0
        for c in 0..<colField.count {
            let f = colField[c]
            if f < 0 || f == skipField { continue }
            plan[planCount] = ColPlan(col: c, field: f, kind: kinds[f], required: required[f], hasMinimum: specs[f].minimum != nil,
                                      minimum: specs[f].minimum ?? 0, minimumExclusive: specs[f].minimumExclusive,
                                      maxAgeYears: specs[f].maxAgeYears,
                                      token: tokens[f].map { Unmanaged.passUnretained($0) },
                                      fast: tokens[f]?.fast,
                                      cache: caches[f].map { Unmanaged.passUnretained($0) },
                                      spellings: spellings[f].map { Unmanaged.passUnretained($0) },
                                      wholeLists: wholeLists[f].map { Unmanaged.passUnretained($0) },
                                      commaSpellings: commaSpellings[f].map { Unmanaged.passUnretained($0) })
            plan[planCount].isText = kinds[f] == .text || kinds[f] == .personal
            if kinds[f] == .bool, let t = tokens[f] {
                plan[planCount].flagTrue = TableInput.resolve("true", t)
                plan[planCount].flagFalse = TableInput.resolve("false", t)
            }
            planCount += 1
        }
        planSkip = skipField
        // The fields `decodeColumns` fills with their default: those no planned column of
        // values writes.
        unwrittenCount = 0
        for f in 0..<specs.count where !(0..<planCount).contains(where: { plan[$0].field == f && !plan[$0].isText }) {
            unwritten[unwrittenCount] = f
            unwrittenCount += 1
        }
        // The text fields no planned column sets: reset to their default on every row.
        uncoveredTextCount = 0
        for f in textFields where !(0..<planCount).contains(where: { plan[$0].field == f }) {
            uncoveredTexts[uncoveredTextCount] = f
            uncoveredTextCount += 1
        }
    }
    @exclusivity(unchecked) private var uncoveredTexts: UnsafeMutablePointer<Int> = .allocate(capacity: 1)
    @exclusivity(unchecked) private var uncoveredTextCount = 0
    @exclusivity(unchecked) private var unwritten: UnsafeMutablePointer<Int> = .allocate(capacity: 1)
    @exclusivity(unchecked) private var unwrittenCount = 0
    /// `defaultTexts` in plain memory.
    @exclusivity(unchecked) private var defaultTextVals: UnsafeMutablePointer<String?> = .allocate(capacity: 1)
    private var required: [Bool] = []

    /// Off: every cell takes the general path (`trimmedField`, the token table), for tests that
    /// compare the quick paths of `decode` with it.
    nonisolated(unsafe) static var decodeQuickPathsByDefault = true
    @exclusivity(unchecked) var usesDecodeQuickPaths = TableInput.decodeQuickPathsByDefault

    /// The value `table` gives the spelling `s` (from a buffer with the slack its look-up reads).
    private static func resolve(_ s: String, _ table: TokenTable) -> Int64 {
        var bytes = Array(s.utf8)
        bytes += [UInt8](repeating: 0, count: 32)
        return bytes.withUnsafeBufferPointer { table.resolve($0.baseAddress!, s.utf8.count) }
    }

    /// The value of a flag cell spelled exactly `true` or `false` (`trueValue`, `falseValue`),
    /// else nil. Reads 4 bytes from `p` (the CSV buffer has slack after its end).
    @inline(__always) static func plainFlag(_ p: UnsafePointer<UInt8>, _ n: Int, _ trueValue: Int64, _ falseValue: Int64) -> Int64? {
        let w = UnsafeRawPointer(p).loadUnaligned(as: UInt32.self)
        if n == 4 && w == 0x6575_7274 { return trueValue }                    // "true"
        if n == 5 && w == 0x736C_6166 && p[4] == 0x65 { return falseValue }  // "fals" + "e"
        return nil
    }
    @exclusivity(unchecked) private(set) var hidCol = -1
    let rowVals: UnsafeMutablePointer<Int64>
    /// The row's texts by field, in plain memory: reading or appending them per row retains no
    /// array (an `[String?]` passed along is retained and released on every row).
    let rowTexts: UnsafeMutablePointer<String?>
    /// `textFields` in plain memory, for the same reason.
    @exclusivity(unchecked) private var textFieldList: UnsafeMutablePointer<Int> = .allocate(capacity: 1)
    @exclusivity(unchecked) private var textFieldCount = 0
    @exclusivity(unchecked) var keepPersonal = false

    init(path: String, table: String, specs: [FieldSpec], schema: SurveySchema, mappings: [HeaderMapping],
         problems: inout [Diagnostic]) throws(Diagnostic) {
        csv = try CSVReader(path: path)
        self.table = table
        noun = table == "households" ? "household" : "member"
        file = path
        self.specs = specs
        birthMaxAge = specs.first { $0.type == .birthDate }?.maxAgeYears
        fieldCol = Array(repeating: -1, count: specs.count)
        hidField = specs.firstIndex { $0.name == "household_id" }!
        rowVals = .allocate(capacity: max(1, specs.count))
        defaultVals = .allocate(capacity: max(1, specs.count))
        rowTexts = .allocate(capacity: max(1, specs.count))
        rowTexts.initialize(repeating: nil, count: max(1, specs.count))
        required = specs.map(\.isRequired)
        plan = .allocate(capacity: 1)
        try readHeader(schema: schema, mappings: mappings, problems: &problems)
        plan.deallocate()
        plan = .allocate(capacity: max(1, colField.count))
        buildDecoders(schema: schema, mappings: mappings)
        for f in 0..<specs.count { defaultVals[f] = defaults[f] }
        textFieldCount = textFields.count
        textFieldList.deallocate()
        textFieldList = .allocate(capacity: max(1, textFields.count))
        textFieldList.initialize(from: textFields, count: textFields.count)
        uncoveredTexts.deallocate()
        uncoveredTexts = .allocate(capacity: max(1, textFields.count))
        unwritten.deallocate()
        unwritten = .allocate(capacity: max(1, specs.count))
        defaultTextVals.deallocate()
        defaultTextVals = .allocate(capacity: max(1, specs.count))
        defaultTextVals.initialize(repeating: nil, count: max(1, specs.count))
        for f in 0..<specs.count { defaultTextVals[f] = defaultTexts[f] }
    }

    deinit {
        rowVals.deallocate()
        rowTexts.deinitialize(count: max(1, specs.count))
        rowTexts.deallocate()
        textFieldList.deallocate()
        uncoveredTexts.deallocate()
        unwritten.deallocate()
        defaultTextVals.deinitialize(count: max(1, specs.count))
        defaultTextVals.deallocate()
        defaultVals.deallocate()
        plan.deallocate()
        missed.deallocate()
    }

    /// `defaults` in plain memory, copied into `rowVals` at the start of each row.
    private let defaultVals: UnsafeMutablePointer<Int64>

    // MARK: header

    private func readHeader(schema: SurveySchema, mappings: [HeaderMapping], problems: inout [Diagnostic]) throws(Diagnostic) {
        let start = SourceLocation(file: file, line: 1, column: 1)
        guard csv.next() else {
            throw Diagnostic.error(at: start, "the file is empty; expected a header row naming the \(table) columns",
                                   hint: "see docs/data.md for the columns of \(table).csv")
        }
        let (rp, rn) = csv.recordBytes
        if let bad = SurveyText.firstInvalidUTF8(rp, rn) {
            throw Diagnostic.error(at: csv.location(ofOffset: csv.recordStart + bad),
                                   "the file is not UTF-8: byte 0x\(String(rp[bad], radix: 16, uppercase: true)) in the header row is not valid UTF-8",
                                   hint: TableInput.encodingHint)
        }
        if let issue = csv.issue {
            throw Diagnostic.error(at: csv.location(ofOffset: issue.offset), TableInput.syntaxMessage(issue.kind, lines: csv.recordExtraLines - (endsWithLineBreak() ? 1 : 0)) + " in the header row",
                                   hint: TableInput.quoteHint)
        }
        let names = specs.map(\.name)
        var byKey: [String: Int] = [:]
        for (i, n) in names.enumerated() { byKey[SurveyText.key(n)] = i }
        var unknown: [(String, SourceLocation)] = []
        for c in 0..<csv.fieldCount {
            let (p, n) = csv.trimmedField(c)
            let raw = SurveyText.nfc(String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self))
            headers.append(raw)
            let loc = csv.location(ofField: c)
            var f = byKey[SurveyText.key(raw)]
            if f == nil {
                for m in mappings {
                    if let target = m.field(forHeader: raw, table: table), let i = names.firstIndex(of: target) { f = i; break }
                }
            }
            guard let f else {
                if raw.isEmpty {
                    problems.append(.error(at: loc, "column \(c + 1) has no header",
                                           hint: "name the column or delete it in the spreadsheet before saving"))
                } else {
                    var candidates = names
                    for m in mappings { candidates += (m.headers[table] ?? []).map(\.spelling) }
                    var hint = Suggestion.didYouMean(raw, in: candidates)
                    if let h = hint, let target = mappings.lazy.compactMap({ m in m.headers[self.table]?.first { "did you mean '\($0.spelling)'?" == h } }).first {
                        hint = "did you mean '\(target.spelling)' (\(target.target))?"
                    }
                    problems.append(.error(at: loc, "unknown column '\(raw)' in \(table).csv",
                                           hint: hint ?? "the columns of \(table).csv are listed in docs/data.md; for other headers give a mapping with --mapping FILE"))
                    unknown.append((raw, loc))
                }
                colField.append(-1)
                continue
            }
            if fieldCol[f] >= 0 {
                problems.append(.error(at: loc, "column '\(raw)' means '\(names[f])', which column \(fieldCol[f] + 1) ('\(headers[fieldCol[f]])') already gives",
                                       hint: "keep one of the two columns"))
                colField.append(-1)
                continue
            }
            fieldCol[f] = c
            colField.append(f)
        }
        for (f, spec) in specs.enumerated() where spec.isRequired && fieldCol[f] < 0 {
            var hint = Suggestion.closest(to: spec.name, in: unknown.map(\.0)).map { "is '\($0)' meant to be '\(spec.name)'?" }
            if hint == nil {
                for m in mappings {
                    if let vi = m.headers[table]?.first(where: { $0.target == spec.name })?.spelling,
                       let close = Suggestion.closest(to: vi, in: unknown.map(\.0)) {
                        hint = "is '\(close)' meant to be '\(vi)' (\(spec.name))?"
                        break
                    }
                }
            }
            problems.append(.error(at: start, "required column '\(spec.name)' is missing from \(table).csv",
                                   hint: hint ?? "add a column '\(spec.name)'\(spec.meaning.isEmpty ? "" : " (\(spec.meaning))")"))
        }
        hidCol = fieldCol[hidField]
    }

    // MARK: decoders

    private func buildDecoders(schema: SurveySchema, mappings: [HeaderMapping]) {
        var trueKeys = Set(ValueParser.builtinTrue.map(SurveyText.key))
        var falseKeys = Set(ValueParser.builtinFalse.map(SurveyText.key))
        for m in mappings {
            for e in m.trueSpellings { trueKeys.insert(SurveyText.key(e.spelling)) }
            for e in m.falseSpellings { falseKeys.insert(SurveyText.key(e.spelling)) }
        }
        // One table for all flag columns: they accept the same spellings.
        let t = trueKeys, fk = falseKeys
        let flagTable = TokenTable { s in
            let k = SurveyText.key(s)
            return t.contains(k) ? 1 : fk.contains(k) ? 0 : -1
        }
        for (f, spec) in specs.enumerated() {
            let list = schema.codeList(for: spec)
            codeLists.append(list)
            var kind: Kind
            var token: TokenTable?
            var hints: [String] = []
            switch spec.type {
            case .text: kind = spec.personal ? .personal : .text
            case .bool:
                kind = .bool
                token = flagTable
            case .int: kind = .int
            case .decimal: kind = .decimal
            case .date: kind = .date
            case .birthDate: kind = .birthDate
            case .code, .codeSet:
                kind = spec.type == .code(list!.name) ? .code : .codeSet
                var dict: [String: Int64] = [:]
                for (i, c) in list!.codes.enumerated() { dict[SurveyText.key(c)] = Int64(i) }
                for m in mappings {
                    for e in m.codes[table]?[spec.name] ?? [] {
                        if let id = list!.id(of: e.target), dict[SurveyText.key(e.spelling)] == nil {
                            dict[SurveyText.key(e.spelling)] = Int64(id)
                            hints.append(e.spelling)
                        }
                    }
                }
                let d = dict
                token = TokenTable { s in d[SurveyText.key(s)] ?? -1 }
            }
            kinds.append(kind)
            tokens.append(token)
            spellingHints.append(hints)
            caches.append(kind == .text ? TextCache() : nil)
            spellings.append(token.map { ShortSpellings($0) })
            wholeLists.append(kind == .codeSet ? token.map { ShortSpellings($0) } : nil)
            commaSpellings.append((kind == .bool || kind == .code) && fieldCol[f] >= 0 && fieldCol[f] < headers.count - 1 ? CommaSpellings() : nil)
            if kind == .text || kind == .personal { textFields.append(f) }
            var def = RecordTable.absent
            var defText: String?
            if let d = spec.defaultValue {
                if kind == .text || kind == .personal { defText = d }
                else if case .success(let v) = ValueParser.parseStandalone(d, spec: spec, list: list) { def = v }
            }
            defaults.append(def)
            defaultTexts.append(defText)
        }
    }

    // MARK: rows

    /// Next non-blank record; blank rows are counted.
    func nextRecord(blankRows: inout Int) -> Bool {
        while csv.next() {
            if csv.recordIsBlank && csv.issue == nil { blankRows += 1; continue }
            return true
        }
        return false
    }

    /// The household id cell of the current record, blanks trimmed and still escaped (the
    /// buffer is not modified), or nil when the row has no such cell or it is empty.
    @inline(__always)
    func rawHouseholdID() -> (UnsafePointer<UInt8>, Int)? {
        guard hidCol >= 0, hidCol < csv.fieldCount else { return nil }
        let (p, n) = SurveyText.trimmingBlanks(csv.fieldStart(hidCol), csv.fieldLength(hidCol))
        return n > 0 ? (p, n) : nil
    }

    /// The household id of the current record as raw trimmed bytes (copied), or nil when the row
    /// has no such cell or it is empty. Does not modify the buffer.
    func householdIDBytes() -> [UInt8]? {
        guard let (p, n) = rawHouseholdID() else { return nil }
        var out = Array(UnsafeBufferPointer(start: p, count: n))
        if csv.fieldQuoted(hidCol), out.contains(0x22) {
            var r: [UInt8] = []
            var i = 0
            while i < out.count { r.append(out[i]); i += (out[i] == 0x22 && i + 1 < out.count && out[i + 1] == 0x22) ? 2 : 1 }
            out = r
        }
        return out
    }

    /// Like `householdIDBytes()`, into a reused buffer; false when there is no id.
    func householdIDBytes(into out: inout [UInt8]) -> Bool {
        out.removeAll(keepingCapacity: true)
        guard let (p, n) = rawHouseholdID() else { return false }
        if csv.fieldQuoted(hidCol), memchr(p, 0x22, n) != nil {
            guard let b = householdIDBytes() else { return false }
            out.append(contentsOf: b)
            return true
        }
        out.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        return true
    }

    /// `householdIDMatches` for a plain record whose household id cell is ASCII with no blanks
    /// around it, and an ASCII `id` of `n` bytes (`idIsASCII`): the bytes decide, without
    /// copying or normalising. Nil for any other record or id: `householdIDMatches` answers.
    @inline(__always) func householdIDCellMatches(_ id: UnsafePointer<UInt8>, _ n: Int, idIsASCII: Bool) -> Bool? {
        guard csv.recordIsPlain, hidCol >= 0, hidCol < csv.fieldCount else { return nil }
        let s = csv.fieldStarts[hidCol], k = csv.fieldEnds[hidCol] &- s
        let p = UnsafePointer(csv.buf + s)
        if k == n && KeyScan.equal(p, id, n) { return true }
        guard idIsASCII, k > 0, p[0] > 0x20, p[k &- 1] > 0x20, SurveyText.isASCII(p, k) else { return nil }
        return false
    }

    /// True when the current record's household id is `id` (bytes, or NFC-equal text).
    func householdIDMatches(_ id: [UInt8]) -> Bool? {
        id.withUnsafeBufferPointer { householdIDMatches($0) }
    }

    /// The same for an id given as bytes in memory.
    func householdIDMatches(_ id: UnsafeBufferPointer<UInt8>) -> Bool? {
        guard let (p, n) = rawHouseholdID() else { return nil }
        if n == id.count, n == 0 || memcmp(id.baseAddress!, p, n) == 0 { return true }
        if csv.fieldQuoted(hidCol) || !SurveyText.isASCII(p, n) || !id.allSatisfy({ $0 < 0x80 }) {
            guard let b = householdIDBytes() else { return nil }
            return SurveyText.nfc(String(decoding: b, as: UTF8.self)) == SurveyText.nfc(String(decoding: id, as: UTF8.self))
        }
        return false
    }

    func columnLabel(_ c: Int) -> String {
        let f = colField[c]
        let h = headers[c]
        if f < 0 || h == specs[f].name { return "'\(h)'" }
        return "'\(h)' (\(specs[f].name))"
    }

    func fieldLabel(_ f: Int) -> String {
        let c = fieldCol[f]
        return c >= 0 ? columnLabel(c) : "'\(specs[f].name)'"
    }

    static let encodingHint = "the file may be saved in a legacy Vietnamese encoding (Windows-1258, TCVN3/ABC or VNI); in Excel use File > Save As > \"CSV UTF-8 (Comma delimited) (*.csv)\", or convert it, e.g. iconv -f WINDOWS-1258 -t UTF-8 old.csv > new.csv (for TCVN3 or VNI use a converter such as UniKey's \"Chuyển mã\")"
    static let quoteHint = "a value with commas, quotes or line breaks goes in double quotes, with each quote inside doubled: \"say \"\"hi\"\"\""

    static func syntaxMessage(_ kind: CSVSyntaxIssue.Kind, lines: Int) -> String {
        switch kind {
        case .unterminatedQuote:
            return lines == 0 ? "a quoted value opened here is never closed: the rest of the line was read into it"
                : "a quoted value opened here is never closed: the rest of the file (\(lines + 1) lines) was read into it"
        case .quoteInUnquoted: return "a double quote inside a value that does not start with one"
        case .textAfterQuote: return "text after the closing quote of a quoted value"
        }
    }

    /// Structural checks of the current record: syntax, encoding, column count.
    func structuralIssues(_ issues: inout [RowIssue]) {
        if let issue = csv.issue {
            let kind = issue.kind == .unterminatedQuote ? "unterminated_quote" : "bad_quote"
            issues.append(RowIssue(kind: kind, location: csv.location(ofOffset: issue.offset),
                                   message: TableInput.syntaxMessage(issue.kind, lines: csv.recordExtraLines - (endsWithLineBreak() ? 1 : 0)),
                                   hint: TableInput.quoteHint))
        }
        if !csv.recordIsASCII {
            // Only the span that may hold non-ASCII bytes: the ASCII bytes around it are valid
            // and cannot end a sequence started inside it.
            let rp = UnsafePointer(csv.buf + csv.nonASCIIStart)
            if let bad = SurveyText.firstInvalidUTF8(rp, csv.nonASCIIEnd - csv.nonASCIIStart) {
                issues.append(RowIssue(kind: "not_utf8", location: csv.location(ofOffset: csv.nonASCIIStart + bad),
                                       message: "the file is not UTF-8: byte 0x\(String(rp[bad], radix: 16, uppercase: true)) here is not valid UTF-8",
                                       hint: TableInput.encodingHint))
            }
        }
        let n = csv.fieldCount, h = headers.count
        if n != h && !(csv.issue?.kind == .unterminatedQuote) {
            let loc = n > h ? csv.location(ofField: h) : csv.location(ofOffset: csv.recordEnd - (lineBreakLength()))
            issues.append(RowIssue(kind: "wrong_column_count", location: loc,
                                   message: "the row has \(n) value\(n == 1 ? "" : "s") but the header has \(h) columns",
                                   hint: n > h ? "a value that contains a comma must be in double quotes"
                                               : "every row needs a value, possibly empty, for every column"))
        }
    }

    private func endsWithLineBreak() -> Bool { lineBreakLength() > 0 }

    /// True when the row's values cannot be matched to columns (count or quoting broken).
    var rowMisaligned: Bool {
        csv.fieldCount != headers.count || csv.issue?.kind == .unterminatedQuote
    }

    private func lineBreakLength() -> Int {
        let (p, n) = csv.recordBytes
        if n >= 2, p[n - 2] == 0x0D, p[n - 1] == 0x0A { return 2 }
        if n >= 1, p[n - 1] == 0x0A || p[n - 1] == 0x0D { return 1 }
        return 0
    }

    /// Appends the current row's texts and `line` to `table` (its values go to a `RowStore`).
    @inline(__always) func appendRow(to table: inout RecordTable, line: Int) {
        table.appendRow(texts: UnsafePointer(rowTexts), fields: UnsafePointer(textFieldList), count: textFieldCount, line: line)
    }

    /// Resets the row values when the row is not decoded.
    func clearRow() {
        for f in 0..<specs.count { rowVals[f] = RecordTable.absent }
        for k in 0..<textFieldCount { rowTexts[textFieldList[k]] = nil }
    }

    /// Decodes the current record into `rowVals`/`rowTexts`. Problems are appended; the return
    /// value is true when the row is clean.
    func decode(reference: CivilDate?, issues: inout [RowIssue]) -> Bool {
        let before = issues.count
        let vals = rowVals
        vals.update(from: defaultVals, count: specs.count)
        let cols = min(csv.fieldCount, headers.count)
        if planSkip != skipField { buildPlan() }
        let quick = usesDecodeQuickPaths
        // Texts: a row of all its columns (every decoded row: a row of another length is not
        // decoded) sets each planned text field in the loop below, cell or default; only the
        // others are reset here. Not assigning twice saves a release and a retain per text cell.
        if quick && cols == headers.count {
            for k in 0..<uncoveredTextCount { let f = uncoveredTexts[k]; rowTexts[f] = defaultTextVals[f] }
        } else {
            for k in 0..<textFieldCount { let f = textFieldList[k]; rowTexts[f] = defaultTextVals[f] }
        }
        let bounds = reference.map(birthBounds)
        // One copy of the cell loop per kind of record, each with `plain` constant.
        if quick && csv.recordIsPlain {
            decodeCells(plain: true, quick: true, cols: cols, reference: reference, bounds: bounds, issues: &issues)
        } else {
            decodeCells(plain: false, quick: quick, cols: cols, reference: reference, bounds: bounds, issues: &issues)
        }
        return issues.count == before
    }

    @inline(__always) private func decodeCells(plain: Bool, quick: Bool, cols: Int, reference: CivilDate?, bounds: BirthBounds?,
                                               issues: inout [RowIssue]) {
        let vals = rowVals
        let fs = csv.fieldStarts, fe = csv.fieldEnds, buf = UnsafePointer(csv.buf)
        // Through a pointer: a cell loads only the parts of its plan it uses.
        for k in 0..<planCount {
            let pl = UnsafePointer(plan + k)
            let c = pl.pointee.col
            if c >= cols { break }
            let f = pl.pointee.field
            let p: UnsafePointer<UInt8>, n: Int
            if plain {
                // `trimmedField` of a plain record (nothing to unescape), from the locals.
                var s = fs[c], e = fe[c]
                if s < e && (buf[s] <= 0x20 || buf[e &- 1] <= 0x20) {
                    while s < e, buf[s] == 0x20 || buf[s] == 0x09 { s &+= 1 }
                    while e > s, buf[e &- 1] == 0x20 || buf[e &- 1] == 0x09 { e &-= 1 }
                }
                p = buf + s
                n = e &- s
            } else {
                (p, n) = csv.trimmedField(c)
            }
            if n == 0 {
                if pl.pointee.isText { rowTexts[f] = defaultTextVals[f] }
                if pl.pointee.required { missingValue(c, &issues) }
                continue
            }
            let kind = pl.pointee.kind
            switch kind {
            case .bool, .code:
                if kind == .bool, quick, let v = TableInput.plainFlag(p, n, pl.pointee.flagTrue, pl.pointee.flagFalse), v >= 0 {
                    vals[f] = v
                    continue
                }
                let v = TokenTable.cached(pl.pointee.fast.unsafelyUnwrapped, p, n)
                    ?? pl.pointee.token.unsafelyUnwrapped._withUnsafeGuaranteedRef { $0.resolveAndCache(p, n) }
                if v >= 0 { vals[f] = v; continue }
                if kind == .bool {
                    cellError(c, p, n, "is not a yes/no value", kind: "wrong_type",
                              hint: "write true/false, 1/0, yes/no or có/không", &issues)
                } else {
                    codeError(f, c, p, n, &issues)
                }
            case .text:
                rowTexts[f] = pl.pointee.cache.unsafelyUnwrapped._withUnsafeGuaranteedRef { $0.string(p, n) }
            case .personal:
                rowTexts[f] = keepPersonal ? SurveyText.nfc(String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self))
                    : defaultTextVals[f]
            case .int:
                if let v = ValueParser.parseInt(p, n) {
                    if !pl.pointee.hasMinimum || inBounds(pl, f, c, Double(v), p, n, &issues) { vals[f] = v }
                } else {
                    cellError(c, p, n, "is not a whole number", kind: "wrong_type",
                              hint: "write digits only, without thousands separators, units or decimals, e.g. 1250000", &issues)
                }
            case .decimal:
                if let v = ValueParser.parseDecimal(p, n) {
                    if !pl.pointee.hasMinimum || inBounds(pl, f, c, v, p, n, &issues) { vals[f] = Int64(bitPattern: v.bitPattern) }
                } else {
                    cellError(c, p, n, "is not a number", kind: "wrong_type",
                              hint: "write a number with a decimal point and no thousands separators, e.g. 42.5", &issues)
                }
            case .date, .birthDate:
                let birth = kind == .birthDate
                guard let d = CivilDate.parseDayNumber(p, n, allowBareYear: birth) else {
                    dateError(c, p, n, birth: birth, &issues)
                    continue
                }
                if birth, let ref = reference, let bounds {
                    if d > bounds.reference {
                        birthAfterReference(c, p, n, ref, &issues)
                        continue
                    }
                    if let maxAge = pl.pointee.maxAgeYears, d < bounds.earliest(maxAge) {
                        birthTooOld(c, p, n, ref, maxAge, &issues)
                        continue
                    }
                }
                vals[f] = Int64(d)
            case .codeSet:
                var mask: UInt64 = 0
                var ok = true
                TableInput.forEachListedCode(p, n) { q, k in
                    let v = TokenTable.cached(pl.pointee.fast.unsafelyUnwrapped, q, k)
                        ?? pl.pointee.token.unsafelyUnwrapped._withUnsafeGuaranteedRef { $0.resolveAndCache(q, k) }
                    // Every unknown code of the list is reported, not only the first.
                    if v < 0 { codeError(f, c, q, k, &issues, inList: true); ok = false } else { mask |= 1 << UInt64(v) }
                    return true
                }
                if ok { vals[f] = Int64(bitPattern: mask) }
            }
        }
    }

    /// Calls `body` with each code of a `;`-separated list cell, blanks trimmed and empty
    /// entries skipped, until it returns false; false when it did.
    @inline(__always) @discardableResult
    static func forEachListedCode(_ p: UnsafePointer<UInt8>, _ n: Int, _ body: (UnsafePointer<UInt8>, Int) -> Bool) -> Bool {
        var i = 0
        while i <= n {
            var j = i
            while j < n && p[j] != 0x3B { j += 1 }
            var s = i, e = j
            while s < e, p[s] == 0x20 || p[s] == 0x09 { s += 1 }
            while e > s, p[e - 1] == 0x20 || p[e - 1] == 0x09 { e -= 1 }
            if e > s && !body(p + s, e - s) { return false }
            i = j + 1
        }
        return true
    }

    /// Day numbers a birth date is checked against, for one reference date: members of a
    /// household share it, so it is worked out once per household, not per member.
    struct BirthBounds {
        let date: CivilDate
        let reference: Int32
        let maxAge: Int?
        let earliestDay: Int32

        init(_ date: CivilDate, maxAge: Int?) {
            self.date = date
            reference = date.dayNumber
            self.maxAge = maxAge
            earliestDay = maxAge.map { date.addingYears(-$0).dayNumber } ?? 0
        }

        /// The day number of the reference date moved back `years` years.
        @inline(__always) func earliest(_ years: Int) -> Int32 {
            years == maxAge ? earliestDay : date.addingYears(-years).dayNumber
        }
    }
    @exclusivity(unchecked) private var lastBounds: BirthBounds?
    /// The age limit of the birth-date field, looked up once (not per household: finding it in
    /// `specs` copies field specs).
    private let birthMaxAge: Int?
    /// The months of the dates met, for `decodeColumns`.
    private let dateMonths = DateMonths()

    @inline(__always) private func birthBounds(_ ref: CivilDate) -> BirthBounds {
        if let b = lastBounds, b.date == ref { return b }
        let b = BirthBounds(ref, maxAge: birthMaxAge)
        lastBounds = b
        return b
    }

    func display(_ p: UnsafePointer<UInt8>, _ n: Int) -> String { "'" + SurveyText.display(p, n) + "'" }

    // The problems of a cell, out of line: the loop over cells stays small enough to keep its
    // values in registers.

    @inline(never) private func missingValue(_ c: Int, _ issues: inout [RowIssue]) {
        issues.append(RowIssue(kind: "missing_value", location: csv.location(ofField: c),
                               message: "column \(columnLabel(c)) is empty, and it is required", hint: nil))
    }

    @inline(never) private func dateError(_ c: Int, _ p: UnsafePointer<UInt8>, _ n: Int, birth: Bool, _ issues: inout [RowIssue]) {
        let looksLikeDate = n == 10 && p[4] == 0x2D && p[7] == 0x2D
        cellError(c, p, n, looksLikeDate ? "is not a real date" : birth ? "is not a date or a year" : "is not a date",
                  kind: "wrong_type",
                  hint: birth ? "write YYYY-MM-DD, e.g. 1985-03-27, or the year YYYY when only the year is known"
                              : "write dates as YYYY-MM-DD, e.g. 2024-09-15", &issues)
    }

    @inline(never) private func birthAfterReference(_ c: Int, _ p: UnsafePointer<UInt8>, _ n: Int, _ ref: CivilDate, _ issues: inout [RowIssue]) {
        issues.append(RowIssue(kind: "impossible_value", location: csv.location(ofField: c),
                               message: "column \(columnLabel(c)): \(display(p, n)) is after the reference date \(ref)",
                               hint: n == 4 ? "a bare year counts as 1 July; give the full date YYYY-MM-DD" : "check the year"))
    }

    @inline(never) private func birthTooOld(_ c: Int, _ p: UnsafePointer<UInt8>, _ n: Int, _ ref: CivilDate, _ maxAge: Int, _ issues: inout [RowIssue]) {
        issues.append(RowIssue(kind: "impossible_value", location: csv.location(ofField: c),
                               message: "column \(columnLabel(c)): \(display(p, n)) is more than \(maxAge) years before the reference date \(ref)",
                               hint: "check the year"))
    }

    @inline(never) private func cellError(_ c: Int, _ p: UnsafePointer<UInt8>, _ n: Int, _ what: String, kind: String, hint: String?, _ issues: inout [RowIssue]) {
        issues.append(RowIssue(kind: kind, location: csv.location(ofField: c),
                               message: "column \(columnLabel(c)): \(display(p, n)) \(what)", hint: hint))
    }

    /// True when `v` keeps the column's lower bound; otherwise the problem is appended.
    @inline(__always) private func inBounds(_ pl: UnsafePointer<ColPlan>, _ f: Int, _ c: Int, _ v: Double, _ p: UnsafePointer<UInt8>, _ n: Int,
                                            _ issues: inout [RowIssue]) -> Bool {
        let m = pl.pointee.minimum
        if pl.pointee.minimumExclusive ? v > m : v >= m { return true }
        return checkMinimum(f, c, v, p, n, &issues)
    }

    @inline(never) private func checkMinimum(_ f: Int, _ c: Int, _ v: Double, _ p: UnsafePointer<UInt8>, _ n: Int, _ issues: inout [RowIssue]) -> Bool {
        guard let m = specs[f].minimum else { return true }
        let bad = specs[f].minimumExclusive ? !(v > m) : !(v >= m)
        if !bad { return true }
        let bound = m == m.rounded() ? String(Int64(m)) : String(m)
        let what = v < 0 && m >= 0 ? "is negative" : specs[f].minimumExclusive ? "is not greater than \(bound)" : "is less than \(bound)"
        issues.append(RowIssue(kind: "impossible_value", location: csv.location(ofField: c),
                               message: "column \(columnLabel(c)): \(display(p, n)) \(what); expected a value \(specs[f].minimumExclusive ? "greater than" : "of at least") \(bound)",
                               hint: nil))
        return false
    }

    @inline(never) private func codeError(_ f: Int, _ c: Int, _ p: UnsafePointer<UInt8>, _ n: Int, _ issues: inout [RowIssue], inList: Bool = false) {
        let list = codeLists[f]!
        let value = SurveyText.nfc(String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self))
        let expected = "expected one of: " + list.codes.joined(separator: ", ")
        var hint = expected
        if let d = Suggestion.didYouMean(value, in: list.codes + spellingHints[f]) { hint = d + " " + expected }
        issues.append(RowIssue(kind: "unknown_code", location: inList ? csv.location(ofOffset: p - UnsafePointer(csv.buf)) : csv.location(ofField: c),
                               message: "column \(columnLabel(c)): \(display(p, n)) is not a code of '\(list.name)'\(inList ? " (in a ';'-separated list)" : "")",
                               hint: hint))
    }

    // MARK: columns

    /// Whether `decodeColumns` can stand in for `decode`: it checks birth dates against one
    /// age limit per household, so it takes tables with at most one birth-date field.
    var decodesColumns: Bool { specs.filter { $0.type == .birthDate }.count <= 1 }

    /// True when the current record needs none of the row-by-row checks before its cells:
    /// no quotes or escapes, a value for every column, valid UTF-8 (`structuralIssues` finds
    /// nothing).
    @inline(__always) var recordIsClean: Bool {
        guard csv.recordIsPlain, csv.fieldCount == headers.count else { return false }
        if csv.recordIsASCII { return true }
        return SurveyText.isUTF8InBuffer(UnsafePointer(csv.buf + csv.nonASCIIStart), csv.nonASCIIEnd - csv.nonASCIIStart)
    }

    /// The reference a member's birth date is checked against: its household's reference day,
    /// the earliest birth day the age limit allows (`Int32.min` without one), and the date for
    /// completed months of age.
    struct BirthLimit {
        let reference: Int32
        let earliest: Int32
        let ages: AgeReference

        init(_ date: CivilDate, maxAge: Int?) {
            reference = date.dayNumber
            earliest = maxAge.map { date.addingYears(-$0).dayNumber } ?? Int32.min
            ages = AgeReference(date)
        }
    }

    /// For members: the birth limit of each record's household (`limits[households[i]]`) and
    /// where the completed months of age of each record go.
    struct BirthColumn {
        var households: UnsafePointer<Int32>
        var limits: UnsafePointer<BirthLimit>
        var ageMonths: UnsafeMutablePointer<Int32>
    }

    /// The birth limit of reference date `date` (the reader keeps those of the review days it
    /// met last: `SurveyReader.reference(ofReviewDay:)`).
    func birthLimit(_ date: CivilDate) -> BirthLimit {
        BirthLimit(date, maxAge: birthMaxAge)
    }

    /// Decodes the `spans.count` clean records of `spans` (`recordIsClean`; their bytes at
    /// `spans.cell`) a column at a time into `columns` (field f of record i at
    /// `columns[f][i]`: a batch's own columns, or a scratch block): one loop per column, of one
    /// kind, instead of a dispatch per cell. Marks in `failed` each record in which `decode` would find a problem; those are read
    /// again with `decode` for the messages, so this finds no message itself. Text fields keep
    /// their default value here; their texts come from `appendTexts`.
    func decodeColumns(_ spans: CellSpans, base: UnsafePointer<UInt8>, columns: UnsafePointer<UnsafeMutablePointer<Int64>>,
                       failed: UnsafeMutablePointer<Bool>, births: BirthColumn?) {
        let rows = spans.count
        if planSkip != skipField { buildPlan() }
        // The loops below write every record's value of their field (the default for an empty
        // cell or one that fails, as `decode` leaves it): only the other fields are filled.
        for k in 0..<unwrittenCount {
            let f = unwritten[k]
            columns[f].update(repeating: defaultVals[f], count: rows)
        }
        failed.update(repeating: false, count: rows)
        let missed = missedRows(rows)
        var birthPlanned = false
        let cells = spans.cells(base: base)
        @inline(__always) func decoded(_ pl: ColPlan, missed: UnsafeMutablePointer<Int>) -> DecodedColumn {
            DecodedColumn(cells: cells, col: pl.col, rows: rows, out: columns[pl.field], failed: failed, missed: missed,
                          empty: defaultVals[pl.field], required: pl.required)
        }
        var k = 0
        while k < planCount {
            let pl = plan[k]
            let column = decoded(pl, missed: missed)
            defer { k += 1 }
            // One loop per kind, each in a function of its own: the cell's work inlined in it,
            // and few enough values live that they stay in registers.
            switch pl.kind {
            case .text, .personal: if pl.required { TableInput.checkPresent(column) }
            case .bool where !cells.mayBePadded && pl.commaSpellings != nil,
                 .code where !cells.mayBePadded && pl.commaSpellings != nil:
                // A column whose cells mostly miss their slots (codes longer than a slot holds,
                // spellings that share a first byte) pays for the slot and then for the length:
                // it is read by length from its next chunk on.
                if k + 1 < planCount, plan[k + 1].col == pl.col + 1, plan[k + 1].commaSpellings != nil,
                   plan[k + 1].kind == .bool || plan[k + 1].kind == .code {
                    let next = plan[k + 1]
                    let misses = TableInput.decodeCommaPair(column, decoded(next, missed: missedRows(rows, second: true)),
                                                            (pl.spellings.unsafelyUnwrapped, next.spellings.unsafelyUnwrapped),
                                                            (pl.commaSpellings.unsafelyUnwrapped, next.commaSpellings.unsafelyUnwrapped))
                    if misses.0 &* 2 > rows { plan[k].commaSpellings = nil }
                    if misses.1 &* 2 > rows { plan[k + 1].commaSpellings = nil }
                    k += 1
                } else {
                    let misses = TableInput.decodeCommaCells(column, pl.spellings.unsafelyUnwrapped, pl.commaSpellings.unsafelyUnwrapped)
                    if misses &* 2 > rows { plan[k].commaSpellings = nil }
                }
            case .bool: TableInput.decodeFlags(column, pl.spellings.unsafelyUnwrapped, trueValue: pl.flagTrue, falseValue: pl.flagFalse)
            case .code: TableInput.decodeCodes(column, pl.spellings.unsafelyUnwrapped)
            case .codeSet: TableInput.decodeCodeSets(column, pl.spellings.unsafelyUnwrapped, lists: pl.wholeLists.unsafelyUnwrapped)
            case .int: TableInput.decodeInts(column, pl)
            case .decimal: TableInput.decodeDecimals(column, pl)
            case .date: TableInput.decodeDates(column, bareYear: false, dateMonths.lookup)
            case .birthDate:
                if let b = births {
                    TableInput.decodeBirthDates(column, b, dateMonths.lookup)
                    birthPlanned = true
                } else {
                    TableInput.decodeDates(column, bareYear: true, dateMonths.lookup)
                }
            }
        }
        if let b = births, !birthPlanned {
            // Without a birth date cell, the age of the default (as `ageMonthsOfRow`), if any.
            let bf = specs.firstIndex { $0.type == .birthDate }
            let v = bf.map { defaultVals[$0] } ?? RecordTable.absent
            for r in 0..<rows {
                b.ageMonths[r] = v == RecordTable.absent ? -1
                    : Int32(b.limits[Int(b.households[r])].ages.completedMonths(dayNumber: Int32(truncatingIfNeeded: v)))
            }
        }
    }

    /// Room for `rows` row numbers, for the decode loops' cells left for after the loop; the
    /// `second` room for the second column of a loop over two (`decodeCommaPair`).
    private func missedRows(_ rows: Int, second: Bool = false) -> UnsafeMutablePointer<Int> {
        if missedCapacity < rows {
            missed.deallocate()
            missedCapacity = max(rows, 2 * missedCapacity)
            missed = .allocate(capacity: 2 * missedCapacity)
        }
        return second ? missed + missedCapacity : missed
    }
    @exclusivity(unchecked) private var missed: UnsafeMutablePointer<Int> = .allocate(capacity: 2)
    @exclusivity(unchecked) private var missedCapacity = 1

    /// One planned column of a chunk for the decode loops: its cells, where its values go, and
    /// what an empty cell means.
    struct DecodedColumn {
        let cells: CellSpans.Cells
        let col: Int
        let rows: Int
        let out: UnsafeMutablePointer<Int64>
        let failed: UnsafeMutablePointer<Bool>
        /// Room for a row number per record: the records a loop leaves for after it.
        let missed: UnsafeMutablePointer<Int>
        /// The field's default.
        let empty: Int64
        let required: Bool

        /// Calls `body` with each record's cell, trimmed, but for an empty one: the record then
        /// takes the default, and fails when the field is required; and `empty` for it.
        @inline(__always) func forEachCell(_ body: (_ r: Int, _ p: UnsafePointer<UInt8>, _ n: Int) -> Void,
                                           empty whenEmpty: (_ r: Int) -> Void = { _ in }) {
            // In locals: the stores through `out` could alias this struct's memory for all the
            // compiler knows, and it would load them again for every cell.
            let cells = self.cells, out = self.out, failed = self.failed, empty = self.empty
            let required = self.required
            cells.forEach(column: col, rows: 0..<rows) { r, p, n in
                if n == 0 {
                    out[r] = empty
                    if required { failed[r] = true }
                    whenEmpty(r)
                    return
                }
                body(r, p, n)
            }
        }

        /// `forEachCell` for cells that mostly decode without a call: `quick` decodes a cell or
        /// returns false, and the cells it leaves go to `slow` after the loop, in their order.
        /// The loop then makes no call, and its values stay in registers. `slow` must decode a
        /// cell as the loop would have at its turn: with `quick` first, if what `quick` reads
        /// (tables of spellings or months met) may have been filled by a `slow` before.
        @inline(__always) func forEachCell(deferring quick: (_ r: Int, _ p: UnsafePointer<UInt8>, _ n: Int) -> Bool,
                                           slow: (_ r: Int, _ p: UnsafePointer<UInt8>, _ n: Int) -> Void,
                                           empty whenEmpty: (_ r: Int) -> Void = { _ in }) {
            let missed = self.missed
            var missEnd = missed
            forEachCell({ r, p, n in
                if !quick(r, p, n) {
                    missEnd[0] = r
                    missEnd += 1
                }
            }, empty: whenEmpty)
            for k in 0..<(missEnd - missed) {
                let r = missed[k], (p, n) = cells.cell(r, col)
                slow(r, p, n)
            }
        }

        /// Record r's cell does not decode: `decode` reads the record again for the message.
        @inline(never) func fail(_ r: Int) {
            out[r] = empty
            failed[r] = true
        }
    }

    @inline(never) private static func checkPresent(_ column: DecodedColumn) {
        column.forEachCell { _, _, _ in }
    }

    /// The value of a code or flag spelling: its way in `spellings`, else the token table.
    @inline(__always) private static func spelling(_ spellings: Unmanaged<ShortSpellings>, _ words: UnsafePointer<UInt64>,
                                                   _ p: UnsafePointer<UInt8>, _ n: Int) -> Int64 {
        let v = ShortSpellings.value(words, p, n)
        return v >= 0 ? v : spellings._withUnsafeGuaranteedRef { $0.resolve(p, n) }
    }

    /// The flags or codes of a column of unpadded cells with a comma after each
    /// (`CommaSpellings`): a cell is its slot's spelling when the 8 bytes from its start hold it
    /// and the comma. Returns the number of cells whose spelling no slot can hold.
    @inline(never) private static func decodeCommaCells(_ column: DecodedColumn, _ spellings: Unmanaged<ShortSpellings>,
                                                        _ table: Unmanaged<CommaSpellings>) -> Int {
        // In locals: the stores through `out` could alias the column's memory for all the
        // compiler knows, and it would load it again for every cell.
        let cells = column.cells, base = cells.base, out = column.out, missed = column.missed
        let words = UnsafePointer(table._withUnsafeGuaranteedRef { $0.words })
        // The loop makes no call, so that its values stay in registers: a cell its slot does
        // not hold goes to after it.
        var missEnd = missed
        cells.forEachOffset(column: column.col, rows: 0..<column.rows) { r, o in
            commaCell(words, base + Int(o[0]), out + r, r, &missEnd)
        }
        return commaMisses(column, spellings, table, missEnd - missed)
    }

    /// `decodeCommaCells` for two adjacent columns (`b` the one after `a`) in one loop: a
    /// record's offsets and bytes are loaded once for both. Returns each column's misses.
    @inline(never) private static func decodeCommaPair(_ a: DecodedColumn, _ b: DecodedColumn,
                                                       _ spellings: (Unmanaged<ShortSpellings>, Unmanaged<ShortSpellings>),
                                                       _ tables: (Unmanaged<CommaSpellings>, Unmanaged<CommaSpellings>)) -> (Int, Int) {
        // In locals, as in `decodeCommaCells`.
        let cells = a.cells, base = cells.base, outA = a.out, outB = b.out
        let wordsA = UnsafePointer(tables.0._withUnsafeGuaranteedRef { $0.words })
        let wordsB = UnsafePointer(tables.1._withUnsafeGuaranteedRef { $0.words })
        var missA = a.missed, missB = b.missed
        cells.forEachOffset(column: a.col, rows: 0..<a.rows) { r, o in
            commaCell(wordsA, base + Int(o[0]), outA + r, r, &missA)
            commaCell(wordsB, base + Int(o[1]), outB + r, r, &missB)
        }
        return (commaMisses(a, spellings.0, tables.0, missA - a.missed), commaMisses(b, spellings.1, tables.1, missB - b.missed))
    }

    /// A cell of `decodeCommaCells` at `p`: its value to `out` when its slot holds it, else its
    /// row `r` left at `missEnd` for after the loop.
    @inline(__always) private static func commaCell(_ words: UnsafePointer<UInt64>, _ p: UnsafePointer<UInt8>,
                                                    _ out: UnsafeMutablePointer<Int64>, _ r: Int,
                                                    _ missEnd: inout UnsafeMutablePointer<Int>) {
        let s = CommaSpellings.slot(first: p[0])
        if CommaSpellings.matches(words, s, p) {
            out.pointee = CommaSpellings.value(words, s)
        } else {
            missEnd[0] = r
            missEnd += 1
        }
    }

    /// The `count` cells of `column` a `decodeCommaCells` loop left (their rows at
    /// `column.missed`), in their order, each as the loop would have read it at its turn: its
    /// slot may have learnt its spelling from a cell before it. Returns the number of them whose
    /// spelling no slot can hold.
    private static func commaMisses(_ column: DecodedColumn, _ spellings: Unmanaged<ShortSpellings>,
                                    _ table: Unmanaged<CommaSpellings>, _ count: Int) -> Int {
        let words = UnsafePointer(table._withUnsafeGuaranteedRef { $0.words }), out = column.out
        var misses = 0
        for k in 0..<count {
            let r = column.missed[k], (p, n) = column.cells.untrimmedCell(r, column.col), s = CommaSpellings.slot(first: p[0])
            if CommaSpellings.matches(words, s, p) {
                out[r] = CommaSpellings.value(words, s)
            } else if !commaMiss(column, r, p, n, spellings, table) {
                misses &+= 1
            }
        }
        return misses
    }

    /// Record r's flag or code cell `p[0..<n]` that its slot does not hold: decoded as
    /// `decodeCodes` decodes it, its spelling then put in its slot if free. Returns whether the
    /// slot now holds it.
    @inline(never) private static func commaMiss(_ column: DecodedColumn, _ r: Int, _ p: UnsafePointer<UInt8>, _ n: Int,
                                                 _ spellings: Unmanaged<ShortSpellings>, _ table: Unmanaged<CommaSpellings>) -> Bool {
        if n == 0 {
            column.out[r] = column.empty
            if column.required { column.failed[r] = true; return false }
            return table._withUnsafeGuaranteedRef { $0.learn(p, 0, column.empty) }
        }
        let v = spelling(spellings, UnsafePointer(spellings._withUnsafeGuaranteedRef { $0.words }), p, n)
        guard v >= 0 else {
            column.fail(r)
            return false
        }
        column.out[r] = v
        return table._withUnsafeGuaranteedRef { $0.learn(p, n, v) }
    }

    @inline(never) private static func decodeFlags(_ column: DecodedColumn, _ spellings: Unmanaged<ShortSpellings>,
                                                   trueValue: Int64, falseValue: Int64) {
        // `true` and `false` have a value unless a mapping says otherwise: then every spelling
        // goes to the ways, as codes do.
        guard trueValue >= 0 && falseValue >= 0 else { return decodeCodes(column, spellings) }
        let words = UnsafePointer(spellings._withUnsafeGuaranteedRef { $0.words }), out = column.out
        column.forEachCell { r, p, n in
            if let v = TableInput.plainFlag(p, n, trueValue, falseValue) { out[r] = v; return }
            let v = spelling(spellings, words, p, n)
            if v >= 0 { out[r] = v } else { column.fail(r) }
        }
    }

    /// Codes by their slot (`ShortSpellings.slotValue`; an empty cell's too, once met, unless
    /// the field is required), in a loop with neither a call nor a branch on the cell: a cell
    /// its slot does not hold is left for after it, in order (`slotMiss`).
    @inline(never) private static func decodeCodes(_ column: DecodedColumn, _ spellings: Unmanaged<ShortSpellings>) {
        // In locals: the stores through `out` could alias the column's memory for all the
        // compiler knows, and it would load it again for every cell.
        let slots = UnsafePointer(spellings._withUnsafeGuaranteedRef { $0.slots }), out = column.out, missed = column.missed
        let cells = column.cells, padded = cells.mayBePadded, stride = cells.stride
        var missEnd = missed, o = cells.starts + column.col
        // One record a step, padded or not in the same loop: the cell's work holds many values,
        // and a second copy of it spilled them.
        for r in 0..<column.rows {
            let (p, n) = cells.cell(at: o, padded: padded)
            let (v, held) = ShortSpellings.slotValue(slots, p, n)
            out[r] = v
            missEnd[0] = r
            missEnd += held ? 0 : 1
            o += stride
        }
        for k in 0..<(missEnd - missed) {
            let r = missed[k], (p, n) = column.cells.cell(r, column.col)
            if n == 0 {
                out[r] = column.empty
                if column.required { column.failed[r] = true } else { spellings._withUnsafeGuaranteedRef { $0.learnSlot(p, 0, column.empty) } }
                continue
            }
            let v = spellings._withUnsafeGuaranteedRef { $0.slotMiss(p, n) }
            if v >= 0 { out[r] = v } else { column.fail(r) }
        }
    }

    /// Lists of codes: a list met before (`lists`: its bytes and its mask; a column has few)
    /// takes its mask again, another is read code by code.
    @inline(never) private static func decodeCodeSets(_ column: DecodedColumn, _ spellings: Unmanaged<ShortSpellings>,
                                                      lists: Unmanaged<ShortSpellings>) {
        let words = UnsafePointer(spellings._withUnsafeGuaranteedRef { $0.words }), out = column.out
        let known = UnsafePointer(lists._withUnsafeGuaranteedRef { $0.words })
        column.forEachCell { r, p, n in
            let whole = ShortSpellings.value(known, p, n)
            if whole >= 0 { out[r] = whole; return }
            var mask: UInt64 = 0
            // A household with an unknown code goes to the row path, which reports it.
            let ok = TableInput.forEachListedCode(p, n) { q, k in
                let v = spelling(spellings, words, q, k)
                if v < 0 { return false }
                mask |= 1 << UInt64(v)
                return true
            }
            guard ok else { return column.fail(r) }
            out[r] = Int64(bitPattern: mask)
            lists._withUnsafeGuaranteedRef { $0.remember(p, n, Int64(bitPattern: mask)) }
        }
    }

    @inline(never) private static func decodeInts(_ column: DecodedColumn, _ pl: ColPlan) {
        let m = pl.minimum, bounded = pl.hasMinimum, exclusive = pl.minimumExclusive, out = column.out
        column.forEachCell { r, p, n in
            guard let v = ValueParser.parseInt(p, n), !bounded || (exclusive ? Double(v) > m : Double(v) >= m) else {
                column.fail(r)
                return
            }
            out[r] = v
        }
    }

    @inline(never) private static func decodeDecimals(_ column: DecodedColumn, _ pl: ColPlan) {
        let m = pl.minimum, bounded = pl.hasMinimum, exclusive = pl.minimumExclusive, out = column.out
        column.forEachCell { r, p, n in
            guard let v = ValueParser.parseDecimal(p, n), !bounded || (exclusive ? v > m : v >= m) else {
                column.fail(r)
                return
            }
            out[r] = Int64(bitPattern: v.bitPattern)
        }
    }

    @inline(never) private static func decodeDates(_ column: DecodedColumn, bareYear: Bool, _ months: DateMonths.Lookup) {
        let out = column.out
        column.forEachCell(deferring: { r, p, n in
            guard let d = months.knownMonthDate(p, n) else { return false }
            out[r] = Int64(d.dayNumber)
            return true
        }, slow: { r, p, n in
            if let d = months.date(p, n, allowBareYear: bareYear) { out[r] = Int64(d.dayNumber) } else { column.fail(r) }
        })
    }

    /// Birth dates checked against their household's limits, with the completed months of age
    /// (as `ageMonthsOfRow`); an empty cell's age is that of the default, if any.
    @inline(never) private static func decodeBirthDates(_ column: DecodedColumn, _ b: BirthColumn, _ months: DateMonths.Lookup) {
        let out = column.out, limits = b.limits, households = b.households, ages = b.ageMonths
        @inline(__always) func take(_ r: Int, _ date: DateMonths.Date?) -> Bool {
            let limit = limits + Int(households[r])
            guard let date, date.dayNumber <= limit.pointee.reference, date.dayNumber >= limit.pointee.earliest else { return false }
            out[r] = Int64(date.dayNumber)
            ages[r] = Int32(truncatingIfNeeded: limit.pointee.ages.completedMonths(monthCount: date.monthCount, day: date.day))
            return true
        }
        column.forEachCell(deferring: { r, p, n in
            take(r, months.knownMonthDate(p, n))
        }, slow: { r, p, n in
            if !take(r, months.date(p, n, allowBareYear: true)) { column.fail(r) }
        }, empty: { r in
            ages[r] = column.empty == RecordTable.absent ? -1
                : Int32(limits[Int(households[r])].ages.completedMonths(dayNumber: Int32(truncatingIfNeeded: column.empty)))
        })
    }

    /// The text of field `f` in record `r` of `spans` (clean; bytes from `base`), as `decode`
    /// sets it.
    @inline(__always) func text(_ f: Int, _ spans: CellSpans, _ r: Int, base: UnsafePointer<UInt8>) -> String? {
        let c = fieldCol[f]
        guard c >= 0, f != skipField else { return defaultTextVals[f] }
        let (p, n) = spans.cell(r, c, base: base)
        if n == 0 { return defaultTextVals[f] }
        if kinds[f] == .text { return caches[f].unsafelyUnwrapped.string(p, n) }
        return keepPersonal ? SurveyText.nfc(String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)) : defaultTextVals[f]
    }

    /// `text` for a field whose values do not repeat (household ids): a short ASCII value is
    /// made from its bytes at once, without a look-up in the field's cache (the same String).
    @inline(__always) func distinctText(_ f: Int, _ spans: CellSpans, _ r: Int, base: UnsafePointer<UInt8>) -> String? {
        let c = fieldCol[f]
        if c >= 0, f != skipField, kinds[f] == .text {
            let (p, n) = spans.cell(r, c, base: base)
            if n > 0 && n <= 15 && SurveyText.isASCII(p, n) { return TextCache.asciiString(p, n) }
        }
        return text(f, spans, r, base: base)
    }

    /// Appends records `rows` of `spans` (clean, decoded; bytes from `base`) to `table`: their
    /// texts a column at a time, as `decode` sets them, all but field `except` (which the caller
    /// appends), and their lines. Their values are decoded straight into the table
    /// (`RecordTable.writeValues`), or appended from the chunk (`appendValues`) when the chunk
    /// had a cell that failed.
    func appendTexts(_ spans: CellSpans, rows: Range<Int>, base: UnsafePointer<UInt8>, to table: inout RecordTable, except: Int) {
        let r0 = rows.lowerBound, n = rows.count
        for k in 0..<textFieldCount {
            let f = textFieldList[k]
            if f == except { continue }
            let c = fieldCol[f]
            if c < 0 || f == skipField || (kinds[f] == .personal && !keepPersonal) {
                table.appendText(f, defaultTextVals[f], repeated: n)
                continue
            }
            if kinds[f] == .text {
                let cache = caches[f].unsafelyUnwrapped, d = defaultTextVals[f], cells = spans.cells(base: base)
                table.appendTextIDs(f, count: n) { texts, ids in
                    TableInput.cellTextIDs(cells, c, r0, n, cache: cache, empty: d, texts: texts, into: ids)
                }
            } else {
                table.appendTexts(f, count: n) { i in self.text(f, spans, r0 &+ i, base: base) }
            }
        }
        table.appendLines(spans.lines + r0, count: n)
    }

    /// Slots of the table of values met in `cellTextIDs`.
    private static let metValueSlots = 32

    /// A value of 1...32 bytes met in `cellTextIDs`, by the words that with its length hold
    /// every byte (as `ShortSpellings`' ways), and its text's index.
    struct MetValue {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        /// 0: no value.
        var length = 0
        var id: Int32 = 0

        /// The slot of `table` (`metValueSlots` of them) for a value by its first two words and
        /// length.
        @inline(__always) static func slot(_ table: UnsafeMutablePointer<MetValue>, _ w0: UInt64, _ w1: UInt64,
                                           _ len: Int) -> UnsafeMutablePointer<MetValue> {
            let h = (w0 ^ w1 &* 0xC2B2_AE3D_27D4_EB4F ^ UInt64(truncatingIfNeeded: len)) &* 0x9E37_79B9_7F4A_7C15
            return table + Int(truncatingIfNeeded: h &>> 59)
        }

        /// The word ending at the end of a value of 9 bytes or more (its second in `words`).
        @inline(__always) static func lastWord(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
            UnsafeRawPointer(p).loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
        }

        @inline(__always) static func words(_ p: UnsafePointer<UInt8>, _ n: Int) -> (UInt64, UInt64, UInt64, UInt64) {
            let r = UnsafeRawPointer(p)
            return (ValueParser.word(p, min(n, 8)), n > 8 ? r.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self) : 0,
                    n > 16 ? r.loadUnaligned(fromByteOffset: 8, as: UInt64.self) : 0,
                    n > 16 ? r.loadUnaligned(fromByteOffset: n &- 16, as: UInt64.self) : 0)
        }
    }

    /// The text ids of column c's cells in records r0..<r0 + n (their `cache` texts, `empty` for
    /// an empty cell) into `ids`. Values come back, and take the index of their first String
    /// instead of a String looked up, retained and released again: one-byte ids (members 1, 2,
    /// 3 of every household) by their byte, other values of up to 8 bytes by their one word,
    /// places row after row (a cell with the bytes of the one before), and the few villages of
    /// a commune by their bytes in a small direct-mapped table. Equal bytes give equal texts, so
    /// the batch holds the same texts.
    @inline(never) private static func cellTextIDs(_ cells: CellSpans.Cells, _ c: Int, _ r0: Int, _ n: Int, cache: TextCache,
                                                   empty: String?, texts: RecordTable.TextIDs, into ids: UnsafeMutablePointer<Int32>) {
        withUnsafeTemporaryAllocation(of: MetValue.self, capacity: metValueSlots) { table in
            // One-byte values (member ids 1...9) by their byte: the text's index, or `noText`.
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: 256) { bytes in
                let met = table.baseAddress!, byByte = bytes.baseAddress!
                met.initialize(repeating: MetValue(), count: metValueSlots)
                byByte.initialize(repeating: RecordTable.noText, count: 256)
                var before: (UnsafePointer<UInt8>, Int) = (cells.base, -1)
                // The loop keeps the values met before; whatever makes or looks up a String is out
                // of line (`newTextID`, `otherTextID`), so the loop's values stay in registers.
                cells.forEach(column: c, rows: r0..<(r0 &+ n)) { r, p, len in
                    let i = r &- r0
                    defer { before = (p, len) }
                    if len == 1 {
                        let id = byByte[Int(p[0])]
                        ids[i] = id != RecordTable.noText ? id : newTextID(p, 1, cache: cache, texts: texts, byte: byByte)
                    } else if UInt(bitPattern: len &- 1) < 8 {
                        // Values of 2...8 bytes (member ids): their one word (the others are 0),
                        // looked up first, without the compare with the row before.
                        let w = ValueParser.word(p, len)
                        let e = MetValue.slot(met, w, 0, len)
                        ids[i] = e.pointee.length == len && e.pointee.words.0 == w ? e.pointee.id
                            : newTextID(p, len, cache: cache, texts: texts, met: e)
                    } else if len == before.1 && TextCache.sameCell(p, before.0, len) {
                        ids[i] = ids[i &- 1]
                    } else if UInt(bitPattern: len &- 9) < 8, case let e = MetValue.slot(met, ValueParser.word(p, 8), MetValue.lastWord(p, len), len),
                              e.pointee.length == len, e.pointee.words.0 == ValueParser.word(p, 8),
                              e.pointee.words.1 == MetValue.lastWord(p, len) {
                        // Values of 9...16 bytes (villages) in their own slot, without a call.
                        ids[i] = e.pointee.id
                    } else {
                        ids[i] = otherTextID(p, len, met, cache: cache, empty: empty, texts: texts)
                    }
                }
            }
        }
    }

    /// The text id of a value of 1...8 bytes first met in `cellTextIDs`, kept in its byte's
    /// entry (one byte) or in its slot `met` (more).
    @inline(never) private static func newTextID(_ p: UnsafePointer<UInt8>, _ len: Int, cache: TextCache, texts: RecordTable.TextIDs,
                                                 byte: UnsafeMutablePointer<Int32>? = nil,
                                                 met: UnsafeMutablePointer<MetValue>? = nil) -> Int32 {
        let id = texts.id(of: cache.string(p, len))
        if let byte { byte[Int(p[0])] = id }
        if let met { met.pointee = MetValue(words: (ValueParser.word(p, len), 0, 0, 0), length: len, id: id) }
        return id
    }

    /// The text id of a cell of `cellTextIDs` that is empty or longer than 8 bytes and not the
    /// row before's: values of up to 32 bytes by their words in `met`.
    @inline(never) private static func otherTextID(_ p: UnsafePointer<UInt8>, _ len: Int, _ met: UnsafeMutablePointer<MetValue>,
                                                   cache: TextCache, empty: String?, texts: RecordTable.TextIDs) -> Int32 {
        if len == 0 { return texts.id(of: empty) }
        guard len <= 32 else { return texts.id(of: cache.string(p, len)) }
        let w = MetValue.words(p, len)
        let home = MetValue.slot(met, w.0, w.1, len)
        // A value whose slot another holds takes the next free one (a commune's dozen villages
        // would otherwise keep pushing each other out): looked for up to the first free slot.
        var e = home
        for _ in 0..<metValueSlots {
            if e.pointee.length == len && e.pointee.words == w { return e.pointee.id }
            if e.pointee.length == 0 { break }
            e = e + 1 == met + metValueSlots ? met : e + 1
        }
        if e.pointee.length != 0 { e = home }
        e.pointee = MetValue(words: w, length: len, id: texts.id(of: cache.string(p, len)))
        return e.pointee.id
    }
}

/// The cells of a chunk of clean records (`TableInput.recordIsClean`), kept for decoding them
/// a column at a time. Record i's cell c is the file bytes
/// `origin + starts[i * stride + c]..<origin + starts[i * stride + c + 1] - 1` (cells of a
/// plain record are one comma apart), untrimmed, read through the reader's `bufferBase`: the
/// reader's own offsets made offsets in the file as the record is added, so that a cell costs
/// no look-up of where the buffer was when its record was split. The offsets count from the
/// first record's start (`origin`) in 32 bits: half the memory that the splitter writes and
/// every decode loop reads of 64-bit file offsets. A record beyond their reach (4 GiB of
/// records in one chunk) is not added (`fits`), and goes to the row path.
final class CellSpans {
    let columns: Int
    /// Offsets per record: one per column and the end of the last cell plus one.
    let stride: Int
    @exclusivity(unchecked) private(set) var count = 0
    @exclusivity(unchecked) private var capacity: Int
    @exclusivity(unchecked) private(set) var lines: UnsafeMutablePointer<Int32>
    @exclusivity(unchecked) private(set) var starts: UnsafeMutablePointer<UInt32>
    /// The file offset that `starts` count from: the first record's start, set when a record
    /// is added to none.
    @exclusivity(unchecked) private(set) var origin = 0
    /// How far (in bytes from `origin`) the records added may end: half of what 32 bits hold,
    /// so that the offsets a splitter works out past its data's end (its last block's) fit too.
    /// Tests lower it.
    @exclusivity(unchecked) var reach = Int(Int32.max)
    /// Whether a cell of the records may have a blank (a byte up to a space) at either end: when
    /// none has, a cell is read as it is, without the test for blanks (`Cells.forEach`). Set by
    /// the splitter for its whole run, kept when records are dropped, cleared by `removeAll`.
    @exclusivity(unchecked) private(set) var mayBePadded = false

    init(columns: Int, capacity: Int = 1024) {
        self.columns = max(1, columns)
        stride = self.columns + 1
        self.capacity = capacity
        lines = .allocate(capacity: capacity)
        starts = .allocate(capacity: capacity * stride + CellSpans.slack(stride))
    }

    /// Offsets past the last record's that a splitter may write (`CSVReader.appendCleanRecords`):
    /// the next record's start and the cells of a record with too many commas, at most a 64-byte
    /// block of them, before it sees that the record does not fit.
    private static func slack(_ stride: Int) -> Int { stride + 64 }

    deinit {
        lines.deallocate()
        starts.deallocate()
    }

    func removeAll() {
        count = 0
        mayBePadded = false
    }

    /// Drops the records from `n` on.
    func truncate(to n: Int) { count = min(count, n) }

    /// Drops the records `rows`, the later ones moving down.
    func remove(_ rows: Range<Int>) {
        let later = count - rows.upperBound
        (lines + rows.lowerBound).update(from: lines + rows.upperBound, count: later)
        (starts + rows.lowerBound &* stride).update(from: starts + rows.upperBound &* stride, count: later &* stride)
        count -= rows.count
    }

    /// Whether the current record of `csv` (a plain one with `columns` fields) is within the
    /// offsets' reach, so that `append` may add it.
    @inline(__always) func fits(_ csv: CSVReader) -> Bool {
        csv.nextRecordFileOffset &- (count == 0 ? csv.recordFileOffset : origin) <= reach
    }

    /// Adds the current record of `csv`, a plain one with `columns` fields that `fits`.
    @inline(__always) func append(_ csv: CSVReader) {
        if count == capacity { grow(to: capacity * 2) }
        if count == 0 { origin = csv.recordFileOffset }
        let shift = csv.bufferFileOffset &- origin
        lines[count] = Int32(truncatingIfNeeded: csv.recordLine)
        let o = starts + count &* stride, fs = csv.fieldStarts, n = columns
        // An add per offset in a loop the compiler vectorises, where a copy alone took a call.
        for k in 0..<n { o[k] = UInt32(truncatingIfNeeded: fs[k] &+ shift) }
        o[n] = UInt32(truncatingIfNeeded: csv.fieldEnds[n &- 1] &+ 1 &+ shift)
        count += 1
        if !mayBePadded { mayBePadded = csv.someFieldIsPadded(columns) }
    }

    /// Room for records `count..<count + n` written in place from file offset `start` on (the
    /// origin then, if there are no records yet), with the slack a splitter needs past them:
    /// their offsets from `offsets` on (record `count + i` at `i * stride`) and their lines
    /// from `recordLines` on; `didAppend` then counts the records written. `end` is the file
    /// offset their bytes may reach (`reach` from the origin).
    @inline(__always) func reserve(_ n: Int, from start: Int) -> (offsets: UnsafeMutablePointer<UInt32>, recordLines: UnsafeMutablePointer<Int32>,
                                                                 end: Int) {
        if count &+ n > capacity { grow(to: max(capacity * 2, count + n)) }
        if count == 0 { origin = start }
        return (starts + count &* stride, lines + count, origin &+ reach)
    }

    /// `mayBePadded`: a cell of them may have blanks at an end.
    @inline(__always) func didAppend(_ n: Int, mayBePadded padded: Bool) {
        count &+= n
        if padded { mayBePadded = true }
    }

    /// The file offset of record r's first byte.
    @inline(__always) func recordStart(_ r: Int) -> Int { origin &+ Int(starts[r &* stride]) }

    /// Cell c of record r as it is in the file, blanks and all, from `base`.
    @inline(__always) func untrimmedCell(_ r: Int, _ c: Int, base: UnsafePointer<UInt8>) -> (UnsafePointer<UInt8>, Int) {
        cells(base: base).untrimmedCell(r, c)
    }

    /// Cell c of record r, trimmed of blanks, from `base` (the reader's `bufferBase`).
    @inline(__always) func cell(_ r: Int, _ c: Int, base: UnsafePointer<UInt8>) -> (UnsafePointer<UInt8>, Int) {
        cells(base: base).cell(r, c)
    }

    /// The spans' offsets as plain values, for a loop over many cells: in locals, they are not
    /// loaded again through this object after every store of a decoded value.
    struct Cells {
        /// Where the bytes of offset 0 (the origin) are.
        let base: UnsafePointer<UInt8>
        let starts: UnsafePointer<UInt32>
        let stride: Int
        /// `CellSpans.mayBePadded` when the cells were taken.
        let mayBePadded: Bool

        @inline(__always) func cell(_ r: Int, _ c: Int) -> (UnsafePointer<UInt8>, Int) {
            cell(at: starts + (r &* stride &+ c), padded: mayBePadded)
        }

        /// Cell c of record r as it is in the file, blanks and all.
        @inline(__always) func untrimmedCell(_ r: Int, _ c: Int) -> (UnsafePointer<UInt8>, Int) {
            let o = starts + (r &* stride &+ c), s = Int(o[0])
            return (base + s, Int(o[1]) &- 1 &- s)
        }

        /// The cell whose offset is at `o`, trimmed as `CSVReader.trimmedField` trims when it
        /// may be `padded`.
        @inline(__always) func cell(at o: UnsafePointer<UInt32>, padded: Bool) -> (UnsafePointer<UInt8>, Int) {
            var s = Int(o[0]), e = Int(o[1]) &- 1
            if padded && s < e && (base[s] <= 0x20 || base[e &- 1] <= 0x20) {
                while s < e, base[s] == 0x20 || base[s] == 0x09 { s &+= 1 }
                while e > s, base[e &- 1] == 0x20 || base[e &- 1] == 0x09 { e &-= 1 }
            }
            return (base + s, e &- s)
        }

        /// Calls `body` with cell c of each of records `rows`, trimmed: a loop for records none
        /// of whose cells has blanks at an end, without the test for them, and one for the others.
        @inline(__always) func forEach(column c: Int, rows: Range<Int>, _ body: (_ r: Int, _ p: UnsafePointer<UInt8>, _ n: Int) -> Void) {
            @inline(__always) func walk(padded: Bool) {
                forEachOffset(column: c, rows: rows) { r, o in
                    let (p, n) = cell(at: o, padded: padded)
                    body(r, p, n)
                }
            }
            if mayBePadded { walk(padded: true) } else { walk(padded: false) }
        }

        /// Calls `body` with the place of cell c's offset (its end is the next offset) in each
        /// of records `rows`.
        @inline(__always) func forEachOffset(column c: Int, rows: Range<Int>, _ body: (_ r: Int, _ o: UnsafePointer<UInt32>) -> Void) {
            var o = starts + (rows.lowerBound &* stride &+ c), r = rows.lowerBound
            // Two records a step: the loop's own instructions are a good part of a cell's.
            while r &+ 1 < rows.upperBound {
                body(r, o)
                body(r &+ 1, o + stride)
                r &+= 2
                o += 2 &* stride
            }
            if r < rows.upperBound { body(r, o) }
        }
    }

    /// `base`: the reader's `bufferBase`.
    @inline(__always) func cells(base: UnsafePointer<UInt8>) -> Cells {
        Cells(base: base + origin, starts: UnsafePointer(starts), stride: stride, mayBePadded: mayBePadded)
    }

    private func grow(to n: Int) {
        func moved<T>(_ p: UnsafeMutablePointer<T>, _ old: Int, _ new: Int) -> UnsafeMutablePointer<T> {
            let q = UnsafeMutablePointer<T>.allocate(capacity: new)
            q.moveInitialize(from: p, count: old)
            p.deallocate()
            return q
        }
        lines = moved(lines, count, n)
        starts = moved(starts, count * stride, n * stride + CellSpans.slack(stride))
        capacity = n
    }
}
