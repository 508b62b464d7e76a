import CEL
import Foundation
import Testing

@Suite struct JSONTests {
    func result(_ src: String, vars: [(String, Value)] = []) throws -> String {
        var d = Declarations()
        for (n, v) in vars { d.declareVariable(n, CELJSON.bindingType(of: v)) }
        let p = try Program(src, declarations: d)
        return p.resultJSON(try p.evaluate(ValueActivation(vars.map(\.1))))
    }

    @Test func encoding() throws {
        #expect(try result("1 + 2") == #"{"value": 3, "type": "int"}"#)
        #expect(try result("2.0") == #"{"value": 2.0, "type": "double"}"#)
        #expect(try result("1e300 * 10.0") == #"{"value": 1e+301, "type": "double"}"#)
        #expect(try result("1.0 / 0.0") == #"{"value": "Infinity", "type": "double"}"#)
        #expect(try result("5u") == #"{"value": 5, "type": "uint"}"#)
        #expect(try result("b'hi!'") == #"{"value": "aGkh", "type": "bytes"}"#)
        #expect(try result("type('a')") == #"{"value": "string", "type": "type"}"#)
        #expect(try result("null") == #"{"value": null, "type": "null_type"}"#)
        #expect(try result("'a\"b\\n'") == #"{"value": "a\"b\n", "type": "string"}"#)
        #expect(try result("[1, 2]") == #"{"value": [1, 2], "type": "list(int)"}"#)
        #expect(try result("{'a': [1.5]}") == #"{"value": {"a": [1.5]}, "type": "map(string, list(double))"}"#)
        #expect(try result("{1: 'x', true: 'y'}") == #"{"value": [[1, "x"], [true, "y"]], "type": "map(dyn, string)"}"#)
        #expect(try result("dyn('x')") == #"{"value": "x", "type": "string"}"#)
        #expect(CELJSON.base64([0xff, 0xfe, 0xfd, 0x01]) == "//79AQ==")
    }

    @Test func decoding() throws {
        #expect(try CELJSON.parse("42") == .int(42))
        #expect(try CELJSON.parse("-42") == .int(-42))
        #expect(try CELJSON.parse("4.0") == .double(4))
        #expect(try CELJSON.parse("4e2") == .double(400))
        #expect(try CELJSON.parse("\"a\\u00e0\\n\"") == .string("aà\n"))
        #expect(try CELJSON.parse("\"\\ud83d\\ude00\"") == .string("😀"))
        #expect(try CELJSON.parse(" [1, \"a\", null, true] ") == list(.int(1), .string("a"), .null, .bool(true)))
        guard case .map(let m) = try CELJSON.parse("{\"age\": 34, \"insured\": false}") else { Issue.record("map"); return }
        #expect(m[string: "age"] == .int(34))
        #expect(m[string: "insured"] == .bool(false))
        #expect(throws: CELJSON.ParseError.self) { try CELJSON.parse("[1,") }
        #expect(throws: CELJSON.ParseError.self) { try CELJSON.parse("01x") }
        #expect(CELJSON.bindingType(of: .list(.array([]))) == .list(.dyn))
        #expect(CELJSON.bindingType(of: .map(MapValue())) == .map(.string, .dyn))
    }

    @Test func boundValuesAreChecked() throws {
        let members = try CELJSON.parse(#"[{"age": 34, "health_insurance": true}, {"age": 7, "health_insurance": false}]"#)
        #expect(try result("members.exists(m, m.age >= 6 && !m.health_insurance)", vars: [("members", members)])
                == #"{"value": true, "type": "bool"}"#)
        #expect(try result("x * 2", vars: [("x", .int(21))]) == #"{"value": 42, "type": "int"}"#)
        #expect(throws: CELError.self) { try result("x + 0.5", vars: [("x", .int(1))]) }
    }
}

/// Runs the built `povrules` binary when it sits next to the test bundle (skipped otherwise).
@Suite struct EvalCommandTests {
    static var binary: URL? {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for dir in [bundle, bundle.deletingLastPathComponent()] {
            let candidate = dir.appendingPathComponent("povrules")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }

    func run(_ args: [String]) throws -> (out: String, err: String, status: Int32)? {
        guard let binary = Self.binary else { return nil }
        let p = Process()
        p.executableURL = binary
        p.arguments = ["eval"] + args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self), p.terminationStatus)
    }

    @Test func valueErrorAndTypeError() throws {
        guard let ok = try run(["x + 1", "--bind", "x=41"]) else { return }
        #expect(ok.out == "{\"value\": 42, \"type\": \"int\"}\n")
        #expect(ok.status == 0)
        let bad = try run(["1 / x", "--bind", "x=0"])!
        #expect(bad.out == "{\"error\": \"division by zero\"}\n")
        #expect(bad.status == 1)
        let typo = try run(["memebers.size()", "--bind", "members=[]"])!
        #expect(typo.err == "<expr>:1:1: error: undeclared reference to 'memebers'\n  hint: did you mean 'members'?\n")
        #expect(typo.status == 2)
    }
}
