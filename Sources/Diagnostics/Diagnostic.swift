/// A place in a source file (a rule file, a survey, an expression). Lines and columns are 1-based;
/// column counts Unicode scalars, as editors do for Vietnamese text.
public struct SourceLocation: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }

    public static func < (a: SourceLocation, b: SourceLocation) -> Bool {
        (a.file, a.line, a.column) < (b.file, b.line, b.column)
    }
}

/// The one diagnostic type of the product: every stage (YAML, rule loading, expressions, survey
/// reading, the engine) reports through it, so every message has the same shape:
/// `FILE:LINE:COLUMN: error: message` followed, where a fix is likely, by a hint line.
public struct Diagnostic: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable {
        case error, warning, note
    }

    public var severity: Severity
    /// Nil when no place is known (a missing file, a usage error).
    public var location: SourceLocation?
    public var message: String
    /// A likely fix ("did you mean 'indicator'?"), printed on its own line.
    public var hint: String?

    public init(_ severity: Severity = .error, at location: SourceLocation?, _ message: String, hint: String? = nil) {
        self.severity = severity
        self.location = location
        self.message = message
        self.hint = hint
    }

    public static func error(at location: SourceLocation?, _ message: String, hint: String? = nil) -> Diagnostic {
        Diagnostic(.error, at: location, message, hint: hint)
    }

    public var description: String {
        var text = ""
        if let location { text += "\(location): " }
        text += "\(severity.rawValue): \(message)"
        if let hint { text += "\n  hint: \(hint)" }
        return text
    }
}

/// Several diagnostics thrown together, so a loader can report every problem of a file at once.
public struct DiagnosticList: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]
    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Collects diagnostics in the order found; sorting is left to the caller so output stays
/// deterministic whatever order the work ran in.
public struct DiagnosticBag: Sendable {
    public private(set) var diagnostics: [Diagnostic] = []
    public init() {}
    public mutating func append(_ d: Diagnostic) { diagnostics.append(d) }
    public mutating func append(contentsOf ds: [Diagnostic]) { diagnostics.append(contentsOf: ds) }
    public mutating func error(at location: SourceLocation?, _ message: String, hint: String? = nil) {
        diagnostics.append(.error(at: location, message, hint: hint))
    }
    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
    public var isEmpty: Bool { diagnostics.isEmpty }
}
