import Foundation
import Testing

/// `povrules report`, end to end on the shipped Thạch Hạ fixture (2,000 households, all
/// classified). The figures were checked by hand against `povrules classify` output with awk:
/// class counts and people per class, H/A/M0 of both variants, the censored headcounts and
/// contributions, and the transitions from prior_status.
@Suite struct ReportCommandTests {
    static let survey = "Fixtures/thach-ha-2024"

    /// CSV rows `group,section,measure,variant,item,value` keyed by everything but the value.
    static func figures(_ csv: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in csv.split(separator: "\n").dropFirst() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard cells.count == 6 else { continue }
            out[cells[0..<5].joined(separator: "|")] = cells[5]
        }
        return out
    }

    /// The cells of the first line of `text` that starts with `prefix` after `heading`.
    static func row(_ text: String, after heading: String, startingWith prefix: String) -> [String]? {
        guard let start = text.range(of: heading) else { return nil }
        let line = text[start.upperBound...].split(separator: "\n").first { $0.hasPrefix(prefix) }
        return line.map { $0.dropFirst(prefix.count).split(separator: " ").map(String.init) }
    }

    @Test func officialRatesAndAlkireFosterFigures() throws {
        let r = try Povrules.run(["report", Self.survey, "--format", "csv"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("group,section,measure,variant,item,value\n"))
        #expect(r.stderr.contains("households: read 2000, classified 2000, rejected 0"))
        let f = Self.figures(r.stdout)
        let expected: [String: String] = [
            // Official rates (household-based).
            "|counts|households||": "2000",
            "|counts|people||": "7397",
            "|counts|households||poor": "57",
            "|counts|people||poor": "243",
            "|rates|rate||poor": "0.0285",
            "|counts|households||near_poor": "42",
            "|counts|people||near_poor": "154",
            "|rates|rate||near_poor": "0.021",
            "|counts|households||average": "144",
            "|rates|rate||average": "0.072",
            "|counts|households||other": "1757",
            "|rates|rate||other": "0.8785",
            "|counts|households||undetermined": "0",
            "|rates|rate||multidimensional": "0.0495",
            // Deprivation headcounts.
            "|deprivation|headcount_all||employment": "0.1315",
            "|deprivation|headcount_poor||health_insurance": "0.754386",
            "|deprivation|headcount_near_poor||telecom": "0.119048",
            // Alkire–Foster, pure (score ≥ 3/12): 95 households, 325 deprivations.
            "|af|H|pure|": "0.0475",
            "|af|A|pure|": "0.342105",
            "|af|M0|pure|": "0.01625",
            "|af|poor_households|pure|": "95",
            "|af|censored|pure|employment": "0.025",
            "|af|contribution|pure|employment": "0.128205",
            "|af|contribution|pure|health_insurance": "0.138462",
            "|af|dimension_contribution|pure|employment": "0.230769",
            // Alkire–Foster, national (class poor): 57 households, 271 deprivations.
            "|af|H|national|": "0.0285",
            "|af|A|national|": "0.396199",
            "|af|M0|national|": "0.011292",
            "|af|poor_households|national|": "57",
            "|af|censored|national|health_insurance": "0.0215",
            "|af|contribution|national|health_insurance": "0.158672",
        ]
        for (key, value) in expected.sorted(by: { $0.key < $1.key }) {
            #expect(f[key] == value, "\(key)")
        }
        // The contributions of each variant add up to 100%.
        for variant in ["pure", "national"] {
            let sum = f.filter { $0.key.hasPrefix("|af|contribution|\(variant)|") }.values.compactMap(Double.init).reduce(0, +)
            #expect(abs(sum - 1) < 1e-5, "\(variant): \(sum)")
        }
    }

    @Test func tableInVietnameseByDefault() throws {
        let r = try Povrules.run(["report", Self.survey])
        #expect(r.status == 0)
        let out = r.stdout
        #expect(out.hasPrefix("Báo cáo nghèo đa chiều\nBộ quy tắc: vn-mdp-2022@"))
        #expect(out.contains("Số hộ: 2.000, số người: 7.397\n"))
        #expect(Self.row(out, after: "1. Tỷ lệ chính thức (theo hộ)", startingWith: "Toàn bộ ")
                == ["2.000", "7.397", "57", "2,85%", "42", "2,1%", "144", "7,2%", "4,95%", "0"])
        #expect(Self.row(out, after: "3. Chỉ số Alkire–Foster", startingWith: "Toàn bộ ")
                == ["100%", "4,75%", "34,21%", "0,0162", "2,85%", "39,62%", "0,0113"])
        #expect(out.contains("4. Chỉ số theo từng chiều — biến thể thuần (H = 4,75%, A = 34,21%, M0 = 0,0162)"))
        #expect(out.contains("4. Chỉ số theo từng chiều — biến thể quốc gia (H = 2,85%, A = 39,62%, M0 = 0,0113)"))
        // Transitions: 75 poor before, 20 stayed, 55 left, 27 newly poor, 10 poor without a prior status.
        #expect(Self.row(out, after: "5. Biến động so với kỳ trước", startingWith: "Toàn bộ ") == ["75", "20", "55", "27", "0", "10"])
    }

    @Test func englishLabels() throws {
        let r = try Povrules.run(["report", Self.survey, "--lang", "en"])
        #expect(r.status == 0)
        let out = r.stdout
        #expect(out.hasPrefix("Multidimensional poverty report\nRule set: vn-mdp-2022@"))
        #expect(out.contains("Households: 2,000, people: 7,397\n"))
        #expect(out.contains("Grouped by: village\n"))
        for heading in ["1. Official rates (household-based)", "3. Alkire–Foster measures (H: headcount, A: intensity, M0 = H × A)",
                        "4. Indicators — variant pure (H = 4.75%, A = 34.21%, M0 = 0.0162)",
                        "4. Indicators — variant national (H = 2.85%, A = 39.62%, M0 = 0.0113)",
                        "5. Transitions from the previous review (prior_status)"] {
            #expect(out.contains(heading), "\(heading)")
        }
        #expect(Self.row(out, after: "1. Official rates", startingWith: "All ")
                == ["2,000", "7,397", "57", "2.85%", "42", "2.1%", "144", "7.2%", "4.95%", "0"])
        #expect(!out.contains("Toàn bộ") && !out.contains("Hộ nghèo"))
    }

    /// The groups of `--by village` (and of other groupings) add up to the whole survey.
    @Test(arguments: ["village", "area", "village,area"])
    func groupsAddUpToTheTotal(by: String) throws {
        let r = try Povrules.run(["report", Self.survey, "--by", by, "--format", "csv"])
        #expect(r.status == 0, "\(r.stderr)")
        let f = Self.figures(r.stdout)
        let groups = Set(f.keys.map { $0.split(separator: "|", omittingEmptySubsequences: false)[0] }.filter { !$0.isEmpty })
        // 11 villages; every household of the fixture is rural.
        #expect(groups.count == (by == "area" ? 1 : 11))
        for item in ["", "poor", "near_poor", "average", "other", "undetermined"] {
            for measure in ["households", "people"] {
                let total = Int(f["|counts|\(measure)||\(item)"] ?? "")
                let sum = groups.compactMap { Int(f["\($0)|counts|\(measure)||\(item)"] ?? "") }.reduce(0, +)
                #expect(total != nil && sum == total, "\(by) \(measure) \(item): \(sum) vs \(String(describing: total))")
            }
        }
        #expect(f["|counts|households||"] == "2000")
    }

    @Test func noGroupingGivesTheOverallFiguresOnly() throws {
        let r = try Povrules.run(["report", Self.survey, "--by", "none", "--format", "csv"])
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n").dropFirst()
        #expect(!lines.isEmpty && lines.allSatisfy { $0.hasPrefix(",") })
    }

    @Test func jsonAndMarkdownShapes() throws {
        let json = try Povrules.run(["report", Self.survey, "--format", "json"])
        #expect(json.status == 0)
        let root = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect((root["ruleset"] as? String)?.hasPrefix("vn-mdp-2022@") == true)
        #expect(root["group_by"] as? [String] == ["village"])
        #expect(root["overall"] is [String: Any])
        let groups = try #require(root["groups"] as? [Any])
        #expect(groups.count == 11)

        let md = try Povrules.run(["report", Self.survey, "--format", "markdown"])
        #expect(md.status == 0)
        #expect(md.stdout.hasPrefix("## Báo cáo nghèo đa chiều\n"))
        #expect(md.stdout.contains("| Toàn bộ | 2.000 | 7.397 | 57 | 2,85% | 42 | 2,1% | 144 | 7,2% | 4,95% | 0 |"))
    }

    @Test func theSameBytesWhateverTheNumberOfThreads() throws {
        for format in ["table", "csv", "json"] {
            let one = try Povrules.run(["report", Self.survey, "--format", format, "--threads", "1"])
            let two = try Povrules.run(["report", Self.survey, "--format", format, "--threads", "2"])
            let three = try Povrules.run(["report", Self.survey, "--format", format, "--threads", "3", "--by", "village"])
            #expect(one.status == 0 && two.status == 0 && three.status == 0)
            #expect(!one.stdout.isEmpty)
            #expect(one.stdout == two.stdout, "\(format)")
            #expect(one.stdout == three.stdout, "\(format)")
            #expect(one.stderr == two.stderr)
        }
    }

    @Test func unusableInputExitsTwo() throws {
        let typo = try Povrules.run(["report", Self.survey, "--by", "villag"])
        #expect(typo.status == 2)
        #expect(typo.stderr.contains("unknown household field 'villag'") && typo.stderr.contains("did you mean 'village'?"))
        #expect(typo.stdout.isEmpty)
        let cutoff = try Povrules.run(["report", Self.survey, "--cutoff", "13"])
        #expect(cutoff.status == 2)
        #expect(cutoff.stderr.contains("--cutoff must be between 1 and 12"))
        let threads = try Povrules.run(["report", Self.survey, "--threads", "0"])
        #expect(threads.status == 2)
        #expect(threads.stderr.contains("--threads must be at least 1"))
        let missing = try Povrules.run(["report", "Fixtures/no-such-survey"])
        #expect(missing.status == 2)
        // Usage errors of the option parser exit 2 as well (not ArgumentParser's 64).
        let format = try Povrules.run(["report", Self.survey, "--format", "xlsx"])
        #expect(format.status == 2)
        #expect(format.stderr.contains("'xlsx' is invalid for '--format <format>'"))
        let unknown = try Povrules.run(["report", Self.survey, "--bogus"])
        #expect(unknown.status == 2)
        let help = try Povrules.run(["report", "--help"])
        #expect(help.status == 0 && help.stdout.contains("povrules report Fixtures/thach-ha-2024"))
    }

    /// A rejected survey row is listed on stderr and makes the status 2, after the report of the
    /// households that could be classified.
    @Test func rejectedRowsExitTwoAfterTheReport() throws {
        let dir = try SurveyCopy.make(breaking: "TH0002")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try Povrules.run(["report", dir, "--format", "csv"])
        #expect(r.status == 2)
        #expect(Self.figures(r.stdout)["|counts|households||"] == "1999")
        #expect(r.stderr.contains("households: read 2000, classified 1999, rejected 1"))
        #expect(r.stderr.contains("TH0002"))
    }
}

/// A copy of the Thạch Hạ survey in a temporary folder with one household's area made invalid.
enum SurveyCopy {
    static func make(breaking household: String) throws -> String {
        let dir = NSTemporaryDirectory() + "povrules-survey-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let src = Povrules.root + "/Fixtures/thach-ha-2024/"
        var households = try String(contentsOfFile: src + "households.csv", encoding: .utf8)
        let lines = households.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        households = lines.map { line in
            guard line.hasPrefix(household + ",") else { return line }
            return line.replacingOccurrences(of: ",rural,", with: ",mountain,").replacingOccurrences(of: ",urban,", with: ",mountain,")
        }.joined(separator: "\n")
        try households.write(toFile: dir + "/households.csv", atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: src + "members.csv", toPath: dir + "/members.csv")
        return dir
    }
}
