import Diagnostics
import YAML

/// Gathers the sections of one rule set's files into a `RuleSet`, reporting every problem.
struct RuleSetBuilder {
    let folder: String
    var header: RuleSet?
    var headerFile: String?
    var parameters: [String: Parameter] = [:]
    var parameterOrder: [String] = []
    var dimensions: [Dimension] = []
    var derived: [DerivedField] = []
    var indicators: [Indicator] = []
    var incomeTest: IncomeTest?
    var classes: [HouseholdClass] = []
    var newlyEscaped: NewlyEscapedRule?
    var programmes: [Programme] = []
    var tests: [RuleTestCase] = []
    var firstLocation: SourceLocation?

    init(folder: String) { self.folder = folder }

    mutating func read(file: String, root: YAMLNode, _ bag: inout DiagnosticBag) {
        if firstLocation == nil { firstLocation = root.location }
        guard let top = MappingReader(root, what: "a rule file", allowed: RuleLoader.sectionKeys, diagnostics: &bag) else { return }
        if let node = top.value("ruleset") {
            if file.hasSuffix("/ruleset.yaml") {
                readHeader(node, &bag)
            } else {
                bag.error(at: top.keyNode("ruleset")!.location, "the 'ruleset' section belongs in ruleset.yaml")
            }
        } else if file.hasSuffix("/ruleset.yaml") {
            bag.error(at: root.location, "missing required key 'ruleset' in ruleset.yaml")
        }
        if let node = top.value("parameters") { readParameters(node, &bag) }
        if let node = top.value("dimensions") {
            forEachItem(node, what: "dimensions", &bag) { item, bag in readDimension(item, &bag) }
        }
        if let node = top.value("derived") { readDerived(node, &bag) }
        if let node = top.value("indicators") {
            forEachItem(node, what: "indicators", &bag) { item, bag in readIndicator(item, &bag) }
        }
        if let node = top.value("income_test") {
            if incomeTest != nil { bag.error(at: node.location, "'income_test' is defined twice in this rule set") }
            incomeTest = readIncomeTest(node, &bag)
        }
        if let node = top.value("classes") {
            forEachItem(node, what: "classes", &bag) { item, bag in readClass(item, &bag) }
        }
        if let node = top.value("newly_escaped") {
            if newlyEscaped != nil { bag.error(at: node.location, "'newly_escaped' is defined twice in this rule set") }
            newlyEscaped = readNewlyEscaped(node, &bag)
        }
        if let node = top.value("programmes") {
            forEachItem(node, what: "programmes", &bag) { item, bag in readProgramme(item, &bag) }
        }
        let defaults = top.value("defaults")
        if let node = top.value("tests") {
            forEachItem(node, what: "tests", &bag) { item, bag in readTest(item, file: file, defaults: defaults, &bag) }
        } else if let defaults {
            bag.error(at: defaults.location, "'defaults' is only used by 'tests' in the same file")
        }
    }

    func forEachItem(_ node: YAMLNode, what: String, _ bag: inout DiagnosticBag, _ body: (YAMLNode, inout DiagnosticBag) -> Void) {
        guard let items = node.sequence else {
            bag.error(at: node.location, "'\(what)' must be a list, found \(node.kindName)")
            return
        }
        for item in items { body(item, &bag) }
    }

    // MARK: - Sections

