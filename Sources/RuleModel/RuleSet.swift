import Diagnostics

/// How sure we are of a rule: read in the law, from an official summary, or our documented reading.
public enum RuleStatus: String, Sendable, CaseIterable {
    case law, summary, `default`
}

/// Vietnamese and English text of a label, reason or explanation template.
public struct Bilingual: Sendable, Hashable {
    public var vi: String
    public var en: String
    public init(vi: String, en: String) {
        self.vi = vi
        self.en = en
    }
    public func text(_ language: Language) -> String { language == .vi ? vi : en }
}

public enum Language: String, Sendable, CaseIterable {
    case vi, en
}

/// A legal value: a number, text, flag or list of texts.
public enum ParameterValue: Sendable, Hashable, CustomStringConvertible {
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case string(String)
    case strings([String])

    public var description: String {
        switch self {
        case .int(let v): return String(v)
        case .double(let v): return String(v)
        case .bool(let v): return String(v)
        case .string(let v): return v
        case .strings(let v): return "[" + v.joined(separator: ", ") + "]"
        }
    }

    public var kindName: String {
        switch self {
        case .int: return "integer"
        case .double: return "decimal"
        case .bool: return "boolean"
        case .string: return "text"
        case .strings: return "list of texts"
        }
    }
}

/// One dated value of a parameter, with what it rests on.
public struct ParameterEntry: Sendable {
    public var from: RuleDate
    public var value: ParameterValue
    public var source: String
    public var status: RuleStatus
    public var note: String?
    public var location: SourceLocation
}

/// A parameter whose value can change by date (the retirement age rises every year, an income
/// line changes with a decree). Entries are sorted by `from`.
public struct Parameter: Sendable {
    public var id: String
    public var description: Bilingual?
    public var unit: String?
    public var entries: [ParameterEntry]
    public var location: SourceLocation

    /// The value in force on `date`: the last entry starting on or before it.
    public func entry(on date: RuleDate) -> ParameterEntry? {
        var found: ParameterEntry?
        for e in entries where e.from <= date { found = e }
        return found
    }
}

public struct Dimension: Sendable {
    public var id: String
    public var label: Bilingual
    public var location: SourceLocation
}

/// What a missing input means for an indicator (domain.md §3).
public enum MissingPolicy: String, Sendable, CaseIterable {
    case error, deprived, notDeprived = "not_deprived", unknown
}

/// A value computed once per member or household before the indicators, so rules can name a
/// concept ("working age") instead of repeating its formula.
public struct DerivedField: Sendable {
    public enum Scope: String, Sendable { case member, household }
    public var id: String
    public var scope: Scope
    public var expression: Located<String>
    public var description: Bilingual?
    public var source: String?
    public var status: RuleStatus?
    public var location: SourceLocation
}

public struct Indicator: Sendable {
    public var id: String
    public var dimension: String
    public var dimensionLocation: SourceLocation
    public var label: Bilingual
    public var source: String
    public var status: RuleStatus
    /// Deprived when some member satisfies this (`m` is the member); those members are named.
    public var memberCondition: Located<String>?
    /// Deprived when this household-level condition holds.
    public var condition: Located<String>?
    public var explain: Bilingual
    public var explainNotDeprived: Bilingual?
    public var missing: MissingPolicy
    public var note: String?
    public var location: SourceLocation
}

/// A household class (poor, near-poor, …) as a rule over the income test and the count.
public struct HouseholdClass: Sendable {
    public var id: String
    public var label: Bilingual
    public var when: Located<String>
    public var source: String?
    public var status: RuleStatus?
    public var location: SourceLocation
}

/// The income test: whether the household is at or below the line, and the amounts to explain it.
public struct IncomeTest: Sendable {
    public var belowLine: Located<String>
    /// Optional expressions for explanations: the household's figure and the line it is compared to.
    public var amount: Located<String>?
    public var line: Located<String>?
    public var scoreAmount: Located<String>?
    public var scoreLine: Located<String>?
    public var source: String
    public var status: RuleStatus
    public var location: SourceLocation
}

public struct NewlyEscapedRule: Sendable {
    public var when: Located<String>
    public var source: String
    public var status: RuleStatus
    public var location: SourceLocation
}

/// A path into a programme, a priority or a band: a condition with its reason in words.
public struct ProgrammeRule: Sendable {
    public var id: String
    public var when: Located<String>
    public var reason: Bilingual
    public var source: String?
    public var status: RuleStatus?
    public var location: SourceLocation
}

public struct Programme: Sendable {
    public enum Level: String, Sendable { case member, household }
    public var id: String
    public var title: Bilingual
    public var source: String
    public var status: RuleStatus
    public var level: Level
    /// Only these people are considered at all (e.g. working age); a failed scope is the first reason not.
    public var scope: ProgrammeRule?
    public var paths: [ProgrammeRule]
    public var priorities: [ProgrammeRule]
    public var bands: [ProgrammeRule]
    /// Why a person in scope is not eligible, when no path holds.
    public var notEligibleReason: Bilingual
    public var location: SourceLocation
}

/// A rule set's own test case: a household with its members and what the rules must decide.
public struct RuleTestCase: Sendable {
    public var name: String
    public var asOf: RuleDate?
    public var household: [(String, Located<String>)]
    public var members: [[(String, Located<String>)]]
    public var expect: [(String, YAMLValue)]
    public var file: String
    public var location: SourceLocation
}

/// A YAML value kept with its place, for test expectations.
public indirect enum YAMLValue: Sendable {
    case scalar(String, SourceLocation)
    case list([YAMLValue], SourceLocation)
    case map([(String, YAMLValue)], SourceLocation)

    public var location: SourceLocation {
        switch self {
        case .scalar(_, let l), .list(_, let l), .map(_, let l): return l
        }
    }
}

public struct ChangelogEntry: Sendable {
    public var version: String
    public var date: RuleDate?
    public var text: String
}

/// A rule set: one legal standard over one effective period, loaded from a folder of YAML files.
public struct RuleSet: Sendable {
    public var id: String
    public var standard: String
    public var version: String
    public var title: Bilingual
    public var source: String
    public var period: Period
    public var folder: String
    public var location: SourceLocation
    /// Declared gap after this rule set's period, so `check` accepts it.
    public var gapAfter: String?

    public var parameters: [String: Parameter] = [:]
    public var parameterOrder: [String] = []
    public var dimensions: [Dimension] = []
    public var derived: [DerivedField] = []
    public var indicators: [Indicator] = []
    public var incomeTest: IncomeTest?
    public var classes: [HouseholdClass] = []
    public var newlyEscaped: NewlyEscapedRule?
    public var programmes: [Programme] = []
    public var tests: [RuleTestCase] = []
    public var changelog: [ChangelogEntry] = []

    public var reference: String { "\(id)@\(version)" }

    public func indicator(_ id: String) -> Indicator? { indicators.first { $0.id == id } }
    public func programme(_ id: String) -> Programme? { programmes.first { $0.id == id } }
}

/// Every rule set of a rules folder.
public struct RuleLibrary: Sendable {
    public var root: String
    public var ruleSets: [RuleSet]

    /// The rule set in force on `date` for `standard`; none or several are errors the caller reports.
    public func inForce(on date: RuleDate, standard: String? = nil) -> [RuleSet] {
        ruleSets.filter { ($0.standard == standard || standard == nil) && $0.period.contains(date) }
    }
}
