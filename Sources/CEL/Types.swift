/// Static (checker) types of the rule language. At run time lists and maps carry no element
/// types; `type(x)` of a list is `list` (shown as `list(dyn)` internally).
public indirect enum CELType: Hashable, Sendable, CustomStringConvertible {
    case int, uint, double, bool, string, bytes, null, type, dyn
    case list(CELType)
    case map(CELType, CELType)
    /// A host-declared object type, by name ("Household", "Member", "Params").
    case object(String)

    public var description: String {
        switch self {
        case .int: return "int"
        case .uint: return "uint"
        case .double: return "double"
        case .bool: return "bool"
        case .string: return "string"
        case .bytes: return "bytes"
        case .null: return "null_type"
        case .type: return "type"
        case .dyn: return "dyn"
        case .list(let e): return "list(\(e))"
        case .map(let k, let v): return "map(\(k), \(v))"
        case .object(let name): return name
        }
    }

    /// The name of this type as a run-time type value: `list` and `map` without parameters.
    public var runtimeName: String {
        switch self {
        case .list: return "list"
        case .map: return "map"
        default: return description
        }
    }

    var isNumeric: Bool {
        switch self {
        case .int, .uint, .double: return true
        default: return false
        }
    }

    var isDyn: Bool { if case .dyn = self { return true } else { return false } }

    /// True when the type contains `dyn` anywhere.
    var containsDyn: Bool {
        switch self {
        case .dyn: return true
        case .list(let e): return e.containsDyn
        case .map(let k, let v): return k.containsDyn || v.containsDyn
        default: return false
        }
    }
}

/// A host object type (a household, a member, the parameters) with its fields. The index of a
/// field is its position in `fields`.
public struct ObjectTypeDecl: Sendable {
    public var name: String
    public var fields: [(name: String, type: CELType)]
    public init(name: String, fields: [(name: String, type: CELType)]) {
        self.name = name
        self.fields = fields
    }
}

/// What an expression may refer to: variables (by slot) and object types (by id).
public struct Declarations: Sendable {
    public private(set) var objectTypes: [ObjectTypeDecl] = []
    public private(set) var variables: [(name: String, type: CELType)] = []
    private var objectIDs: [String: Int] = [:]
    private var fieldIndexes: [[String: Int]] = []
    private var variableSlots: [String: Int] = [:]
    /// Code lists of enum-like fields, by object type id and field index (`declareCodes`).
    private var fieldCodes: [Int32: [Int: [String]]] = [:]
    /// Every value a field can hold, by object type id and field index (`declareValues`).
    private var fieldValues: [Int32: [Int: [Value]]] = [:]

    public init() {}

    /// Marks field `field` of object type `type` as enum-like: its values are the strings of
    /// `codes`, and the host can answer `Activation.codeID` with the index of a value in `codes`.
    /// Comparisons of such a field with string constants then compile to code-id tests.
    public mutating func declareCodes(_ codes: [String], type: String, field: String) {
        guard let id = objectTypeID(type), let i = fieldIndex(type: type, field: field) else { return }
        fieldCodes[id, default: [:]][i] = codes
    }

    /// Declares every value field `field` of object type `type` can hold (a parameter's dated
    /// values); the host answers `Activation.valueIndex` with the index of the value in force.
    public mutating func declareValues(_ values: [Value], type: String, field: String) {
        guard let id = objectTypeID(type), let i = fieldIndex(type: type, field: field) else { return }
        fieldValues[id, default: [:]][i] = values
    }

    func codes(typeID: Int32, field: Int) -> [String]? { fieldCodes[typeID]?[field] }

    /// The declared type of field `field` of object type `typeID`.
    func fieldType(typeID: Int32, field: Int) -> CELType? {
        let id = Int(typeID)
        guard id >= 0, id < objectTypes.count, field >= 0, field < objectTypes[id].fields.count else { return nil }
        return objectTypes[id].fields[field].type
    }
    func values(typeID: Int32, field: Int) -> [Value]? { fieldValues[typeID]?[field] }

    /// Declares an object type; its id is the order of declaration (0, 1, 2 …). Declaring a name
    /// again replaces the fields and keeps the id.
    public mutating func declareObjectType(_ decl: ObjectTypeDecl) {
        var index: [String: Int] = [:]
        for (i, f) in decl.fields.enumerated() where index[f.name] == nil { index[f.name] = i }
        if let id = objectIDs[decl.name] {
            objectTypes[id] = decl
            fieldIndexes[id] = index
        } else {
            objectIDs[decl.name] = objectTypes.count
            objectTypes.append(decl)
            fieldIndexes.append(index)
        }
    }

    /// Adds field `name` at the end of object type `typeName`, as declaring the type again with
    /// its fields and this one would, without hashing its other field names again.
    public mutating func appendField(_ name: String, _ type: CELType, toObjectType typeName: String) {
        guard let id = objectIDs[typeName] else { return }
        if fieldIndexes[id][name] == nil { fieldIndexes[id][name] = objectTypes[id].fields.count }
        objectTypes[id].fields.append((name, type))
    }

    /// Declares a variable and returns its slot (the order of declaration). Declaring a name
    /// again changes its type and keeps the slot.
    @discardableResult
    public mutating func declareVariable(_ name: String, _ type: CELType) -> Int {
        if let slot = variableSlots[name] {
            variables[slot].type = type
            return slot
        }
        let slot = variables.count
        variables.append((name, type))
        variableSlots[name] = slot
        return slot
    }

    public func objectTypeID(_ name: String) -> Int32? {
        objectIDs[name].map { Int32($0) }
    }

    public func fieldIndex(type: String, field: String) -> Int? {
        guard let id = objectIDs[type] else { return nil }
        return fieldIndexes[id][field]
    }

    public func fieldIndex(typeID: Int32, field: String) -> Int? {
        let id = Int(typeID)
        guard id >= 0, id < fieldIndexes.count else { return nil }
        return fieldIndexes[id][field]
    }

    public func variableSlot(_ name: String) -> Int? { variableSlots[name] }

    public func objectTypeName(_ id: Int32) -> String {
        let i = Int(id)
        return i >= 0 && i < objectTypes.count ? objectTypes[i].name : "object#\(id)"
    }

    func objectDecl(_ name: String) -> (id: Int, decl: ObjectTypeDecl)? {
        guard let id = objectIDs[name] else { return nil }
        return (id, objectTypes[id])
    }
}
