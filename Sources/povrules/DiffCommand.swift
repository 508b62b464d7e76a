import ArgumentParser
import Audit
import Diagnostics
import Engine
import RuleModel
import Survey

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "What a rule change does to real households: class transitions, indicators, programme eligibility, plan targets, a sample with explanations.",
        discussion: """
        Classifies every household of the surveys with the base rules and with the head rules, and
        reports the class transition matrix, how many households change on each indicator and on the
        income test, programme eligibility gained and lost (people, or households for a
        household-level programme), and a sample of changed households with the explanation and
        programme decisions before and after. With --plan, the plan's targets are measured under
        both sides and every target whose numerator, denominator, rate or result changes is listed.

        --base and --head take a rules folder or a git revision: git:REV[:PATH] (PATH defaults to
        Rules), read with `git archive` so CI needs no second checkout.

        --expect FILE declares the expected impact, one bound per line or per ';':
          poor: -40..-20; near_poor: 0..+50; d_housing_area: any; nothing else
        Programmes: P2: -10..0 (net change in people eligible); P3.2.gained: 0..5; P3.2.lost: ..3
        Exit 1 when the real impact falls outside it (each broken bound is printed), 0 otherwise;
        2 when the rules, the surveys or the expectation cannot be read.

        Examples:
          povrules diff --base git:HEAD:Rules --head Rules Fixtures/thach-ha-2024 --format markdown
          povrules diff --base git:origin/main --head Rules Fixtures/thach-ha-2024 --expect Fixtures/thach-ha-2024/diff-expect.txt
          povrules diff --base Rules --head Rules --base-as-of 2026-12-31 --head-as-of 2027-01-01 Fixtures/thach-ha-2024
          povrules diff --base git:HEAD:Rules --head Rules Fixtures/thach-ha-2024 --plan Rules/plans/thach-ha-2024.yaml
        """
    )

    @Option(help: "Rules before the change: a folder or git:REV[:PATH].")
    var base: String
    @Option(help: "Rules after the change: a folder or git:REV[:PATH] (default: the shipped Rules/).")
    var head: String?
    @Argument(help: "Survey folders, each holding households.csv and members.csv.")
    var surveys: [String] = []
    @Option(help: "households.csv, when not in a survey folder (with --members).")
    var households: String?
    @Option(help: "members.csv, when not in a survey folder (with --households).")
    var members: String?
    @Option(help: "A YAML file mapping your headers and codes onto the contract's.")
    var mapping: String?
    @Option(help: "Reference date YYYY-MM-DD for both sides (default: each household's review_date).")
    var asOf: String?
    @Option(help: "Reference date for the base side only (e.g. 2026-12-31, to compare two standards).")
    var baseAsOf: String?
    @Option(help: "Reference date for the head side only (e.g. 2027-01-01).")
    var headAsOf: String?
    @Option(help: "text, markdown or json.")
    var format: DiffFormat = .text
    @Option(help: "The expected impact; exit 1 when the real one falls outside it.")
    var expect: String?
    @Option(help: "A plan (YAML): list the targets whose numerator, denominator, rate or result changes.")
    var plan: String?
    @Option(help: "How many changed households to show with their explanations.")
    var sample: Int = 10
    @Option(help: "Language of the explanations: vi or en.")
    var lang: String = "vi"
    @Option(name: .shortAndLong, help: "Write the report here instead of standard output.")
    var output: String?

    func validate() throws {
        if surveys.isEmpty && (households == nil || members == nil) {
            throw ValidationError("give at least one survey folder, or --households FILE --members FILE")
        }
        if sample < 0 { throw ValidationError("--sample must be 0 or more") }
        if Language(rawValue: lang) == nil { throw ValidationError("--lang must be vi or en") }
    }

    func date(_ text: String?, _ option: String) throws -> CivilDate? {
        guard let text else { return nil }
        guard let d = CivilDate(text) else {
            Report.printErr("error: \(option) '\(text)' is not a date YYYY-MM-DD")
            throw ExitStatus.badInput
        }
        return d
    }

    func run() throws {
        let both = try date(asOf, "--as-of")
        let baseDate = try date(baseAsOf, "--base-as-of") ?? both
        let headDate = try date(headAsOf, "--head-as-of") ?? both
        var sources: [RulesSource] = []
        defer { for s in sources { s.cleanUp() } }
        func load(_ spec: String) throws -> AuditRules {
            do {
                let src = try RulesSource.resolve(spec)
                sources.append(src)
                return try AuditRules.load(root: src.root, label: spec)
            } catch {
                Report.errors(error.diagnostics)
                throw ExitStatus.badInput
            }
        }
        let baseRules = try load(base)
        let headRules = try load(head ?? RulesLocator.shipped())
        var expectation: ImpactExpectation?
        if let expect {
            do { expectation = try ImpactExpectation.load(expect) } catch {
                Report.errors(error.diagnostics)
                throw ExitStatus.badInput
            }
        }
        var planFile: Plan?
        if let plan {
            do { planFile = try PlanLoader.load(plan) } catch {
                Report.errors(error.diagnostics)
                throw ExitStatus.badInput
            }
        }
        var map: HeaderMapping?
        if let mapping {
            do { map = try HeaderMapping.load(mapping) } catch {
                Report.errors(error.diagnostics)
                throw ExitStatus.badInput
            }
        }
        var list = surveys.map { DiffSurvey(folder: $0, mapping: map) }
        if let households, let members {
            list.append(DiffSurvey(label: households, households: households, members: members, mapping: map))
        }
        let diff = RuleDiff(base: DiffSide(rules: baseRules, asOf: baseDate), head: DiffSide(rules: headRules, asOf: headDate),
                            surveys: list, sampleSize: sample, language: Language(rawValue: lang) ?? .vi, plan: planFile)
        // A plan that type-checks against neither side is a mistake in the plan: nothing to compare.
        if planFile != nil {
            let (b, bProblem) = diff.compilePlanProblem(base: true), (h, hProblem) = diff.compilePlanProblem(base: false)
            if !b && !h {
                Report.errors(bProblem + hProblem.filter { d in !bProblem.contains { $0.description == d.description } })
                Report.printErr("error: the plan \(plan ?? "") does not type-check against either side's rules")
                throw ExitStatus.badInput
            }
        }
        let report: DiffReport
        do { report = try diff.run() } catch {
            Report.errors(error.diagnostics)
            throw ExitStatus.badInput
        }
        let sink = try OutputSink(path: output)
        sink.write(report.render(format))
        sink.close()
        Report.printErr("households: \(report.households) compared, \(report.changed) changed, \(report.statusChanged) changed class")
        if let t = report.targets {
            if let p = t.baseProblem { Report.printErr("warning: plan targets not measured under base: " + p) }
            if let p = t.headProblem { Report.printErr("warning: plan targets not measured under head: " + p) }
        }
        for c in ["rejected", "absent"] where report.baseCount(c) + report.headCount(c) > 0 {
            Report.printErr("warning: \(report.baseCount(c)) households \(c) under base, \(report.headCount(c)) under head (see the transition matrix)")
        }
        guard let expectation else { return }
        let unknown = expectation.unknownNames(in: report)
        if !unknown.isEmpty {
            Report.errors(unknown)
            throw ExitStatus.badInput
        }
        let breaches = expectation.check(report)
        if breaches.isEmpty {
            Report.printErr("impact within \(expectation.file)")
            return
        }
        for b in breaches { Report.printErr(b.description) }
        Report.printErr("the impact of the rule change is outside \(expectation.file): \(breaches.count) bound\(breaches.count == 1 ? "" : "s") broken")
        throw ExitStatus.found
    }
}

extension DiffFormat: ExpressibleByArgument {}
