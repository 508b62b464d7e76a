#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes RFC 4180 CSV that is safe to open in a spreadsheet: a cell that begins with `=`, `+`,
/// `-`, `@` (or a tab or carriage return) and is not a number is data, never a formula, so it is
/// prefixed with a single quote `'`; a cell with a comma, quote or line break is quoted with its
/// quotes doubled. Lines end with LF (or CRLF when asked).
public struct CSVWriter: ~Copyable {
    private let file: UnsafeMutablePointer<FILE>
    private let ownsFile: Bool
    private var buffer: [UInt8] = []
    private let lineEnd: [UInt8]

    /// Writes to a file (created or truncated).
    public init?(path: String, crlf: Bool = false, byteOrderMark: Bool = false) {
        guard let f = fopen(path, "wb") else { return nil }
        file = f
        ownsFile = true
        lineEnd = crlf ? [13, 10] : [10]
        buffer.reserveCapacity(1 << 16)
        if byteOrderMark { buffer += [0xEF, 0xBB, 0xBF] }
    }

    /// Writes to an open stream such as `stdout`; the stream is not closed.
    public init(stream: UnsafeMutablePointer<FILE>, crlf: Bool = false) {
        file = stream
        ownsFile = false
        lineEnd = crlf ? [13, 10] : [10]
        buffer.reserveCapacity(1 << 16)
    }

    public mutating func writeRow(_ cells: [String]) {
        for (i, c) in cells.enumerated() {
            if i > 0 { buffer.append(0x2C) }
            CSVEscape.append(c, to: &buffer)
        }
        buffer += lineEnd
        if buffer.count >= 1 << 16 { flush() }
    }

    public mutating func flush() {
        if !buffer.isEmpty {
            _ = buffer.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
            buffer.removeAll(keepingCapacity: true)
        }
        fflush(file)
    }

    deinit {
        if !buffer.isEmpty { _ = buffer.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) } }
        if ownsFile { fclose(file) } else { fflush(file) }
    }
}

/// Escaping of single CSV cells (see `CSVWriter`).
public enum CSVEscape {
    /// The cell as it must appear in a CSV file.
    public static func field(_ value: String) -> String {
        var out: [UInt8] = []
        append(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// True when a spreadsheet would read the cell as a formula: it begins with `=`, `+`, `-`,
    /// `@`, a tab or a carriage return, and it is not a plain number.
    public static func isFormulaLike(_ value: String) -> Bool {
        guard let first = value.utf8.first else { return false }
        guard first == 0x3D || first == 0x2B || first == 0x2D || first == 0x40 || first == 0x09 || first == 0x0D else { return false }
        return !isNumber(value)
    }

    static func isNumber(_ s: String) -> Bool {
        let b = Array(s.utf8)
        var i = 0
        if i < b.count, b[i] == 0x2B || b[i] == 0x2D { i += 1 }
        var digits = 0
        while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 { i += 1; digits += 1 }
        if i < b.count, b[i] == 0x2E {
            i += 1
            while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 { i += 1; digits += 1 }
        }
        if digits == 0 { return false }
        if i < b.count, b[i] == 0x65 || b[i] == 0x45 {
            i += 1
            if i < b.count, b[i] == 0x2B || b[i] == 0x2D { i += 1 }
            var e = 0
            while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 { i += 1; e += 1 }
            if e == 0 { return false }
        }
        return i == b.count
    }

    public static func append(_ value: String, to out: inout [UInt8]) {
        let formula = isFormulaLike(value)
        var needsQuotes = formula && false
        for b in value.utf8 where b == 0x2C || b == 0x22 || b == 0x0A || b == 0x0D {
            needsQuotes = true
            break
        }
        if needsQuotes { out.append(0x22) }
        if formula { out.append(0x27) }
        for b in value.utf8 {
            if b == 0x22 { out.append(0x22) }
            out.append(b)
        }
        if needsQuotes { out.append(0x22) }
    }
}
