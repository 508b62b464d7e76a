import CEL
import Foundation
@testable import Engine
import Output
import RuleModel
import Survey
import Testing

/// Batches classified over columns give exactly what household-by-household classification
/// gives: every field of every outcome, rejections and their messages included.
@Suite struct ColumnClassifierTests {
    static let root = #filePath.components(separatedBy: "/Tests/")[0]

    static func compiled(_ rulesRoot: String = root + "/Rules") throws -> (SurveySchema, [CompiledRuleSet]) {
        let schema = try SurveySchema.shipped(rulesRoot: rulesRoot)
        let library = try RuleLoader.load(root: rulesRoot)
        return (schema, try library.ruleSets.map { try CompiledRuleSet.compile($0, schema: schema) })
    }

    /// Every field of an outcome, as text.
    static func describe(_ o: HouseholdOutcome) -> String {
        switch o {
        case .classified(let r):
            return [r.householdID, r.village, r.area, "\(r.referenceDate)", r.rules.ruleSet.id, r.status, "\(r.deprivationCount)",
                    "\(r.incomeBelowLine)", "\(r.deprived)", "\(r.unknownIndicators)", "\(r.deprivedMembers)", "\(r.newlyEscaped)",
                    "\(String(describing: r.incomeAmount))", "\(String(describing: r.incomeLine))",
                    "\(String(describing: r.scoreAmount))", "\(String(describing: r.scoreLine))", "\(r.reasons)",
                    "\(r.memberIDs)"].joined(separator: "|")
        case .rejected(let r):
            return "rejected \(r.householdID) \(r.problem.kind) \(r.problem.householdID ?? "-") \(r.problem.diagnostic.description)"
        }
    }

    /// Classifies the survey both ways batch by batch; returns (households via columns, of
    /// them classified one by one, rejected by the engine).
    @discardableResult
    static func compare(_ dir: String, _ schema: SurveySchema, _ rules: [CompiledRuleSet], asOf: CivilDate? = nil,
                        batchSize: Int = 500) throws -> (Int, Int, Int) {
        var rejected = 0
        let reader = try SurveyReader.open(householdsPath: dir + "/households.csv", membersPath: dir + "/members.csv",
                                           schema: schema, mapping: nil, asOf: asOf)
        let columns = Classifier(library: rules, policy: ReferencePolicy(asOf: asOf))
        let scalar = Classifier(library: rules, policy: ReferencePolicy(asOf: asOf))
        columns.withReasons = false
        scalar.withReasons = false
        scalar.useColumns = false
        while let batch = try reader.next(maxHouseholds: batchSize) {
            let classified = columns.classifyBatch(batch)
            let a = classified.allOutcomes(), b = scalar.classify(batch)
            #expect(a.count == b.count)
            for (x, y) in zip(a, b) {
                if case .rejected = y { rejected += 1 }
                let dx = describe(x), dy = describe(y)
                #expect(dx == dy, "\(dir)")
            }
            // CSV rows read from the columns are those of the outcomes.
            var fromColumns = ClassificationWriter(format: .csv), fromOutcomes = ClassificationWriter(format: .csv)
            var x: [UInt8] = [], y: [UInt8] = []
            fromColumns.appendRows(classified, to: &x)
            for case .classified(let r) in b { fromOutcomes.appendRow(r, to: &y) }
            #expect(String(decoding: x, as: UTF8.self) == String(decoding: y, as: UTF8.self), "\(dir)")
            #expect(fromColumns.mismatchedRuleSets == fromOutcomes.mismatchedRuleSets)
            // The batch's status counts are those of its outcomes, in the order first seen.
            var expected: [(String, Int)] = []
            for case .classified(let r) in b {
                if let i = expected.firstIndex(where: { $0.0 == r.status }) { expected[i].1 += 1 } else { expected.append((r.status, 1)) }
            }
            let counts = classified.statusCounts()
            #expect(counts.map(\.status) == expected.map(\.0) && counts.map(\.count) == expected.map(\.1), "\(dir)")
        }
        #expect(scalar.columnHouseholds == 0)
        return (columns.columnHouseholds, columns.scalarHouseholds, rejected)
    }

