import Diagnostics
import YAML

/// Strict reading of one YAML mapping: every key must be known, required keys must be there,
/// and every value must have the expected type. Problems are collected, not thrown, so a rule
/// author sees every mistake of a file in one run.
struct MappingReader {
    let node: YAMLNode
    let what: String
    private(set) var pairs: [(key: YAMLNode, value: YAMLNode)] = []
    private var allowed: [String]

    /// `what` names the thing being read ("indicator 'water'") for messages.
    init?(_ node: YAMLNode, what: String, allowed: [String], diagnostics: inout DiagnosticBag) {
        guard let pairs = node.mapping else {
            diagnostics.error(at: node.location, "\(what) must be a mapping, found \(node.kindName)")
            return nil
        }
        self.node = node
        self.what = what
        self.allowed = allowed
        self.pairs = pairs
        var seen: Set<String> = []
        for (key, _) in pairs {
            guard let name = key.scalar else {
                diagnostics.error(at: key.location, "keys of \(what) must be plain names")
                continue
            }
            if !seen.insert(name).inserted {
                diagnostics.error(at: key.location, "duplicate key '\(name)' in \(what)")
            }
            if !allowed.contains(name) {
                diagnostics.error(at: key.location, "unknown key '\(name)' in \(what)",
                                  hint: Suggestion.didYouMean(name, in: allowed) ?? "allowed keys: \(allowed.joined(separator: ", "))")
            }
        }
    }

    func value(_ key: String) -> YAMLNode? {
        pairs.first { $0.key.scalar == key }?.value
    }

    func keyNode(_ key: String) -> YAMLNode? {
        pairs.first { $0.key.scalar == key }?.key
    }

    /// The value of a required key, or an error at the mapping naming the key.
    func required(_ key: String, _ diagnostics: inout DiagnosticBag) -> YAMLNode? {
        if let v = value(key) { return v }
        diagnostics.error(at: node.location, "missing required key '\(key)' in \(what)")
        return nil
    }

    func string(_ key: String, required: Bool, _ diagnostics: inout DiagnosticBag) -> String? {
        guard let node = required ? self.required(key, &diagnostics) : value(key) else { return nil }
        return Scalars.string(node, key: key, &diagnostics)
    }

    func located(_ key: String, required: Bool, _ diagnostics: inout DiagnosticBag) -> Located<String>? {
        guard let node = required ? self.required(key, &diagnostics) : value(key) else { return nil }
        guard let s = Scalars.string(node, key: key, &diagnostics) else { return nil }
        return Located(s, node)
    }
}

/// Conversions of scalar nodes, each reporting the expected type when the node is something else.
enum Scalars {
    static func string(_ node: YAMLNode, key: String, _ diagnostics: inout DiagnosticBag) -> String? {
        guard let s = node.scalar, !node.isNull || node.scalarStyle != .plain || !(node.scalar ?? "").isEmpty else {
            diagnostics.error(at: node.location, "'\(key)' must be a text, found \(node.kindName)")
            return nil
        }
        return s
    }

    static func bool(_ node: YAMLNode, key: String, _ diagnostics: inout DiagnosticBag) -> Bool? {
        if node.scalarStyle == .plain, let s = node.scalar {
            switch s {
            case "true", "True", "TRUE": return true
            case "false", "False", "FALSE": return false
            default: break
            }
        }
        diagnostics.error(at: node.location, "'\(key)' must be a boolean (true or false), found \(describe(node))")
        return nil
    }

    static func int(_ node: YAMLNode, key: String, _ diagnostics: inout DiagnosticBag) -> Int64? {
        if node.scalarStyle == .plain, let s = node.scalar, let v = parseInt(s) { return v }
        diagnostics.error(at: node.location, "'\(key)' must be an integer, found \(describe(node))")
        return nil
    }

    static func date(_ node: YAMLNode, key: String, _ diagnostics: inout DiagnosticBag) -> RuleDate? {
        guard let s = node.scalar else {
            diagnostics.error(at: node.location, "'\(key)' must be a date YYYY-MM-DD, found \(node.kindName)")
            return nil
        }
        switch RuleDate.parse(s) {
        case .success(let d): return d
        case .failure(let problem):
            diagnostics.error(at: node.location, "'\(key)': \(problem)")
            return nil
        }
    }

    /// Plain integers with optional `_` or `.`-free digit groups; YAML 1.1 octal and sexagesimal
    /// forms are refused as too surprising for legal amounts.
    static func parseInt(_ s: String) -> Int64? {
        var t = Substring(s)
        var negative = false
        if t.first == "-" { negative = true; t = t.dropFirst() } else if t.first == "+" { t = t.dropFirst() }
        let digits = t.filter { $0 != "_" }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        guard let v = Int64(digits) else { return nil }
        return negative ? -v : v
    }

    static func describe(_ node: YAMLNode) -> String {
        if let s = node.scalar { return "'\(s)'" }
        return node.kindName
    }
}

/// A value with the node it came from, so later checks can point at it.
public struct Located<T: Sendable>: Sendable {
    public var value: T
    public var location: SourceLocation
    /// For expressions: where the scalar's text starts and how it was written, to map a position
    /// inside the expression back to the file.
    public var style: YAMLNode.ScalarStyle?

    public init(_ value: T, location: SourceLocation, style: YAMLNode.ScalarStyle? = nil) {
        self.value = value
        self.location = location
        self.style = style
    }

    init(_ value: T, _ node: YAMLNode) {
        self.init(value, location: node.location, style: node.scalarStyle)
    }
}
