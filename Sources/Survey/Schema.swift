import Diagnostics
import YAML

/// The type of a survey field.
public enum FieldType: Sendable, Hashable {
    case text, bool, int, decimal, date
    /// A date, or a bare year `YYYY` read as 1 July of that year.
    case birthDate
    /// One code of the named code list.
    case code(String)
    /// A `;`-separated list of codes of the named list; items trimmed, empty items skipped.
    case codeSet(String)

    public var name: String {
        switch self {
        case .text: return "text"
        case .bool: return "bool"
        case .int: return "int"
        case .decimal: return "decimal"
        case .date: return "date"
        case .birthDate: return "birth_date"
        case .code: return "code"
        case .codeSet: return "code_set"
        }
    }

    /// The code list a code or code-set field draws from.
    public var codeListName: String? {
        switch self {
        case .code(let l), .codeSet(let l): return l
        default: return nil
        }
    }
}

/// A list of codes in contract order; a code's id is its index.
public struct CodeList: Sendable {
    public let name: String
    public let codes: [String]
    public let location: SourceLocation?

    public init(name: String, codes: [String], location: SourceLocation? = nil) {
        self.name = name
        self.codes = codes
        self.location = location
    }

    public func id(of code: String) -> Int32? { codes.firstIndex(of: code).map(Int32.init) }
}

public enum Requirement: Sendable {
    case required
    case optional
    /// Required when the CEL expression holds; evaluated by the engine, carried here verbatim.
    case requiredWhen(expression: String, location: SourceLocation)
}

public struct FieldSpec: Sendable {
    public let name: String
    public let type: FieldType
    public let requirement: Requirement
    /// The default as written in the schema, applied when the cell is empty or the column absent.
    public let defaultValue: String?
    public let location: SourceLocation
    /// Personal data (a name): never needed by the rules.
    public let personal: Bool
    /// What the field means, for documentation and messages.
    public let meaning: String
    /// Smallest allowed value of a number (`min:`), and whether it is excluded (`greater_than:`).
    public let minimum: Double?
    public let minimumExclusive: Bool
    /// For birth dates: at most this many years before the reference date.
    public let maxAgeYears: Int?

    public var isRequired: Bool {
        if case .required = requirement { return true }
        return false
    }

    public var requiredWhen: String? {
        if case .requiredWhen(let e, _) = requirement { return e }
        return nil
    }
}

/// The survey's fields and code lists, loaded from `Rules/survey/schema.yaml`.
public struct SurveySchema: Sendable {
    public let households: [FieldSpec]
    public let members: [FieldSpec]
    public let codeLists: [String: CodeList]
    /// Code list names in the order the schema declares them.
    public let codeListOrder: [String]
    /// The mapping applied when a header or code is not the contract's (`default_mapping:`).
    public let defaultMappingPath: String?
    /// That mapping, loaded with the schema (or its problems): the reader's spellings, the code
    /// labels of explanations and the rule tests take this one instead of each parsing the file.
    public let defaultMapping: Result<HeaderMapping, DiagnosticList>?
    public let path: String

    public func codeList(for field: FieldSpec) -> CodeList? {
        field.type.codeListName.flatMap { codeLists[$0] }
    }

    /// `rulesRoot/survey/schema.yaml`.
    public static func shipped(rulesRoot: String) throws(DiagnosticList) -> SurveySchema {
        try load(rulesRoot + "/survey/schema.yaml")
    }

    public static func load(_ path: String) throws(DiagnosticList) -> SurveySchema {
        let root: YAMLNode?
        do { root = try YAMLParser.parseFile(path) } catch { throw DiagnosticList([error]) }
        guard let root else {
            throw DiagnosticList([.error(at: SourceLocation(file: path, line: 1, column: 1), "the survey schema is empty")])
        }
        var loader = SchemaLoader(path: path)
        let schema = loader.load(root)
        if loader.bag.hasErrors || schema == nil { throw DiagnosticList(loader.bag.diagnostics) }
        return schema!
    }
}

private struct SchemaLoader {
    let path: String
    var bag = DiagnosticBag()

    init(path: String) { self.path = path }

