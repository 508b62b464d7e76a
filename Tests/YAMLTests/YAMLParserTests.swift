import Diagnostics
import Testing
@testable import YAML

@Suite struct YAMLParserTests {
    @Test func mappingsSequencesAndScalarsCarryOneBasedPositions() throws {
        let root = try #require(try YAMLParser.parse("a: 1\nb:\n  - x\n  - 'y'\n", file: "t.yaml"))
        #expect(root.location == SourceLocation(file: "t.yaml", line: 1, column: 1))
        let b = try #require(root["b"]?.sequence)
        #expect(b.map(\.scalar) == ["x", "y"])
        #expect(b[1].location == SourceLocation(file: "t.yaml", line: 4, column: 5))
        #expect(b[1].scalarStyle == .singleQuoted)
        #expect(root["a"]?.scalar == "1")
    }

    @Test func columnsCountCharactersNotBytes() throws {
        let root = try #require(try YAMLParser.parse("nhãn: {vi: Việc làm, en: x}\n", file: "t.yaml"))
        let en = try #require(root["nhãn"]?["en"])
        #expect(en.location.column == 26)
    }

    @Test func aliasesResolveToTheAnchoredNode() throws {
        let root = try #require(try YAMLParser.parse("a: &x [1, 2]\nb: *x\n", file: "t.yaml"))
        #expect(root["b"]?.sequence?.count == 2)
    }

    @Test func invalidUTF8IsReportedWithItsLineAndColumn() {
        var bytes = Array("a: ok\nb: t".utf8)
        bytes.append(0xE0)  // a lone lead byte of a 3-byte sequence
        bytes.append(contentsOf: Array("x\n".utf8))
        #expect {
            _ = try YAMLParser.parse(bytes, file: "bad.yaml")
        } throws: { error in
            let d = error as! Diagnostic
            return d.location == SourceLocation(file: "bad.yaml", line: 2, column: 5)
                && d.message.hasPrefix("the file is not valid UTF-8")
        }
    }

    @Test func billionLaughsIsRefusedQuickly() {
        var text = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for i in 1...9 {
            let refs = Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ")
            text += "a\(i): &a\(i) [\(refs)]\n"
        }
        #expect {
            _ = try YAMLParser.parse(text, file: "bomb.yaml")
        } throws: { error in
            let d = error as! Diagnostic
            return d.description.contains("expands to more than 2000000 nodes (aliases included)")
                && d.hint?.contains("billion laughs") == true
        }
    }

    /// Aliases count the nodes they stand for: a scalar one, a collection itself and all it
    /// holds. This document expands to 18 nodes (root 1, `a` and its scalar 2, `b` 1, the list
    /// `l` 4, `c` 1, its list 1 + 2 × 4), so a limit of 18 reads it and one of 17 refuses it.
    @Test func aliasesCountTheNodesTheyStandFor() throws {
        let text = "a: &s x\nb: &l [*s, *s, y]\nc: [*l, *l]\n"
        let root = try YAMLParser.parse(text, file: "alias.yaml", limits: YAMLParser.Limits(maxExpandedNodes: 18))
        #expect(root != nil)
        #expect {
            _ = try YAMLParser.parse(text, file: "alias.yaml", limits: YAMLParser.Limits(maxExpandedNodes: 17))
        } throws: { error in
            (error as! Diagnostic).message.contains("expands to more than 17 nodes")
        }
    }

    @Test func deepNestingIsRefused() {
        let depth = 50_000
        let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect {
            _ = try YAMLParser.parse(text, file: "deep.yaml")
        } throws: { error in
            let d = error as! Diagnostic
            return d.message == "YAML nesting is deeper than 512 levels"
                && d.location == SourceLocation(file: "deep.yaml", line: 1, column: 513)
        }
    }

    @Test func oversizedDocumentsAreRefused() {
        let limits = YAMLParser.Limits(maxBytes: 100)
        #expect {
            _ = try YAMLParser.parse(String(repeating: "a: b\n", count: 30), file: "big.yaml", limits: limits)
        } throws: { error in
            (error as! Diagnostic).message.contains("more than the limit of 100")
        }
    }

    @Test func syntaxErrorsPointAtTheProblem() {
        #expect {
            _ = try YAMLParser.parse("a: [1, 2\nb: 3\n", file: "t.yaml")
        } throws: { error in
            let d = error as! Diagnostic
            return d.message.hasPrefix("invalid YAML:") && d.location?.file == "t.yaml"
        }
    }

    @Test func secondDocumentIsAnError() {
        #expect(throws: Diagnostic.self) {
            _ = try YAMLParser.parse("a: 1\n---\nb: 2\n", file: "t.yaml")
        }
    }
}

@Suite struct SuggestionTests {
    @Test func didYouMeanFindsCloseWords() {
        #expect(Suggestion.closest(to: "indicatr", in: ["indicators", "indicator", "income_test"]) == "indicator")
        #expect(Suggestion.closest(to: "helth", in: ["health", "housing"]) == "health")
        #expect(Suggestion.closest(to: "zzz", in: ["health", "housing"]) == nil)
    }
}
