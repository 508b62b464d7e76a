import Diagnostics
import Engine
import Foundation
import RuleModel

/// `povrules test --update`: re-records the expectations of failing cases from what the rules now
/// decide, rewriting only the expectation values in the YAML text (at the places the loader
/// recorded), so comments, order and layout stay and a reviewer reads the change in `git diff`.
public struct TestRecorder {
    public let runner: RuleTestRunner

    public init(runner: RuleTestRunner) { self.runner = runner }

    /// One value to write: the text at `location` (a scalar or a flow list) becomes `replacement`.
    public struct Edit: Sendable {
        public let location: SourceLocation
        public let replacement: String
        public let test: String
        public let key: String
    }

    public struct Outcome: Sendable {
        public var edits: [Edit] = []
        /// Expectations that failed but cannot be re-recorded (a reason text, a rejection, a block
        /// list), with why.
        public var skipped: [String] = []
        public var filesChanged: [String] = []
    }

    /// The actual value of an updatable expectation, as YAML text; nil when not updatable.
    func actual(_ key: String, _ outcome: HouseholdOutcome) -> String? {
        guard case .classified(let r) = outcome else { return nil }
        let set = r.rules.ruleSet
        switch key {
        case "status": return r.status
        case "deprivation_count": return String(r.deprivationCount)
        case "deprived":
            let ids = set.indicators.enumerated().filter { r.deprived[$0.offset] }.map(\.element.id)
            return "[" + ids.joined(separator: ", ") + "]"
        case "income_below_line": return r.incomeBelowLine ? "true" : "false"
        case "newly_escaped": return r.newlyEscaped ? "true" : "false"
        case "ruleset": return set.id
        default: return nil
        }
    }

    /// Runs every case; for each failing expectation whose value can be recorded, plans an edit.
    public func plan() -> Outcome {
        var out = Outcome()
        for set in runner.rules {
            for test in set.ruleSet.tests {
                guard case .success(let outcome) = runner.classify(test, owner: set) else {
                    out.skipped.append("\(test.location): '\(test.name)': the case could not be run")
                    continue
                }
                for (key, expected) in test.expect {
                    if key == "eligibility" { continue }
                    guard runner.check(key, expected, outcome) != nil else { continue }
                    guard let value = actual(key, outcome) else {
                        out.skipped.append("\(expected.location): '\(test.name)': '\(key)' cannot be re-recorded; edit it by hand")
                        continue
                    }
                    switch expected {
                    case .scalar:
                        // A ruleset expectation written as id@version keeps that form.
                        var v = value
                        if key == "ruleset", case .scalar(let s, _) = expected, s.contains("@"), case .classified(let r) = outcome { v = r.rules.ruleSet.reference }
                        out.edits.append(Edit(location: expected.location, replacement: v, test: test.name, key: key))
                    case .list:
                        out.edits.append(Edit(location: expected.location, replacement: value, test: test.name, key: key))
                    case .map:
                        out.skipped.append("\(expected.location): '\(test.name)': '\(key)' is a mapping and cannot be re-recorded")
                    }
                }
            }
        }
        return out
    }

    /// Applies the planned edits to the files; returns the problems (a block list, a place that no
    /// longer matches) as skipped entries.
    public func apply(_ outcome: inout Outcome) {
        let byFile = Dictionary(grouping: outcome.edits, by: \.location.file)
        for file in byFile.keys.sorted() {
            guard let data = FileManager.default.contents(atPath: file) else {
                outcome.skipped.append("\(file): cannot read")
                continue
            }
            var text = String(decoding: data, as: UTF8.self)
            // From the end of the file backwards, so earlier places stay valid.
            let edits = byFile[file]!.sorted { $0.location > $1.location }
            var changed = false
            for e in edits {
                switch Self.replace(in: text, at: e.location, with: e.replacement) {
                case .success(let t):
                    text = t
                    changed = true
                case .failure(let why):
                    outcome.skipped.append("\(e.location): '\(e.test)': '\(e.key)' not re-recorded: \(why.message)")
                }
            }
            if changed {
                do {
                    try text.write(toFile: file, atomically: true, encoding: .utf8)
                    outcome.filesChanged.append(file)
                } catch {
                    outcome.skipped.append("\(file): cannot write: \(error)")
                }
            }
        }
    }

