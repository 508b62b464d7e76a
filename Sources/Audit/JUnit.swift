/// JUnit XML for CI systems (GitHub Actions test reporters, GitLab `artifacts:reports:junit`,
/// Jenkins): one test suite per rule set, one test case per YAML case, each failure with expected
/// versus actual and the rule that decided.
public enum JUnit {
    public static func xml(_ results: [RuleTestResult], suiteName: String = "povrules") -> String {
        var sets: [String] = []
        for r in results where !sets.contains(r.ruleSet) { sets.append(r.ruleSet) }
        let failures = results.filter { !$0.passed }.count
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites name=\"\(escape(suiteName))\" tests=\"\(results.count)\" failures=\"\(failures)\" errors=\"0\">\n"
        for set in sets {
            let cases = results.filter { $0.ruleSet == set }
            let f = cases.filter { !$0.passed }.count
            out += "  <testsuite name=\"\(escape(set))\" tests=\"\(cases.count)\" failures=\"\(f)\" errors=\"0\" skipped=\"0\">\n"
            for c in cases {
                out += "    <testcase classname=\"\(escape(set))\" name=\"\(escape(c.name))\" file=\"\(escape(c.location.file))\" line=\"\(c.location.line)\""
                if c.passed {
                    out += "/>\n"
                } else {
                    out += ">\n"
                    let first = c.failures.first.map { $0.split(separator: "\n").first.map(String.init) ?? $0 } ?? "failed"
                    out += "      <failure message=\"\(escape(first))\" type=\"expectation\">"
                    out += escape("\(c.location): \(c.name)\n" + c.failures.joined(separator: "\n"))
                    out += "</failure>\n"
                    out += "    </testcase>\n"
                }
            }
            out += "  </testsuite>\n"
        }
        out += "</testsuites>\n"
        return out
    }

    /// XML text and attribute escaping; control characters XML 1.0 forbids are dropped.
    static func escape(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n", "\t", "\r": out.unicodeScalars.append(u)
            default:
                if u.value < 0x20 { continue }
                out.unicodeScalars.append(u)
            }
        }
        return out
    }
}