    mutating func keys(_ node: YAMLNode, allowed: [String], what: String) -> [(key: YAMLNode, value: YAMLNode)]? {
        guard let pairs = node.mapping else {
            bag.error(at: node.location, "\(what) must be a mapping, found \(node.kindName)")
            return nil
        }
        var seen = Set<String>()
        for (k, _) in pairs {
            let key = k.scalar ?? ""
            if !allowed.contains(key) {
                bag.error(at: k.location, "unknown key '\(key)' in \(what)",
                          hint: Suggestion.didYouMean(key, in: allowed) ?? "allowed keys: \(allowed.joined(separator: ", "))")
            } else if !seen.insert(key).inserted {
                bag.error(at: k.location, "key '\(key)' appears twice in \(what)")
            }
        }
        return pairs
    }

    mutating func string(_ node: YAMLNode, _ what: String) -> String? {
        guard let s = node.scalar, !node.isNull else {
            bag.error(at: node.location, "\(what) must be a text value, found \(node.kindName)")
            return nil
        }
        return s
    }

    mutating func bool(_ node: YAMLNode, _ what: String) -> Bool? {
        switch node.scalar {
        case "true": return true
        case "false": return false
        default:
            bag.error(at: node.location, "\(what) must be true or false, found '\(node.scalar ?? node.kindName)'")
            return nil
        }
    }

    mutating func number(_ node: YAMLNode, _ what: String) -> Double? {
        guard let s = node.scalar, let v = Double(s) else {
            bag.error(at: node.location, "\(what) must be a number, found '\(node.scalar ?? node.kindName)'")
            return nil
        }
        return v
    }

    mutating func load(_ root: YAMLNode) -> SurveySchema? {
        guard let top = keys(root, allowed: ["schema_version", "default_mapping", "code_lists", "households", "members"],
                             what: "the survey schema") else { return nil }
        var lists: [String: CodeList] = [:]
        var order: [String] = []
        var mappingPath: String?
        var households: [FieldSpec] = []
        var members: [FieldSpec] = []
        var hasHouseholds = false, hasMembers = false
        // Code lists first, so fields can refer to them whatever the key order.
        for (k, v) in top where k.scalar == "code_lists" {
            guard let pairs = v.mapping else {
                bag.error(at: v.location, "code_lists must map each list name to its codes, found \(v.kindName)")
                continue
            }
            for (nameNode, codesNode) in pairs {
                let name = nameNode.scalar ?? ""
                guard let items = codesNode.sequence else {
                    bag.error(at: codesNode.location, "code list '\(name)' must be a list of codes, found \(codesNode.kindName)")
                    continue
                }
                var codes: [String] = []
                for item in items {
                    guard let c = string(item, "a code of list '\(name)'") else { continue }
                    if codes.contains(c) {
                        bag.error(at: item.location, "code '\(c)' appears twice in list '\(name)'")
                    }
                    codes.append(c)
                }
                if codes.count > 64 {
                    bag.error(at: codesNode.location, "code list '\(name)' has \(codes.count) codes; at most 64 are supported")
                }
                if lists[name] != nil { bag.error(at: nameNode.location, "code list '\(name)' is declared twice") }
                lists[name] = CodeList(name: name, codes: codes, location: nameNode.location)
                order.append(name)
            }
        }
        for (k, v) in top {
            switch k.scalar {
            case "schema_version":
                if v.scalar != "1" { bag.error(at: v.location, "unsupported schema_version '\(v.scalar ?? "")'; this product reads version 1") }
            case "default_mapping":
                if let rel = string(v, "default_mapping") {
                    if rel.hasPrefix("/") { mappingPath = rel } else {
                        let dir = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
                        mappingPath = dir + "/" + rel
                    }
                }
            case "households":
                hasHouseholds = true
                households = fields(v, table: "households", lists: lists)
            case "members":
                hasMembers = true
                members = fields(v, table: "members", lists: lists)
            default: break
            }
        }
        let start = SourceLocation(file: path, line: 1, column: 1)
        if !hasHouseholds { bag.error(at: start, "the survey schema has no 'households' fields") }
        if !hasMembers { bag.error(at: start, "the survey schema has no 'members' fields") }
        for (table, specs) in [("households", households), ("members", members)] {
            if !specs.contains(where: { $0.name == "household_id" }) {
                bag.error(at: start, "the \(table) fields must include 'household_id'")
            }
        }
        if !members.contains(where: { $0.name == "member_id" }) {
            bag.error(at: start, "the members fields must include 'member_id'")
        }
        let mapping = mappingPath.map { path in Result { () throws(DiagnosticList) in try HeaderMapping.load(path) } }
        return SurveySchema(households: households, members: members, codeLists: lists, codeListOrder: order,
                            defaultMappingPath: mappingPath, defaultMapping: mapping, path: path)
    }