    public struct EditProblem: Error, Sendable { public let message: String }

    /// Replaces the YAML value starting at `location` (a plain or quoted scalar, or a flow list)
    /// with `replacement`, leaving the rest of the text as it was.
    public static func replace(in text: String, at location: SourceLocation, with replacement: String) -> Result<String, EditProblem> {
        var scalars = Array(text.unicodeScalars)
        // Find the start: line and column are 1-based, columns count Unicode scalars.
        var line = 1, i = 0
        while line < location.line && i < scalars.count {
            if scalars[i] == "\n" { line += 1 }
            i += 1
        }
        guard line == location.line else { return .failure(EditProblem(message: "line \(location.line) is past the end of the file")) }
        let start = i + location.column - 1
        guard start < scalars.count else { return .failure(EditProblem(message: "column \(location.column) is past the end of the line")) }
        var end = start
        let first = scalars[start]
        let blockItem = first == "-" && (start + 1 >= scalars.count || scalars[start + 1] == " " || scalars[start + 1] == "\n")
        if first == "{" || blockItem {
            return .failure(EditProblem(message: "a block list or a mapping cannot be rewritten in place; write it as a flow list [a, b]"))
        }
        switch first {
        case "[":
            var depth = 0
            var quote: Unicode.Scalar?
            while end < scalars.count {
                let c = scalars[end]
                if let q = quote {
                    if c == q { quote = nil }
                } else if c == "\"" || c == "'" {
                    quote = c
                } else if c == "[" {
                    depth += 1
                } else if c == "]" {
                    depth -= 1
                    if depth == 0 { end += 1; break }
                }
                end += 1
            }
            guard depth == 0 else { return .failure(EditProblem(message: "the list has no closing ']'")) }
        case "\"", "'":
            end = start + 1
            while end < scalars.count {
                if scalars[end] == first {
                    if first == "'" && end + 1 < scalars.count && scalars[end + 1] == "'" { end += 2; continue }
                    end += 1
                    break
                }
                if first == "\"" && scalars[end] == "\\" { end += 1 }
                if scalars[end] == "\n" { return .failure(EditProblem(message: "a quoted value over several lines cannot be rewritten")) }
                end += 1
            }
        case "|", ">":
            return .failure(EditProblem(message: "a block scalar cannot be rewritten in place"))
        default:
            // A plain scalar: up to the end of the line, a comment, or (in a flow collection) ',', '}' or ']'.
            let inFlow = Self.insideFlow(scalars, before: start)
            while end < scalars.count {
                let c = scalars[end]
                if c == "\n" || c == "\r" { break }
                if c == "#" && end > start && (scalars[end - 1] == " " || scalars[end - 1] == "\t") { break }
                if inFlow && (c == "," || c == "}" || c == "]") { break }
                end += 1
            }
            while end > start && (scalars[end - 1] == " " || scalars[end - 1] == "\t") { end -= 1 }
        }
        var value = replacement
        if first == "\"" && !replacement.hasPrefix("[") { value = "\"" + replacement + "\"" }
        if first == "'" && !replacement.hasPrefix("[") { value = "'" + replacement + "'" }
        scalars.replaceSubrange(start..<end, with: Array(value.unicodeScalars))
        var s = ""
        s.unicodeScalars.append(contentsOf: scalars)
        return .success(s)
    }

    /// Whether `pos` is inside an unclosed `{` or `[` (a flow collection), looking back over the
    /// text; quoted text is skipped.
    static func insideFlow(_ s: [Unicode.Scalar], before pos: Int) -> Bool {
        var depth = 0
        var quote: Unicode.Scalar?
        // Flow collections in these files start on the key's line or a few lines above; scan back
        // to a line that starts a new top-level key (no indentation) or the file start.
        var i = pos - 1
        var back: [Unicode.Scalar] = []
        while i >= 0 {
            if s[i] == "\n", i + 1 < s.count, s[i + 1] != " ", s[i + 1] != "\t", s[i + 1] != "\n" { break }
            back.append(s[i])
            i -= 1
        }
        for c in back.reversed() {
            if let q = quote { if c == q { quote = nil }; continue }
            switch c {
            case "\"", "'": quote = c
            case "{", "[": depth += 1
            case "}", "]": depth -= 1
            case "#": break
            default: break
            }
        }
        return depth > 0
    }
}
