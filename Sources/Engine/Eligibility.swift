import CEL
import RuleModel
import Survey

/// What one programme decided for one person (or, for a household-level programme, one household).
public struct EligibilityResult: Sendable, Equatable {
    public let householdID: String
    /// Empty for a household-level programme.
    public let memberID: String
    public let program: String
    /// The person is in the programme's scope (working age, under 16, …): only then does the
    /// eligibility list show a row. Out of scope, `reason` says why (the scope's reason).
    public let applies: Bool
    public let eligible: Bool
    /// Ids of the priorities that hold (eligible people only), in rule order.
    public let priorities: [String]
    /// The band that holds (eligible people only), or "".
    public let band: String
    /// The path that made the person eligible, or "".
    public let path: String
    /// In words, in the requested language: the path, priorities and band; or why not.
    public let reason: String

    public var priority: String { priorities.joined(separator: ";") }
    public var isPriority: Bool { !priorities.isEmpty }
}

/// Which programmes to evaluate, and in which language to write the reasons.
public struct EligibilityOptions: Sendable {
    /// Programme ids to evaluate, nil for all, in rule order either way.
    public var programmes: Set<String>?
    public var language: Language
    /// Write `EligibilityResult.reason`; work that only compares decisions (a rules diff) turns
    /// it off: rendering the sentences costs more than deciding.
    public var reasons: Bool
    public init(programmes: Set<String>? = nil, language: Language = .vi, reasons: Bool = true) {
        self.programmes = programmes
        self.language = language
        self.reasons = reasons
    }
}

/// Programme eligibility (domain.md §6, §10.12) over a classified household: for each member and
/// programme, scope → paths → priorities → bands. Pure: every number and text comes from the rules.
enum Eligibility {
    static func evaluate(_ rules: CompiledRuleSet, _ a: HouseholdActivation, result: HouseholdResult,
                         batch: SurveyBatch, household h: Int, classifier: Classifier,
                         options: EligibilityOptions) -> [EligibilityResult] {
        let lang = options.language == .vi ? 0 : 1
        let programmes = rules.programmes.filter { options.programmes?.contains($0.programme.id) ?? true }
        guard !programmes.isEmpty else { return [] }
        var out: [EligibilityResult] = []

        let reasons = options.reasons
        func render(_ templates: [Template]) -> String {
            !reasons || templates.isEmpty ? "" : classifier.render(templates[lang], a, members: [], language: options.language)
        }
        func holds(_ r: CompiledProgrammeRule) -> Bool { (try? r.program.evaluateBool(a)) ?? false }

        func decide(_ p: CompiledProgramme, memberID: String) -> EligibilityResult {
            if let scope = p.scope, !holds(scope) {
                return EligibilityResult(householdID: result.householdID, memberID: memberID, program: p.programme.id,
                                         applies: false, eligible: false, priorities: [], band: "", path: "",
                                         reason: render(scope.reason))
            }
            guard let path = p.paths.first(where: holds) else {
                return EligibilityResult(householdID: result.householdID, memberID: memberID, program: p.programme.id,
                                         applies: true, eligible: false, priorities: [], band: "", path: "",
                                         reason: render(p.notEligibleReason))
            }
            let priorities = p.priorities.filter(holds)
            let band = p.bands.first(where: holds)
            var reason = ""
            if reasons {
                var texts = [render(path.reason)]
                texts += priorities.map { render($0.reason) }
                if let band { texts.append(render(band.reason)) }
                reason = texts.filter { !$0.isEmpty }.joined(separator: "; ")
            }
            return EligibilityResult(householdID: result.householdID, memberID: memberID, program: p.programme.id,
                                     applies: true, eligible: true, priorities: priorities.map(\.rule.id),
                                     band: band?.rule.id ?? "", path: path.rule.id, reason: reason)
        }

        // Household-level programmes first (one row for the household), then each member in
        // household order with the member-level programmes in rule order.
        a.use(.householdProgramme)
        for p in programmes where p.programme.level == .household {
            out.append(decide(p, memberID: ""))
        }
        let memberLevel = programmes.filter { $0.programme.level == .member }
        if !memberLevel.isEmpty {
            a.use(.memberProgramme)
            // `memberIDs` is built on each use: once here, not once per member.
            let memberIDs = result.memberIDs
            for (k, row) in batch.memberRanges[h].enumerated() {
                a.member = row
                let id = k < memberIDs.count ? memberIDs[k] : String(k + 1)
                for p in memberLevel { out.append(decide(p, memberID: id)) }
            }
        }
        return out
    }
}

extension Classifier {
    /// Classifies one household and, when it is classified, evaluates the programmes of its rule
    /// set for it and each of its members (every member, in scope or not; see `applies`).
    public func classifyWithEligibility(household h: Int, of batch: SurveyBatch,
                                        options: EligibilityOptions = EligibilityOptions()) -> (HouseholdOutcome, [EligibilityResult]) {
        let outcome = classify(household: h, of: batch)
        guard case .classified(let r) = outcome else { return (outcome, []) }
        // The activation still holds this household's derived values, class and flags.
        let a = activation(r.rules, batch)
        guard a.household == h else { return (outcome, []) }
        return (outcome, Eligibility.evaluate(r.rules, a, result: r, batch: batch, household: h, classifier: self, options: options))
    }
}