    @Test(arguments: [nil, "2027-06-01", "2020-06-01"])
    func shippedFixtureMatches(_ asOf: String?) throws {
        let (schema, rules) = try Self.compiled()
        let (n, scalar, rejected) = try Self.compare(Self.root + "/Fixtures/thach-ha-2024", schema, rules,
                                                     asOf: asOf.flatMap { CivilDate($0) })
        // (At 2020 the reader rejects households with members born after the date.)
        #expect(n > 1000)
        // Rejections are made by the scalar path; few others should need it.
        #expect(scalar <= rejected + n / 20, "\(scalar) of \(n) households classified one by one, \(rejected) rejected")
    }

    @Test func invalidSurveysMatch() throws {
        let (schema, rules) = try Self.compiled()
        let base = Self.root + "/Fixtures/surveys-invalid"
        for name in try FileManager.default.contentsOfDirectory(atPath: base).sorted() {
            // Surveys that stop before classification have nothing to compare.
            _ = try? Self.compare(base + "/" + name, schema, rules)
        }
    }

    /// A deterministic generator (SplitMix64).
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func chance(_ p: Double) -> Bool { Double(next() % 10_000) / 10_000 < p }
        mutating func pick<T>(_ xs: [T]) -> T { xs[Int(next() % UInt64(xs.count))] }
    }

    /// The shipped fixture with random holes and edge values: optional fields blank, ages on
    /// the boundaries of the rules, review dates of different rule sets in one batch.
    static func scrambled(seed: UInt64, reviewDates: [String] = ["2024-09-15", "2024-09-15", "2027-01-01", "2026-12-31", "2027-03-01",
                                                                 "2021-12-31", "2022-01-01"],
                          trickyTexts: Bool = false) throws -> String {
        var rng = Random(state: seed)
        let dir = NSTemporaryDirectory() + "povrules-columns-\(seed)-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        func rewrite(_ name: String, _ change: (inout [String: String], inout Random) -> Void) throws {
            let text = try String(contentsOfFile: root + "/Fixtures/thach-ha-2024/" + name, encoding: .utf8)
            var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
            let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            for i in 1..<lines.count {
                let cells = lines[i].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                var row: [String: String] = [:]
                for (k, v) in zip(header, cells) { row[k] = v }
                change(&row, &rng)
                lines[i] = header.map { row[$0] ?? "" }.joined(separator: ",")
            }
            try (lines.joined(separator: "\n") + "\n").write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
        }
        let optionalHousehold = ["income_per_capita", "score_a", "floor_area_m2", "foundation_durable", "walls_durable",
                                 "roof_durable", "devices", "hears_loudspeaker", "prior_status", "status_changed_on", "internet"]
        try rewrite("households.csv") { row, rng in
            row["review_date"] = rng.pick(reviewDates)
            for f in optionalHousehold where rng.chance(0.04) { row[f] = "" }
            if rng.chance(0.05) { row["dwelling"] = "none" }
            if rng.chance(0.1) { row["status_changed_on"] = rng.pick(["2024-09-15", "2027-02-28", "2025-01-01", "2021-06-30"]) }
            if rng.chance(0.05) { row["floor_area_m2"] = rng.pick(["0", "8", "0.0"]) }
            if trickyTexts {
                row["household_id"] = row["household_id"].map(trickyID)
                if rng.chance(0.6) { row["village"] = csvField(rng.pick(trickyVillages)) }
            }
        }
        let optionalMember = ["stunted", "underweight", "in_school", "education", "school_level", "employment",
                              "health_insurance", "social_allowance", "able_to_work", "disability"]
        try rewrite("members.csv") { row, rng in
            if rng.chance(0.3) {
                // Birthdays on the age limits of the rules, around the review dates above.
                row["birth_date"] = rng.pick(["2008-09-15", "2008-09-16", "2011-01-01", "2011-01-02", "1964-09-15", "1966-12-31",
                                              "1962-03-01", "2019-09-15", "2018-09-16", "1994-09-15", "2006-01-01", "2024-09-15"])
            }
            for f in optionalMember where rng.chance(0.015) { row[f] = "" }
            if trickyTexts { row["household_id"] = row["household_id"].map(trickyID) }
        }
        return dir
    }

    /// Villages whose cells need a formula guard, quotes or neither, repeated on consecutive
    /// rows and across the file, and absent (the household is rejected).
    static let trickyVillages = ["=SUM(A1)", "+84 ấp", "-5", "-x", "@home", "Thôn 1, Xã 2", "say \"hi\"", "line\nbreak", "Làng Đông",
                                 "a", "", "+1.5", "-", "\"", "ấp,\"x\"\n", "Thôn Hợp Tiến"]

    /// A household id (the same in both files) turned into one that needs a formula guard,
    /// quotes, or neither, by its last character: the ids stay distinct.
    static func trickyID(_ id: String) -> String {
        let digits = String(id.filter(\.isNumber))
        switch id.last {
        case "0": return "=" + id
        case "1": return csvField("-" + id)
        case "2": return csvField(id + ",x")
        case "3": return csvField(id + "\"q")
        case "4": return "@" + id
        case "5": return id + "ấp"
        case "6": return "+" + id
        case "7": return "-" + digits
        case "8": return "+" + digits
        default: return id
        }
    }

    /// `text` as a CSV field of the files the tests write.
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Texts whose cells need quotes or a formula guard, many rows sharing a village: the
    /// writer's cells made once per text are those made row by row.
    @Test func trickyTextsMatch() throws {
        let (schema, rules) = try Self.compiled()
        let dir = try Self.scrambled(seed: 11, reviewDates: ["2024-09-15"], trickyTexts: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (n, _, _) = try Self.compare(dir, schema, rules, batchSize: 250)
        #expect(n > 1000)
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func scrambledSurveyMatches(_ seed: UInt64) throws {
        let (schema, rules) = try Self.compiled()
        let dir = try Self.scrambled(seed: seed)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (n, scalar, rejected) = try Self.compare(dir, schema, rules, batchSize: 300)
        #expect(n > 0)
        // Rejections and the households of small rule-set groups in a batch go one by one; the
        // others not.
        #expect(scalar < n, "\(scalar) of \(n) households classified one by one, \(rejected) rejected")
        try Self.compare(dir, schema, rules, asOf: CivilDate("2027-06-01"), batchSize: 700)
    }

    /// Two rule sets, about half the households each, in every batch: a column pass each.
    @Test func twoRuleSetsInOneBatch() throws {
        let (schema, rules) = try Self.compiled()
        let dir = try Self.scrambled(seed: 7, reviewDates: ["2024-09-15", "2027-03-01"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (n, scalar, rejected) = try Self.compare(dir, schema, rules, batchSize: 400)
        #expect(n > 1000)
        #expect(scalar - rejected <= n / 10, "\(scalar) of \(n) households classified one by one, \(rejected) rejected")
    }

    /// The four missing-data policies in turn on the indicators of the 2022 rule set (member
    /// and household level), on surveys with blanks: the masks' policies, "some member before
    /// the first unknown one" and the undetermined status give what the scalar loop gives.
    @Test func missingDataPoliciesMatch() throws {
        let dir = NSTemporaryDirectory() + "povrules-columns-policies-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.copyItem(atPath: Self.root + "/Rules", toPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/vn-mdp/2022-2026-nd07/indicators.yaml"
        let policies = ["unknown", "deprived", "not_deprived", "error"]
        let parts = try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "missing: error")
        #expect(parts.count > 8)
        var changed = parts[0]
        for (k, part) in parts.dropFirst().enumerated() { changed += "missing: " + policies[k % policies.count] + part }
        try changed.write(toFile: path, atomically: true, encoding: .utf8)
        let (schema, rules) = try Self.compiled(dir)
        for seed: UInt64 in [21, 22] {
            let survey = try Self.scrambled(seed: seed, reviewDates: ["2024-09-15"])
            defer { try? FileManager.default.removeItem(atPath: survey) }
            let (n, scalar, rejected) = try Self.compare(survey, schema, rules, batchSize: 300)
            #expect(n > 0 && scalar < n, "\(scalar) of \(n) households classified one by one, \(rejected) rejected")
        }
    }

    /// A rule the kernels do not cover (`map`) sends its rule set's batches down the scalar
    /// path, with the same results.
    @Test func uncoveredRuleFallsBack() throws {
        let dir = NSTemporaryDirectory() + "povrules-columns-rules-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.copyItem(atPath: Self.root + "/Rules", toPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/vn-mdp/2022-2026-nd07/indicators.yaml"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let changed = text.replacingOccurrences(of: "deprived_when: \"!h.internet\"",
                                                with: "deprived_when: \"members.map(x, x.age).exists(a, a > 200) || !h.internet\"")
        #expect(changed != text)
        try changed.write(toFile: path, atomically: true, encoding: .utf8)
        let (schema, rules) = try Self.compiled(dir)
        let (n, _, _) = try Self.compare(Self.root + "/Fixtures/thach-ha-2024", schema, rules)
        #expect(n == 0)
    }
}