    mutating func fields(_ node: YAMLNode, table: String, lists: [String: CodeList]) -> [FieldSpec] {
        guard let items = node.sequence else {
            bag.error(at: node.location, "'\(table)' must be a list of fields, found \(node.kindName)")
            return []
        }
        var out: [FieldSpec] = []
        var names = Set<String>()
        let allowed = ["name", "type", "codes", "required", "required_when", "default", "meaning", "personal",
                       "min", "greater_than", "max_age_years"]
        for item in items {
            guard let pairs = keys(item, allowed: allowed, what: "a field of '\(table)'") else { continue }
            var name: String?, typeName: String?, typeNode: YAMLNode?, listName: String?, listNode: YAMLNode?
            var required = false, requiredWhen: (String, SourceLocation)?, def: String?, meaning = "", personal = false
            var minimum: Double?, exclusive = false, maxAge: Int?
            for (k, v) in pairs {
                switch k.scalar ?? "" {
                case "name": name = string(v, "name")
                case "type": typeName = string(v, "type"); typeNode = v
                case "codes": listName = string(v, "codes"); listNode = v
                case "required": required = bool(v, "required") ?? false
                case "required_when":
                    if let e = string(v, "required_when") { requiredWhen = (e, v.location) }
                case "default": def = v.isNull && v.scalarStyle == .plain ? nil : string(v, "default")
                case "meaning": meaning = string(v, "meaning") ?? ""
                case "personal": personal = bool(v, "personal") ?? false
                case "min": minimum = number(v, "min")
                case "greater_than": minimum = number(v, "greater_than"); exclusive = true
                case "max_age_years":
                    if let n = number(v, "max_age_years") { maxAge = Int(n) }
                default: break
                }
            }
            guard let name else {
                bag.error(at: item.location, "a field of '\(table)' has no 'name'")
                continue
            }
            if !names.insert(name).inserted {
                bag.error(at: item.location, "field '\(name)' is declared twice in '\(table)'")
            }
            let types = ["text", "bool", "int", "decimal", "date", "birth_date", "code", "code_set"]
            var type: FieldType = .text
            switch typeName {
            case "text": type = .text
            case "bool": type = .bool
            case "int": type = .int
            case "decimal": type = .decimal
            case "date": type = .date
            case "birth_date": type = .birthDate
            case "code", "code_set":
                guard let listName else {
                    bag.error(at: typeNode!.location, "field '\(name)' of type \(typeName!) needs 'codes: LIST'")
                    continue
                }
                if lists[listName] == nil {
                    bag.error(at: listNode!.location, "unknown code list '\(listName)' for field '\(name)'",
                              hint: Suggestion.didYouMean(listName, in: lists.keys))
                    continue
                }
                type = typeName == "code" ? .code(listName) : .codeSet(listName)
            case nil:
                bag.error(at: item.location, "field '\(name)' has no 'type'", hint: "one of \(types.joined(separator: ", "))")
                continue
            default:
                bag.error(at: typeNode!.location, "unknown type '\(typeName!)' for field '\(name)'",
                          hint: Suggestion.didYouMean(typeName!, in: types) ?? "one of \(types.joined(separator: ", "))")
                continue
            }
            if required && requiredWhen != nil {
                bag.error(at: item.location, "field '\(name)' has both 'required: true' and 'required_when'; keep one")
            }
            if required && def != nil {
                bag.error(at: item.location, "field '\(name)' is required and has a default; a default is for optional fields")
            }
            let requirement: Requirement = required ? .required
                : requiredWhen.map { .requiredWhen(expression: $0.0, location: $0.1) } ?? .optional
            let spec = FieldSpec(name: name, type: type, requirement: requirement, defaultValue: def,
                                 location: item.location, personal: personal, meaning: meaning,
                                 minimum: minimum, minimumExclusive: exclusive, maxAgeYears: maxAge)
            if let def {
                let list = type.codeListName.flatMap { lists[$0] }
                if case .failure(let why) = ValueParser.parseStandalone(def, spec: spec, list: list) {
                    bag.error(at: item.location, "default '\(def)' of field '\(name)' is not valid: \(why)")
                }
            }
            out.append(spec)
        }
        return out
    }
}
