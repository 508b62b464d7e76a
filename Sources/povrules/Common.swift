import ArgumentParser
import Diagnostics
import Engine
import RuleModel
import Survey
#if canImport(Glibc)
import Glibc
#endif

/// Exit statuses of the data contract: 1 = found what it checks for, 2 = unusable input.
enum ExitStatus {
    static let found = ExitCode(1)
    static let badInput = ExitCode(2)
}

/// `--rules DIR`, shared by every command that reads rules.
struct RulesOptions: ParsableArguments {
    @Option(name: .long, help: "Rules folder (default: the shipped Rules/).")
    var rules: String?

    /// The folder to read: the option, else $POVRULES_RULES, else ./Rules, else a Rules/ beside
    /// or above the executable (a checkout's .build/…/povrules).
    func resolve() -> String {
        if let rules { return rules }
        return RulesLocator.shipped()
    }
}

enum RulesLocator {
    static func shipped() -> String {
        if let env = getenv("POVRULES_RULES") { return String(cString: env) }
        if FileSystem.isDirectory("Rules") { return "Rules" }
        var dir = executableDirectory()
        for _ in 0..<6 {
            if FileSystem.isDirectory(dir + "/Rules") { return dir + "/Rules" }
            dir = parent(dir)
        }
        return "Rules"
    }

    static func executableDirectory() -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return "." }
        return parent(String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

/// Prints diagnostics to standard error, one per line, in the contract's form.
enum Report {
    static func errors(_ diagnostics: [Diagnostic]) {
        for d in diagnostics { printErr(d.description) }
    }

    static func printErr(_ text: String) {
        var s = text
        s.append("\n")
        fputs(s, standardError)
        fflush(standardError)
    }
}

/// Loads the rules folder and compiles every rule set against the survey schema, or reports
/// every problem and exits 2.
struct LoadedRules {
    let root: String
    let library: RuleLibrary
    let schema: SurveySchema
    let compiled: [CompiledRuleSet]
    /// Vietnamese labels of codes, from the schema's default mapping, for explanations.
    let codeLabels: CodeLabels

    static func load(_ root: String) throws -> LoadedRules {
        do {
            // A rules folder without its own survey schema (a user's rule set, a test fixture)
            // reads surveys with the shipped one.
            let schemaRoot = FileSystem.exists(root + "/survey/schema.yaml") ? root : RulesLocator.shipped()
            // The schema and the code labels are read while the rule sets load, on another core;
            // a schema's problems are reported before the rule sets', as when read first.
            let schemaRead = Later {
                Result { () throws(DiagnosticList) in
                    let schema = try SurveySchema.shipped(rulesRoot: schemaRoot)
                    return (schema, codeLabels(of: schema))
                }
            }
            let libraryRead = Result { () throws(DiagnosticList) in try RuleLoader.load(root: root) }
            let (schema, labels) = try schemaRead.value.get()
            let library = try libraryRead.get()
            // Each rule set compiled on its own core; the problems in rule-set order.
            var compiled: [CompiledRuleSet] = []
            var problems: [Diagnostic] = []
            for result in Parallel.map(library.ruleSets, { set in
                Result { () throws(DiagnosticList) in try CompiledRuleSet.compile(set, schema: schema) }
            }) {
                switch result {
                case .success(let set): compiled.append(set)
                case .failure(let error): problems += error.diagnostics
                }
            }
            if !problems.isEmpty { throw DiagnosticList(problems) }
            return LoadedRules(root: root, library: library, schema: schema, compiled: compiled, codeLabels: labels)
        } catch let list as DiagnosticList {
            Report.errors(list.diagnostics)
            throw ExitStatus.badInput
        }
    }

    /// The labels of the schema's default mapping; none when it has none or cannot be read.
    private static func codeLabels(of schema: SurveySchema) -> CodeLabels {
        guard case .success(let mapping)? = schema.defaultMapping else { return CodeLabels() }
        return CodeLabels(mapping: mapping)
    }
}

/// What a command made that lives until the process ends (the compiled rules, a run's readers,
/// classifiers and their buffers): freeing it object by object when the command returns only
/// cost time just before the process exits, 3 to 4 % of the instructions of classifying a
/// survey of one household. Nothing kept here may need its deinit to run (files are closed and
/// output flushed explicitly).
enum KeptUntilExit {
    nonisolated(unsafe) private static var kept: [Any] = []

    /// On the main thread only.
    static func keep(_ value: Any) { kept.append(value) }
}

/// The C streams, read once: Swift 6 treats libc's `stdout`/`stderr` globals as shared mutable state.
nonisolated(unsafe) let standardError: UnsafeMutablePointer<FILE> = fdopen(2, "w")
nonisolated(unsafe) let standardOutput: UnsafeMutablePointer<FILE> = fdopen(1, "w")
