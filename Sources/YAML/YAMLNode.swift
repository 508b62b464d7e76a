import Diagnostics

/// A YAML node with the place it starts in its file. Aliases are resolved to the node they name,
/// so a tree can share subtrees; nothing is copied.
public final class YAMLNode: @unchecked Sendable {
    public enum ScalarStyle: Sendable { case plain, singleQuoted, doubleQuoted, literal, folded }

    public enum Kind {
        case scalar(String, ScalarStyle)
        case sequence([YAMLNode])
        case mapping([(key: YAMLNode, value: YAMLNode)])
    }

    public let kind: Kind
    public let location: SourceLocation
    /// Where the node ends (exclusive), for mapping expression positions inside block scalars.
    public let endLocation: SourceLocation
    /// An explicit tag such as `!!str`, or nil.
    public let tag: String?

    init(kind: Kind, location: SourceLocation, endLocation: SourceLocation, tag: String?) {
        self.kind = kind
        self.location = location
        self.endLocation = endLocation
        self.tag = tag
    }

    public var scalar: String? {
        if case .scalar(let s, _) = kind { return s }
        return nil
    }

    public var scalarStyle: ScalarStyle? {
        if case .scalar(_, let style) = kind { return style }
        return nil
    }

    public var sequence: [YAMLNode]? {
        if case .sequence(let items) = kind { return items }
        return nil
    }

    public var mapping: [(key: YAMLNode, value: YAMLNode)]? {
        if case .mapping(let pairs) = kind { return pairs }
        return nil
    }

    /// The plain-language name of the node's kind, for "expected a mapping, found a list".
    public var kindName: String {
        switch kind {
        case .scalar(let s, let style):
            if style == .plain, s.isEmpty || s == "~" || s == "null" { return "an empty value" }
            return "a scalar"
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }

    /// True for a plain `null`, `~` or empty scalar.
    public var isNull: Bool {
        if case .scalar(let s, .plain) = kind { return s.isEmpty || s == "~" || s == "null" || s == "Null" || s == "NULL" }
        return false
    }

    /// The value of `key` in a mapping, or nil.
    public subscript(key: String) -> YAMLNode? {
        mapping?.first { $0.key.scalar == key }?.value
    }
}
