import Diagnostics
import Engine
import Foundation
import RuleModel
import Survey

/// A rules folder loaded and compiled against its own survey schema, for the audit commands
/// (diff and check compare two of these, so they cannot share the command line's single load).
public struct AuditRules: Sendable {
    public let root: String
    /// How the user named it: a folder, or `git:REV[:PATH]`.
    public let label: String
    public let library: RuleLibrary
    public let schema: SurveySchema
    public let compiled: [CompiledRuleSet]

    public init(root: String, label: String, library: RuleLibrary, schema: SurveySchema, compiled: [CompiledRuleSet]) {
        self.root = root
        self.label = label
        self.library = library
        self.schema = schema
        self.compiled = compiled
    }

    public static func load(root: String, label: String? = nil) throws(DiagnosticList) -> AuditRules {
        let schema = try SurveySchema.shipped(rulesRoot: root)
        let library = try RuleLoader.load(root: root)
        var compiled: [CompiledRuleSet] = []
        var problems: [Diagnostic] = []
        for set in library.ruleSets {
            do { compiled.append(try CompiledRuleSet.compile(set, schema: schema)) } catch { problems += error.diagnostics }
        }
        if !problems.isEmpty { throw DiagnosticList(problems) }
        return AuditRules(root: root, label: label ?? root, library: library, schema: schema, compiled: compiled)
    }
}

/// Where a rules folder comes from: a path, or a git revision (`git:REV[:PATH]`, PATH defaulting
/// to `Rules`) extracted with `git archive REV PATH | tar -x` into a temporary folder, so CI can
/// compare against the main branch without a second checkout.
public struct RulesSource: Sendable {
    public let spec: String
    /// The folder to load.
    public let root: String
    /// A temporary folder to remove when done, for git revisions.
    public let temporary: String?

    public static func isGit(_ spec: String) -> Bool { spec.hasPrefix("git:") }

    /// Splits `git:REV[:PATH]` into the revision and the path inside the repository.
    public static func parseGit(_ spec: String) -> (rev: String, path: String)? {
        guard isGit(spec) else { return nil }
        let rest = spec.dropFirst(4)
        guard !rest.isEmpty else { return nil }
        if let colon = rest.firstIndex(of: ":") {
            let rev = String(rest[..<colon]), path = String(rest[rest.index(after: colon)...])
            guard !rev.isEmpty else { return nil }
            return (rev, path.isEmpty ? "Rules" : path)
        }
        return (String(rest), "Rules")
    }

    /// Resolves `spec`; `repository` is the folder git runs in (default: the current folder).
    public static func resolve(_ spec: String, repository: String = ".") throws(DiagnosticList) -> RulesSource {
        guard isGit(spec) else { return RulesSource(spec: spec, root: spec, temporary: nil) }
        guard let (rev, path) = parseGit(spec) else {
            throw DiagnosticList([.error(at: nil, "'\(spec)' is not a git rules source", hint: "write git:REV or git:REV:PATH, e.g. git:origin/main:Rules")])
        }
        let tmp = NSTemporaryDirectory() + "povrules-git-" + UUID().uuidString
        do {
            try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        } catch {
            throw DiagnosticList([.error(at: nil, "cannot create a temporary folder for \(spec): \(error)")])
        }
        let clean = path.hasSuffix("/") ? String(path.dropLast()) : path
        let tarFile = tmp + "/rules.tar"
        var (status, err) = run(["/usr/bin/env", "git", "-C", repository, "archive", "--format=tar", "-o", tarFile, rev, "--", clean])
        if status == 0 {
            (status, err) = run(["/usr/bin/env", "tar", "-x", "-f", tarFile, "-C", tmp])
        }
        try? FileManager.default.removeItem(atPath: tarFile)
        if status != 0 {
            try? FileManager.default.removeItem(atPath: tmp)
            let detail = err.trimmingCharacters(in: .whitespacesAndNewlines)
            throw DiagnosticList([.error(at: nil, "cannot read rules '\(clean)' at git revision '\(rev)'" + (detail.isEmpty ? "" : ": \(detail)"),
                                         hint: "check the revision exists (git rev-parse \(rev)) and the path is inside the repository; a shallow CI clone may need 'fetch-depth: 0'")])
        }
        return RulesSource(spec: spec, root: tmp + "/" + clean, temporary: tmp)
    }

    public func cleanUp() {
        if let temporary { try? FileManager.default.removeItem(atPath: temporary) }
    }

    static func shellQuote(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// Runs a program and returns its exit status and standard error.
    static func run(_ argv: [String], stdout: Bool = false) -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        let err = Pipe(), out = Pipe()
        p.standardError = err
        p.standardOutput = out
        do { try p.run() } catch { return (127, "\(error)") }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: stdout ? outData : errData, as: UTF8.self)
        return (p.terminationStatus, text)
    }

    /// Standard output of a git command run in `repository`, or nil when it fails.
    public static func git(_ args: [String], repository: String = ".") -> String? {
        let (status, out) = run(["/usr/bin/env", "git", "-C", repository] + args, stdout: true)
        return status == 0 ? out : nil
    }
}