    mutating func readHeader(_ node: YAMLNode, _ bag: inout DiagnosticBag) {
        let keys = ["id", "standard", "version", "title", "source", "effective", "gap_after", "changelog", "note", "include"]
        guard let r = MappingReader(node, what: "'ruleset'", allowed: keys, diagnostics: &bag) else { return }
        let id = r.string("id", required: true, &bag)
        let version = r.string("version", required: true, &bag)
        let title = r.required("title", &bag).flatMap { readBilingual($0, what: "'title'", &bag) }
        let source = r.string("source", required: true, &bag)
        let standard = r.string("standard", required: false, &bag)
        var period: Period?
        if let eff = r.required("effective", &bag),
           let e = MappingReader(eff, what: "'effective'", allowed: ["from", "to"], diagnostics: &bag) {
            let from = e.required("from", &bag).flatMap { Scalars.date($0, key: "from", &bag) }
            let to = e.value("to").flatMap { $0.isNull ? nil : Scalars.date($0, key: "to", &bag) }
            if let from {
                if let to, to < from {
                    bag.error(at: e.value("to")!.location, "the period ends (\(to)) before it starts (\(from))")
                } else {
                    period = Period(from: from, to: to)
                }
            }
        }
        var changelog: [ChangelogEntry] = []
        if let cl = r.value("changelog") {
            forEachItem(cl, what: "changelog", &bag) { item, bag in
                guard let c = MappingReader(item, what: "a changelog entry", allowed: ["version", "date", "text"], diagnostics: &bag) else { return }
                let v = c.string("version", required: true, &bag)
                let d = c.value("date").flatMap { Scalars.date($0, key: "date", &bag) }
                let t = c.string("text", required: true, &bag)
                if let v, let t { changelog.append(ChangelogEntry(version: v, date: d, text: t)) }
            }
        }
        guard let id, let version, let title, let source, let period else { return }
        header = RuleSet(id: id, standard: standard ?? id, version: version, title: title, source: source,
                         period: period, folder: folder, location: node.location,
                         gapAfter: r.string("gap_after", required: false, &bag))
        header?.changelog = changelog
    }

    mutating func readParameters(_ node: YAMLNode, _ bag: inout DiagnosticBag) {
        guard let pairs = node.mapping else {
            bag.error(at: node.location, "'parameters' must be a mapping of parameter names to their values, found \(node.kindName)")
            return
        }
        for (key, value) in pairs {
            guard let id = key.scalar, Identifiers.isValid(id) else {
                bag.error(at: key.location, "'\(key.scalar ?? "?")' is not a valid parameter name (letters, digits and '_', starting with a letter)")
                continue
            }
            if parameters[id] != nil {
                bag.error(at: key.location, "parameter '\(id)' is defined twice")
                continue
            }
            guard let p = MappingReader(value, what: "parameter '\(id)'", allowed: ["description", "unit", "values", "note"], diagnostics: &bag) else { continue }
            let description = p.value("description").flatMap { readBilingual($0, what: "'description'", &bag) }
            var entries: [ParameterEntry] = []
            if let values = p.required("values", &bag) {
                forEachItem(values, what: "values", &bag) { item, bag in
                    if let e = readParameterEntry(item, parameter: id, &bag) { entries.append(e) }
                }
            }
            entries.sort { $0.from < $1.from }
            for (a, b) in zip(entries, entries.dropFirst()) {
                if a.from == b.from {
                    bag.error(at: b.location, "parameter '\(id)' has two values from \(b.from)")
                }
                if a.value.kindName != b.value.kindName {
                    bag.error(at: b.location, "parameter '\(id)' changes type: \(a.value.kindName) from \(a.from), \(b.value.kindName) from \(b.from)")
                }
            }
            if let values = p.value("values"), entries.isEmpty, values.sequence?.isEmpty == true {
                bag.error(at: values.location, "parameter '\(id)' has no values")
            }
            parameters[id] = Parameter(id: id, description: description, unit: p.string("unit", required: false, &bag),
                                       entries: entries, location: key.location)
            parameterOrder.append(id)
        }
    }

    func readParameterEntry(_ node: YAMLNode, parameter: String, _ bag: inout DiagnosticBag) -> ParameterEntry? {
        guard let r = MappingReader(node, what: "a value of parameter '\(parameter)'",
                                    allowed: ["from", "value", "source", "status", "note"], diagnostics: &bag) else { return nil }
        let from = r.required("from", &bag).flatMap { Scalars.date($0, key: "from", &bag) }
        let value = r.required("value", &bag).flatMap { readParameterValue($0, &bag) }
        let source = r.string("source", required: true, &bag)
        let status = readStatus(r, required: true, &bag)
        guard let from, let value, let source, let status else { return nil }
        return ParameterEntry(from: from, value: value, source: source, status: status,
                              note: r.string("note", required: false, &bag), location: node.location)
    }

