import CYAML
import Diagnostics
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Parses YAML bytes with the system libyaml into a tree of `YAMLNode`s.
///
/// libyaml is fed the raw bytes, so invalid UTF-8 is reported where it is rather than being
/// replaced. Hostile documents are cut short: alias expansion ("billion laughs") is bounded by the
/// number of nodes the expanded tree would have, nesting by depth, and input by size, each with a
/// clear error.
public enum YAMLParser {
    public struct Limits: Sendable {
        public var maxBytes: Int
        public var maxDepth: Int
        /// Nodes of the tree as if every alias were expanded.
        public var maxExpandedNodes: Int

        public init(maxBytes: Int = 64 << 20, maxDepth: Int = 512, maxExpandedNodes: Int = 2_000_000) {
            self.maxBytes = maxBytes
            self.maxDepth = maxDepth
            self.maxExpandedNodes = maxExpandedNodes
        }

        public static let `default` = Limits()
    }

    /// Reads and parses a file. A file with several documents is an error; an empty file gives nil.
    public static func parseFile(_ path: String, limits: Limits = .default) throws(Diagnostic) -> YAMLNode? {
        let bytes = try readFile(path, limit: limits.maxBytes)
        return try parse(bytes, file: path, limits: limits)
    }

    public static func parse(_ text: String, file: String, limits: Limits = .default) throws(Diagnostic) -> YAMLNode? {
        try parse(Array(text.utf8), file: file, limits: limits)
    }

    public static func parse(_ bytes: [UInt8], file: String, limits: Limits = .default) throws(Diagnostic) -> YAMLNode? {
        if bytes.count > limits.maxBytes {
            throw Diagnostic.error(at: SourceLocation(file: file, line: 1, column: 1),
                                   "YAML document is \(bytes.count) bytes, more than the limit of \(limits.maxBytes)",
                                   hint: "split the rules into several files")
        }
        var builder = TreeBuilder(file: file, limits: limits, bytes: bytes)
        return try builder.run()
    }

    static func readFile(_ path: String, limit: Int) throws(Diagnostic) -> [UInt8] {
        guard let f = fopen(path, "rb") else {
            throw Diagnostic.error(at: nil, "\(path): cannot open file: \(String(cString: strerror(errno)))")
        }
        defer { fclose(f) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
            if n > 0 { out.append(contentsOf: chunk[0..<n]) }
            if out.count > limit {
                throw Diagnostic.error(at: SourceLocation(file: path, line: 1, column: 1),
                                       "YAML file is larger than the limit of \(limit) bytes",
                                       hint: "split the rules into several files")
            }
            if n < chunk.count { break }
        }
        return out
    }
}

private struct TreeBuilder {
    let file: String
    let limits: YAMLParser.Limits
    let bytes: [UInt8]

    /// Open collections: their start, tag and anchor.
    private enum Open {
        case sequence(SourceLocation, String?, String?)
        case mapping(SourceLocation, String?, String?)
    }

    private var stack: [Open] = []
    /// What each open collection has gathered so far, level by level beside `stack`: appending
    /// to an array kept in an enum's payload copied the array for every node added.
    private var gathered: [[YAMLNode]] = []
    private var anchors: [String: (node: YAMLNode, size: Int)] = [:]
    /// Expanded size of each node built so far, by identity, for alias accounting.
    private var sizes: [ObjectIdentifier: Int] = [:]
    private var expandedNodes = 0
    private var documents = 0
    private var root: YAMLNode?

    init(file: String, limits: YAMLParser.Limits, bytes: [UInt8]) {
        self.file = file
        self.limits = limits
        self.bytes = bytes
    }

