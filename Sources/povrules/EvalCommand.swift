import ArgumentParser
import CEL
import Diagnostics
import Foundation

/// `povrules eval 'EXPRESSION' [--bind NAME=JSON …]`: evaluate one expression of the rule
/// language and print `{"value": …, "type": "…"}` on one line.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate one expression of the rule language and print the value as JSON.",
        discussion: """
        Prints one JSON line, {"value": VALUE, "type": "TYPE"}. An evaluation error prints \
        {"error": "MESSAGE"} and exits with status 1; a syntax or type error is reported on \
        stderr as <expr>:LINE:COLUMN: error: MESSAGE and exits with status 2.

        --bind NAME=JSON declares and binds a variable: a JSON number without fraction or \
        exponent is an int, one with either is a double; strings, booleans and null are \
        string, bool and null; arrays are list(dyn) and objects map(string, dyn).

        Examples:
          povrules eval '[15, 40, 70].exists(a, a >= 15 && a < 60)'
          povrules eval 'members.exists(m, m.age >= 6 && !m.health_insurance)' \\
              --bind 'members=[{"age": 34, "health_insurance": true}, {"age": 7, "health_insurance": false}]'
          povrules eval 'income / size(members) < 1000000.0' --bind income=4200000.0 --bind 'members=[1,2,3]'
        """
    )

    @Argument(help: "The expression, in the rule language (CEL).")
    var expression: String

    @Option(name: .customLong("bind"), parsing: .singleValue,
            help: ArgumentHelp("Bind a variable to a JSON value (repeatable).", valueName: "NAME=JSON"))
    var bind: [String] = []

    func run() throws {
        var decls = Declarations()
        var values: [Value] = []
        for binding in bind {
            guard let eq = binding.firstIndex(of: "=") else {
                throw ValidationError("--bind '\(binding)': expected NAME=JSON")
            }
            let name = String(binding[..<eq])
            let json = String(binding[binding.index(after: eq)...])
            guard Self.isIdentifier(name) else {
                throw ValidationError("--bind '\(binding)': '\(name)' is not a valid variable name")
            }
            let value: Value
            do {
                value = try CELJSON.parse(json)
            } catch {
                throw ValidationError("--bind \(name): invalid JSON: \(error)")
            }
            let slot = decls.declareVariable(name, CELJSON.bindingType(of: value))
            if slot < values.count { values[slot] = value } else { values.append(value) }
        }

        let program: Program
        do {
            program = try Program(expression, declarations: decls)
        } catch let error as CELError {
            let d = error.diagnostic(file: "<expr>")
            FileHandle.standardError.write(Data((d.description + "\n").utf8))
            throw ExitCode(2)
        }

        do {
            let value = try program.evaluate(ValueActivation(values))
            print(program.resultJSON(value))
        } catch let error as EvalError {
            print("{\"error\": \(CELJSON.quoteJSON(error.message))}")
            throw ExitCode(1)
        }
    }

    static func isIdentifier(_ s: String) -> Bool {
        func letter(_ u: Unicode.Scalar) -> Bool { u == "_" || ("a"..."z").contains(u) || ("A"..."Z").contains(u) }
        guard let first = s.unicodeScalars.first, letter(first) else { return false }
        return s.unicodeScalars.allSatisfy { letter($0) || ("0"..."9").contains($0) }
            && !["true", "false", "null", "in"].contains(s)
    }
}
