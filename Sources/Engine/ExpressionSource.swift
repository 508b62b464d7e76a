import CEL
import Diagnostics
import RuleModel
#if canImport(Glibc)
import Glibc
#endif

/// Maps a position inside an expression back to the rule file, so a type error points at the
/// character in the YAML where the rule author wrote it.
final class SourceMap: @unchecked Sendable {
    private var lines: [String: [Substring]] = [:]
    private let lock = NSLockLite()

    func diagnostic(_ error: CELError, in expression: Located<String>, context: String) -> Diagnostic {
        let loc = expression.location
        var message = error.message
        if !context.isEmpty { message = "\(context): \(message)" }
        switch expression.style {
        case .literal?, .folded?:
            // The block's text starts on the next line, at the block's indentation.
            let indent = blockIndent(file: loc.file, afterLine: loc.line)
            return .error(at: SourceLocation(file: loc.file, line: loc.line + error.line, column: indent + error.column),
                          message, hint: error.hint)
        case .singleQuoted?, .doubleQuoted?:
            return .error(at: SourceLocation(file: loc.file, line: loc.line + error.line - 1,
                                             column: error.line == 1 ? loc.column + error.column : error.column),
                          message, hint: error.hint)
        default:
            return .error(at: SourceLocation(file: loc.file, line: loc.line + error.line - 1,
                                             column: error.line == 1 ? loc.column + error.column - 1 : error.column),
                          message, hint: error.hint)
        }
    }

    private func blockIndent(file: String, afterLine line: Int) -> Int {
        let fileLines = self.lines(of: file)
        var i = line  // 0-based index of the line after `line`
        while i < fileLines.count {
            let l = fileLines[i]
            if !l.allSatisfy({ $0 == " " }) {
                return l.prefix { $0 == " " }.count
            }
            i += 1
        }
        return 0
    }

    private func lines(of file: String) -> [Substring] {
        lock.lock()
        defer { lock.unlock() }
        if let cached = lines[file] { return cached }
        var text = ""
        if let f = fopen(file, "rb") {
            var buf = [UInt8](repeating: 0, count: 65536)
            var bytes: [UInt8] = []
            while true {
                let n = fread(&buf, 1, buf.count, f)
                if n <= 0 { break }
                bytes.append(contentsOf: buf[0..<n])
            }
            fclose(f)
            text = String(decoding: bytes, as: UTF8.self)
        }
        let result = text.split(separator: "\n", omittingEmptySubsequences: false)
        lines[file] = result
        return result
    }
}

/// A minimal lock on pthread, so the engine needs no Foundation.
final class NSLockLite: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func lock() { pthread_mutex_lock(&mutex) }
    func unlock() { pthread_mutex_unlock(&mutex) }
}