    func readParameterValue(_ node: YAMLNode, _ bag: inout DiagnosticBag) -> ParameterValue? {
        if let items = node.sequence {
            var out: [String] = []
            for item in items {
                guard let s = item.scalar, item.sequence == nil else {
                    bag.error(at: item.location, "a list parameter holds texts, found \(item.kindName)")
                    return nil
                }
                out.append(s)
            }
            return .strings(out)
        }
        guard let s = node.scalar else {
            bag.error(at: node.location, "a parameter value must be a number, text, boolean or list of texts, found \(node.kindName)")
            return nil
        }
        if node.scalarStyle == .plain {
            if s == "true" { return .bool(true) }
            if s == "false" { return .bool(false) }
            if let i = Scalars.parseInt(s) { return .int(i) }
            if let d = Double(s), s.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) { return .double(d) }
        }
        return .string(s)
    }

    mutating func readDimension(_ node: YAMLNode, _ bag: inout DiagnosticBag) {
        guard let r = MappingReader(node, what: "a dimension", allowed: ["id", "label"], diagnostics: &bag) else { return }
        guard let id = readID(r, &bag),
              let label = r.required("label", &bag).flatMap({ readBilingual($0, what: "'label'", &bag) }) else { return }
        if dimensions.contains(where: { $0.id == id }) {
            bag.error(at: node.location, "dimension '\(id)' is defined twice")
        }
        dimensions.append(Dimension(id: id, label: label, location: node.location))
    }

    mutating func readDerived(_ node: YAMLNode, _ bag: inout DiagnosticBag) {
        guard let r = MappingReader(node, what: "'derived'", allowed: ["members", "households"], diagnostics: &bag) else { return }
        for (key, scope) in [("households", DerivedField.Scope.household), ("members", .member)] {
            guard let section = r.value(key) else { continue }
            forEachItem(section, what: key, &bag) { item, bag in
                let keys = ["id", "expression", "description", "source", "status"]
                guard let d = MappingReader(item, what: "a derived field", allowed: keys, diagnostics: &bag) else { return }
                guard let id = readID(d, &bag), let expr = d.located("expression", required: true, &bag) else { return }
                if derived.contains(where: { $0.id == id && $0.scope == scope }) {
                    bag.error(at: item.location, "derived field '\(id)' is defined twice")
                }
                derived.append(DerivedField(id: id, scope: scope, expression: expr,
                                            description: d.value("description").flatMap { readBilingual($0, what: "'description'", &bag) },
                                            source: d.string("source", required: false, &bag),
                                            status: readStatus(d, required: false, &bag), location: item.location))
            }
        }
    }

    mutating func readIndicator(_ node: YAMLNode, _ bag: inout DiagnosticBag) {
        let keys = ["id", "dimension", "label", "source", "status", "deprived_when", "deprived_when_member",
                    "explain", "explain_not_deprived", "missing", "note"]
        guard let r = MappingReader(node, what: "an indicator", allowed: keys, diagnostics: &bag) else { return }
        let id = readID(r, &bag)
        let dimension = r.located("dimension", required: true, &bag)
        let label = r.required("label", &bag).flatMap { readBilingual($0, what: "'label'", &bag) }
        let source = r.string("source", required: true, &bag)
        let status = readStatus(r, required: true, &bag)
        let member = r.located("deprived_when_member", required: false, &bag)
        let household = r.located("deprived_when", required: false, &bag)
        if member == nil, household == nil, r.value("deprived_when_member") == nil, r.value("deprived_when") == nil {
            bag.error(at: node.location, "missing required key 'deprived_when' (or 'deprived_when_member') in indicator '\(id ?? "?")'")
        }
        if member != nil, household != nil {
            bag.error(at: r.keyNode("deprived_when")!.location, "an indicator has one condition: 'deprived_when' or 'deprived_when_member', not both")
        }
        let explain = r.required("explain", &bag).flatMap { readBilingual($0, what: "'explain'", &bag) }
        let explainNot = r.value("explain_not_deprived").flatMap { readBilingual($0, what: "'explain_not_deprived'", &bag) }
        var missing = MissingPolicy.error
        if let m = r.located("missing", required: true, &bag) {
            if let p = MissingPolicy(rawValue: m.value) {
                missing = p
            } else {
                let names = MissingPolicy.allCases.map(\.rawValue)
                bag.error(at: m.location, "unknown missing-data policy '\(m.value)'; expected one of \(names.joined(separator: ", "))",
                          hint: Suggestion.didYouMean(m.value, in: names))
            }
        }
        guard let id, let dimension, let label, let source, let status, let explain else { return }
        if indicators.contains(where: { $0.id == id }) {
            bag.error(at: node.location, "indicator '\(id)' is defined twice")
        }
        indicators.append(Indicator(id: id, dimension: dimension.value, dimensionLocation: dimension.location,
                                    label: label, source: source, status: status,
                                    memberCondition: member, condition: household, explain: explain,
                                    explainNotDeprived: explainNot, missing: missing,
                                    note: r.string("note", required: false, &bag), location: node.location))
    }

    func readIncomeTest(_ node: YAMLNode, _ bag: inout DiagnosticBag) -> IncomeTest? {
        let keys = ["below_line", "amount", "line", "score_amount", "score_line", "source", "status"]
        guard let r = MappingReader(node, what: "'income_test'", allowed: keys, diagnostics: &bag) else { return nil }
        let below = r.located("below_line", required: true, &bag)
        let source = r.string("source", required: true, &bag)
        let status = readStatus(r, required: true, &bag)
        guard let below, let source, let status else { return nil }
        return IncomeTest(belowLine: below, amount: r.located("amount", required: false, &bag),
                          line: r.located("line", required: false, &bag),
                          scoreAmount: r.located("score_amount", required: false, &bag),
                          scoreLine: r.located("score_line", required: false, &bag),
                          source: source, status: status, location: node.location)
    }

    mutating func readClass(_ node: YAMLNode, _ bag: inout DiagnosticBag) {
        guard let r = MappingReader(node, what: "a household class", allowed: ["id", "label", "when", "source", "status"], diagnostics: &bag) else { return }
        let id = readID(r, &bag)
        let label = r.required("label", &bag).flatMap { readBilingual($0, what: "'label'", &bag) }
        let when = r.located("when", required: true, &bag)
        guard let id, let label, let when else { return }
        if classes.contains(where: { $0.id == id }) { bag.error(at: node.location, "class '\(id)' is defined twice") }
        classes.append(HouseholdClass(id: id, label: label, when: when, source: r.string("source", required: false, &bag),
                                      status: readStatus(r, required: false, &bag), location: node.location))
    }

    func readNewlyEscaped(_ node: YAMLNode, _ bag: inout DiagnosticBag) -> NewlyEscapedRule? {
        guard let r = MappingReader(node, what: "'newly_escaped'", allowed: ["when", "source", "status"], diagnostics: &bag) else { return nil }
        let when = r.located("when", required: true, &bag)
        let source = r.string("source", required: true, &bag)
        let status = readStatus(r, required: true, &bag)
        guard let when, let source, let status else { return nil }
        return NewlyEscapedRule(when: when, source: source, status: status, location: node.location)
    }

    mutating func readProgramme(_ node: YAMLNode, _ bag: inout DiagnosticBag) {
        let keys = ["id", "title", "source", "status", "level", "scope", "paths", "priorities", "bands", "not_eligible_reason", "note"]
        guard let r = MappingReader(node, what: "a programme", allowed: keys, diagnostics: &bag) else { return }
        let id = readID(r, &bag)
        let title = r.required("title", &bag).flatMap { readBilingual($0, what: "'title'", &bag) }
        let source = r.string("source", required: true, &bag)
        let status = readStatus(r, required: true, &bag)
        var level = Programme.Level.member
        if let l = r.located("level", required: false, &bag) {
            if let v = Programme.Level(rawValue: l.value) { level = v } else {
                bag.error(at: l.location, "unknown programme level '\(l.value)'; expected member or household",
                          hint: Suggestion.didYouMean(l.value, in: ["member", "household"]))
            }
        }
        let scope = r.value("scope").flatMap { readProgrammeRule($0, what: "the scope", &bag) }
        func rules(_ key: String) -> [ProgrammeRule] {
            var out: [ProgrammeRule] = []
            if let list = r.value(key) {
                forEachItem(list, what: key, &bag) { item, bag in
                    if let rule = readProgrammeRule(item, what: "an item of '\(key)'", &bag) { out.append(rule) }
                }
            }
            return out
        }
        let paths = rules("paths")
        if r.value("paths") == nil { bag.error(at: node.location, "missing required key 'paths' in programme '\(id ?? "?")'") }
        let priorities = rules("priorities")
        let bands = rules("bands")
        let notEligible = r.required("not_eligible_reason", &bag).flatMap { readBilingual($0, what: "'not_eligible_reason'", &bag) }
        guard let id, let title, let source, let status, let notEligible else { return }
        if programmes.contains(where: { $0.id == id }) { bag.error(at: node.location, "programme '\(id)' is defined twice") }
        programmes.append(Programme(id: id, title: title, source: source, status: status, level: level, scope: scope,
                                    paths: paths, priorities: priorities, bands: bands,
                                    notEligibleReason: notEligible, location: node.location))
    }

    func readProgrammeRule(_ node: YAMLNode, what: String, _ bag: inout DiagnosticBag) -> ProgrammeRule? {
        guard let r = MappingReader(node, what: what, allowed: ["id", "when", "reason", "source", "status"], diagnostics: &bag) else { return nil }
        let id = readID(r, &bag)
        let when = r.located("when", required: true, &bag)
        let reason = r.required("reason", &bag).flatMap { readBilingual($0, what: "'reason'", &bag) }
        guard let id, let when, let reason else { return nil }
        return ProgrammeRule(id: id, when: when, reason: reason, source: r.string("source", required: false, &bag),
                             status: readStatus(r, required: false, &bag), location: node.location)
    }

    mutating func readTest(_ node: YAMLNode, file: String, defaults: YAMLNode?, _ bag: inout DiagnosticBag) {
        guard let r = MappingReader(node, what: "a test case", allowed: ["name", "as_of", "household", "members", "expect"], diagnostics: &bag) else { return }
        let name = r.string("name", required: true, &bag)
        let asOf = r.value("as_of").flatMap { Scalars.date($0, key: "as_of", &bag) }
        var defaultHousehold: [(String, Located<String>)] = []
        var defaultMember: [(String, Located<String>)] = []
        if let defaults, let d = MappingReader(defaults, what: "'defaults'", allowed: ["household", "member"], diagnostics: &bag) {
            defaultHousehold = d.value("household").map { readRecord($0, what: "the default household", &bag) } ?? []
            defaultMember = d.value("member").map { readRecord($0, what: "the default member", &bag) } ?? []
        }
        let household = merge(defaultHousehold, r.value("household").map { readRecord($0, what: "'household'", &bag) } ?? [])
        var members: [[(String, Located<String>)]] = []
        if let list = r.required("members", &bag) {
            forEachItem(list, what: "members", &bag) { item, bag in
                members.append(merge(defaultMember, readRecord(item, what: "a member", &bag)))
            }
        }
        var expect: [(String, YAMLValue)] = []
        if let e = r.required("expect", &bag) {
            if let pairs = e.mapping {
                expect = pairs.compactMap { k, v in k.scalar.map { ($0, YAMLValue(v)) } }
            } else {
                bag.error(at: e.location, "'expect' must be a mapping, found \(e.kindName)")
            }
        }
        guard let name else { return }
        tests.append(RuleTestCase(name: name, asOf: asOf, household: household, members: members, expect: expect,
                                  file: file, location: node.location))
    }

    func merge(_ base: [(String, Located<String>)], _ over: [(String, Located<String>)]) -> [(String, Located<String>)] {
        var out = base.filter { b in !over.contains { $0.0 == b.0 } }
        out.append(contentsOf: over)
        return out
    }

    /// A household or member written as column → cell text, as it would stand in the CSV.
    func readRecord(_ node: YAMLNode, what: String, _ bag: inout DiagnosticBag) -> [(String, Located<String>)] {
        guard let pairs = node.mapping else {
            bag.error(at: node.location, "\(what) must be a mapping of column names to values, found \(node.kindName)")
            return []
        }
        var out: [(String, Located<String>)] = []
        for (k, v) in pairs {
            guard let key = k.scalar else { continue }
            if let items = v.sequence {
                out.append((key, Located(items.compactMap(\.scalar).joined(separator: ";"), v)))
            } else if let s = v.scalar {
                out.append((key, Located(v.isNull && v.scalarStyle == .plain ? "" : s, v)))
            } else {
                bag.error(at: v.location, "column '\(key)' must hold a single value, found \(v.kindName)")
            }
        }
        return out
    }

    // MARK: - Small pieces

    func readID(_ r: MappingReader, _ bag: inout DiagnosticBag) -> String? {
        guard let id = r.located("id", required: true, &bag) else { return nil }
        guard Identifiers.isValid(id.value, allowDots: true) else {
            bag.error(at: id.location, "'\(id.value)' is not a valid id (letters, digits, '_' and '.', starting with a letter)")
            return nil
        }
        return id.value
    }

    func readStatus(_ r: MappingReader, required: Bool, _ bag: inout DiagnosticBag) -> RuleStatus? {
        guard let s = r.located("status", required: required, &bag) else { return nil }
        if let status = RuleStatus(rawValue: s.value) { return status }
        let names = RuleStatus.allCases.map(\.rawValue)
        bag.error(at: s.location, "unknown status '\(s.value)'; expected one of \(names.joined(separator: ", "))",
                  hint: Suggestion.didYouMean(s.value, in: names))
        return nil
    }

    func readBilingual(_ node: YAMLNode, what: String, _ bag: inout DiagnosticBag) -> Bilingual? {
        guard let r = MappingReader(node, what: what, allowed: ["vi", "en"], diagnostics: &bag) else { return nil }
        let vi = r.string("vi", required: true, &bag)
        let en = r.string("en", required: true, &bag)
        guard let vi, let en else { return nil }
        return Bilingual(vi: vi, en: en)
    }

    func finish(_ bag: inout DiagnosticBag) -> RuleSet? {
        guard var set = header else {
            if headerFile == nil, !FileSystem.exists(folder + "/ruleset.yaml") {
                bag.error(at: firstLocation, "\(folder): no ruleset.yaml")
            }
            return nil
        }
        for ind in indicators where !dimensions.contains(where: { $0.id == ind.dimension }) {
            bag.error(at: ind.dimensionLocation, "indicator '\(ind.id)' names unknown dimension '\(ind.dimension)'",
                      hint: Suggestion.didYouMean(ind.dimension, in: dimensions.map(\.id)))
        }
        for p in parameters.values where !p.entries.isEmpty && p.entries[0].from > set.period.from {
            bag.error(at: p.entries[0].location, "parameter '\(p.id)' has no value from \(set.period.from), when rule set '\(set.id)' starts (its first value is from \(p.entries[0].from))",
                      hint: "add a value from \(set.period.from)")
        }
        set.parameters = parameters
        set.parameterOrder = parameterOrder
        set.dimensions = dimensions
        set.derived = derived
        set.indicators = indicators
        set.incomeTest = incomeTest
        set.classes = classes
        set.newlyEscaped = newlyEscaped
        set.programmes = programmes
        set.tests = tests
        return set
    }
}

extension YAMLValue {
    init(_ node: YAMLNode) {
        switch node.kind {
        case .scalar(let s, let style): self = .scalar(node.isNull && style == .plain ? "" : s, node.location)
        case .sequence(let items): self = .list(items.map(YAMLValue.init), node.location)
        case .mapping(let pairs): self = .map(pairs.map { ($0.key.scalar ?? "", YAMLValue($0.value)) }, node.location)
        }
    }
}

enum Identifiers {
    static func isValid(_ s: String, allowDots: Bool = false) -> Bool {
        guard let first = s.unicodeScalars.first, first.properties.isAlphabetic, first.isASCII else { return false }
        return s.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || (allowDots && $0 == ".")) }
    }
}
