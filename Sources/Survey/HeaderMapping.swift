import Diagnostics
import YAML

/// A declarative mapping from a user's headers and code spellings to the data contract's.
///
/// ```yaml
/// households:
///   headers:
///     household_id: [Mã hộ, Mã HGĐ]      # contract name: the spellings that mean it
///   codes:
///     area: {rural: [nông thôn], urban: thành thị}
/// members:
///   headers: {sex: Giới tính}
///   codes: {sex: {male: nam, female: nữ}}
/// booleans: {true: [có, x], false: [không]}
/// ```
/// Spellings compare after NFC normalisation, ignoring case and surrounding blanks.
public struct HeaderMapping: Sendable {
    public struct Entry: Sendable {
        public let target: String
        public let spelling: String
        public let location: SourceLocation
    }

    public let path: String
    /// Header spelling entries per table ("households", "members"); target = contract field.
    public private(set) var headers: [String: [Entry]] = [:]
    /// Code spelling entries per table and field; target = contract code.
    public private(set) var codes: [String: [String: [Entry]]] = [:]
    public private(set) var trueSpellings: [Entry] = []
    public private(set) var falseSpellings: [Entry] = []

    public init(path: String) { self.path = path }

    /// The contract field a header means in `table`, or nil.
    public func field(forHeader header: String, table: String) -> String? {
        let k = SurveyText.key(header)
        return headers[table]?.first { SurveyText.key($0.spelling) == k }?.target
    }

    public static func load(_ path: String) throws(DiagnosticList) -> HeaderMapping {
        let root: YAMLNode?
        do { root = try YAMLParser.parseFile(path) } catch { throw DiagnosticList([error]) }
        var bag = DiagnosticBag()
        var m = HeaderMapping(path: path)
        guard let root else { return m }
        guard let top = root.mapping else {
            throw DiagnosticList([.error(at: root.location, "a mapping file must be a YAML mapping, found \(root.kindName)")])
        }
        func spellings(_ node: YAMLNode, target: String) -> [Entry] {
            if let s = node.scalar, !node.isNull { return [Entry(target: target, spelling: s, location: node.location)] }
            if let items = node.sequence {
                var out: [Entry] = []
                for item in items {
                    if let s = item.scalar, !item.isNull { out.append(Entry(target: target, spelling: s, location: item.location)) }
                    else { bag.error(at: item.location, "a spelling must be text, found \(item.kindName)") }
                }
                return out
            }
            bag.error(at: node.location, "expected a spelling or a list of spellings for '\(target)', found \(node.kindName)")
            return []
        }
        for (k, v) in top {
            let key = k.scalar ?? ""
            switch key {
            case "households", "members":
                guard let pairs = v.mapping else {
                    bag.error(at: v.location, "'\(key)' must be a mapping with 'headers' and 'codes', found \(v.kindName)")
                    continue
                }
                for (sk, sv) in pairs {
                    switch sk.scalar ?? "" {
                    case "headers":
                        for (f, s) in sv.mapping ?? [] {
                            m.headers[key, default: []] += spellings(s, target: f.scalar ?? "")
                        }
                        if sv.mapping == nil && !sv.isNull { bag.error(at: sv.location, "'headers' must map contract names to spellings") }
                    case "codes":
                        for (f, codeMap) in sv.mapping ?? [] {
                            let field = f.scalar ?? ""
                            guard let cpairs = codeMap.mapping else {
                                bag.error(at: codeMap.location, "codes of '\(field)' must map contract codes to spellings, found \(codeMap.kindName)")
                                continue
                            }
                            for (c, s) in cpairs {
                                m.codes[key, default: [:]][field, default: []] += spellings(s, target: c.scalar ?? "")
                            }
                        }
                        if sv.mapping == nil && !sv.isNull { bag.error(at: sv.location, "'codes' must map fields to their code spellings") }
                    default:
                        let s = sk.scalar ?? ""
                        bag.error(at: sk.location, "unknown key '\(s)' under '\(key)'",
                                  hint: Suggestion.didYouMean(s, in: ["headers", "codes"]) ?? "expected 'headers' or 'codes'")
                    }
                }
            case "booleans":
                for (bk, bv) in v.mapping ?? [] {
                    switch bk.scalar ?? "" {
                    case "true": m.trueSpellings += spellings(bv, target: "true")
                    case "false": m.falseSpellings += spellings(bv, target: "false")
                    default: bag.error(at: bk.location, "'booleans' has keys 'true' and 'false', found '\(bk.scalar ?? "")'")
                    }
                }
            case "description", "language":
                break
            default:
                bag.error(at: k.location, "unknown key '\(key)' in a mapping file",
                          hint: Suggestion.didYouMean(key, in: ["households", "members", "booleans", "description", "language"]))
            }
        }
        if bag.hasErrors { throw DiagnosticList(bag.diagnostics) }
        return m
    }

    /// Problems of this mapping against a schema: unknown fields and codes, with did-you-mean.
    public func check(against schema: SurveySchema) -> [Diagnostic] {
        var out: [Diagnostic] = []
        for (table, specs) in [("households", schema.households), ("members", schema.members)] {
            let names = specs.map(\.name)
            for e in headers[table] ?? [] where !names.contains(e.target) {
                out.append(.error(at: e.location, "'\(e.target)' is not a \(table) column of the data contract",
                                  hint: Suggestion.didYouMean(e.target, in: names)))
            }
            for (field, entries) in codes[table] ?? [:] {
                guard let spec = specs.first(where: { $0.name == field }) else {
                    if let e = entries.first {
                        out.append(.error(at: e.location, "codes given for '\(field)', which is not a \(table) column",
                                          hint: Suggestion.didYouMean(field, in: names)))
                    }
                    continue
                }
                guard let list = schema.codeList(for: spec) else {
                    if let e = entries.first {
                        out.append(.error(at: e.location, "codes given for '\(field)', which is not a code field"))
                    }
                    continue
                }
                for e in entries where !list.codes.contains(e.target) {
                    out.append(.error(at: e.location, "'\(e.target)' is not a code of '\(list.name)'",
                                      hint: Suggestion.didYouMean(e.target, in: list.codes) ?? "codes: \(list.codes.joined(separator: ", "))"))
                }
            }
        }
        return out
    }
}