    func location(_ mark: yaml_mark_t) -> SourceLocation {
        SourceLocation(file: file, line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }

    /// Line and column of a byte offset, counting columns in characters as libyaml does.
    func location(offset: Int) -> SourceLocation {
        var line = 1, column = 1, i = 0
        let end = min(offset, bytes.count)
        while i < end {
            let b = bytes[i]
            if b == 0x0A { line += 1; column = 1 } else if b & 0xC0 != 0x80 { column += 1 }
            i += 1
        }
        return SourceLocation(file: file, line: line, column: column)
    }

    mutating func run() throws(Diagnostic) -> YAMLNode? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw Diagnostic.error(at: nil, "\(file): cannot initialise the YAML parser")
        }
        defer { yaml_parser_delete(&parser) }
        let result: Result<YAMLNode?, Diagnostic> = bytes.withUnsafeBufferPointer { buf in
            yaml_parser_set_input_string(&parser, buf.baseAddress ?? UnsafePointer(bitPattern: 1)!, buf.count)
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            var event = yaml_event_t()
            while true {
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    return .failure(parserError(parser))
                }
                let type = event.type
                do throws(Diagnostic) {
                    try handle(&event)
                } catch {
                    yaml_event_delete(&event)
                    return .failure(error)
                }
                yaml_event_delete(&event)
                if type == YAML_STREAM_END_EVENT { break }
            }
            return .success(root)
        }
        return try result.get()
    }

    func parserError(_ parser: yaml_parser_t) -> Diagnostic {
        let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
        var message = problem
        if let context = parser.context.map({ String(cString: $0) }) {
            message = "\(problem) \(context)"
        }
        let loc: SourceLocation
        if parser.error == YAML_READER_ERROR {
            // Reader errors carry only a byte offset.
            var offset = Int(parser.problem_offset)
            // A bad continuation byte is reported where it stands; point at the character it
            // breaks, which starts at the lead byte before it.
            if problem.contains("trailing") {
                var i = min(offset, bytes.count) - 1
                while i >= 0, bytes[i] & 0xC0 == 0x80 { i -= 1 }
                if i >= 0, bytes[i] >= 0xC0 { offset = i }
            }
            loc = location(offset: offset)
            if problem.contains("UTF-8") || problem.contains("utf-8") {
                return Diagnostic.error(at: loc, "the file is not valid UTF-8 (\(problem), byte value 0x\(String(parser.problem_value, radix: 16, uppercase: true)))",
                                        hint: "save the file as UTF-8")
            }
        } else {
            loc = location(parser.problem_mark)
        }
        return Diagnostic.error(at: loc, "invalid YAML: \(message)")
    }

    private mutating func handle(_ event: inout yaml_event_t) throws(Diagnostic) {
        let start = location(event.start_mark)
        switch event.type {
        case YAML_DOCUMENT_START_EVENT:
            documents += 1
            if documents > 1 {
                throw Diagnostic.error(at: start, "a rule file holds one YAML document; found a second one",
                                       hint: "remove the '---' line or split the file")
            }
        case YAML_SCALAR_EVENT:
            let s = event.data.scalar
            let value = String(decoding: UnsafeBufferPointer(start: s.value, count: Int(s.length)), as: UTF8.self)
            let style: YAMLNode.ScalarStyle
            switch s.style {
            case YAML_SINGLE_QUOTED_SCALAR_STYLE: style = .singleQuoted
            case YAML_DOUBLE_QUOTED_SCALAR_STYLE: style = .doubleQuoted
            case YAML_LITERAL_SCALAR_STYLE: style = .literal
            case YAML_FOLDED_SCALAR_STYLE: style = .folded
            default: style = .plain
            }
            let node = YAMLNode(kind: .scalar(value, style), location: start,
                                endLocation: location(event.end_mark), tag: s.tag.map { String(cString: $0) })
            try add(node, size: 1, anchor: s.anchor.map { String(cString: $0) })
        case YAML_ALIAS_EVENT:
            let name = String(cString: event.data.alias.anchor)
            guard let target = anchors[name] else {
                throw Diagnostic.error(at: start, "unknown alias '*\(name)'")
            }
            try add(target.node, size: target.size, anchor: nil)
        case YAML_SEQUENCE_START_EVENT:
            let s = event.data.sequence_start
            try push(.sequence(start, s.tag.map { String(cString: $0) }, s.anchor.map { String(cString: $0) }), at: start)
        case YAML_MAPPING_START_EVENT:
            let m = event.data.mapping_start
            try push(.mapping(start, m.tag.map { String(cString: $0) }, m.anchor.map { String(cString: $0) }), at: start)
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            let end = location(event.end_mark)
            guard let open = stack.popLast() else { return }
            let items = gathered.removeLast()
            let node: YAMLNode
            let anchor: String?
            var size = 1
            switch open {
            case .sequence(let loc, let tag, let a):
                node = YAMLNode(kind: .sequence(items), location: loc, endLocation: end, tag: tag)
                anchor = a
                for item in items { size += expandedSize(item) }
            case .mapping(let loc, let tag, let a):
                var pairs: [(key: YAMLNode, value: YAMLNode)] = []
                pairs.reserveCapacity(items.count / 2)
                var i = 0
                while i + 1 < items.count {
                    pairs.append((items[i], items[i + 1]))
                    size += expandedSize(items[i]) + expandedSize(items[i + 1])
                    i += 2
                }
                node = YAMLNode(kind: .mapping(pairs), location: loc, endLocation: end, tag: tag)
                anchor = a
            }
            // The node's own count was added when it opened; only record its expanded size.
            sizes[ObjectIdentifier(node)] = size
            try attach(node, anchor: anchor, size: size)
        default:
            break
        }
    }

    private mutating func push(_ open: Open, at loc: SourceLocation) throws(Diagnostic) {
        if stack.count >= limits.maxDepth {
            throw Diagnostic.error(at: loc, "YAML nesting is deeper than \(limits.maxDepth) levels",
                                   hint: "rule files never need such depth; is the file generated by mistake?")
        }
        try count(1, at: loc)
        stack.append(open)
        gathered.append([])
    }

    private mutating func count(_ n: Int, at loc: SourceLocation) throws(Diagnostic) {
        expandedNodes += n
        if expandedNodes > limits.maxExpandedNodes {
            throw Diagnostic.error(at: loc, "YAML document expands to more than \(limits.maxExpandedNodes) nodes (aliases included)",
                                   hint: "a chain of aliases that multiplies ('billion laughs') is refused; write the values out")
        }
    }

    /// Nodes `node` expands to, aliases included: one for a scalar, without hashing.
    private func expandedSize(_ node: YAMLNode) -> Int {
        if case .scalar = node.kind { return 1 }
        return sizes[ObjectIdentifier(node)] ?? 1
    }

    private mutating func add(_ node: YAMLNode, size: Int, anchor: String?) throws(Diagnostic) {
        try count(size, at: node.location)
        // A scalar counts one, as a node missing from `sizes` does: recording it would only hash.
        if size != 1, sizes[ObjectIdentifier(node)] == nil { sizes[ObjectIdentifier(node)] = size }
        try attach(node, anchor: anchor, size: size)
    }

    private mutating func attach(_ node: YAMLNode, anchor: String?, size: Int) throws(Diagnostic) {
        if let anchor { anchors[anchor] = (node, size) }
        guard !gathered.isEmpty else {
            root = node
            return
        }
        gathered[gathered.count - 1].append(node)
    }
}
