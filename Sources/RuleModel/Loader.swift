import Diagnostics
import Dispatch
import YAML
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Loads rule sets strictly: a rules folder holds rule sets, each a folder with a `ruleset.yaml`
/// and any number of further YAML files (parameters, indicators, classes, programmes, tests)
/// whose sections are merged. Folders without `ruleset.yaml` (survey schema, mappings, plans) are
/// not rule sets and are left to their own readers.
public enum RuleLoader {
    static let sectionKeys = ["ruleset", "parameters", "dimensions", "derived", "indicators", "income_test",
                              "classes", "newly_escaped", "programmes", "tests", "defaults"]

    /// Loads every rule set under `root`. Throws every problem found, sorted by place.
    public static func load(root: String) throws(DiagnosticList) -> RuleLibrary {
        var bag = DiagnosticBag()
        guard FileSystem.isDirectory(root) else {
            throw DiagnosticList([.error(at: nil, "\(root): no such rules folder",
                                         hint: "give the folder that holds the rule sets, e.g. Rules")])
        }
        let folders = FileSystem.walk(root).filter { $0.hasSuffix("/ruleset.yaml") }.map { String($0.dropLast("/ruleset.yaml".count)) }.sorted()
        if folders.isEmpty {
            bag.error(at: nil, "\(root): no rule set found (a rule set is a folder with a ruleset.yaml)")
        }
        let filesByFolder = folders.map { folder in
            let nested = folders.filter { $0 != folder && $0.hasPrefix(folder + "/") }
            return FileSystem.walk(folder).filter { path in
                (path.hasSuffix(".yaml") || path.hasSuffix(".yml")) && !nested.contains { path.hasPrefix($0 + "/") }
            }.sorted()
        }
        // Every file parsed on all cores, then every rule set built on all cores: parsing is
        // two thirds of loading the shipped rules, and no file or rule set depends on another.
        // Each rule set's problems are gathered apart and joined in folder order, as one
        // thread would have found them.
        var parsed = Parallel.map(filesByFolder.joined().map { $0 }, parse)[...]
        var parsedByFolder: [ArraySlice<ParsedFile>] = []
        for files in filesByFolder {
            parsedByFolder.append(parsed.prefix(files.count))
            parsed = parsed.dropFirst(files.count)
        }
        var sets: [RuleSet] = []
        for (set, problems) in Parallel.map(Array(zip(folders, parsedByFolder)), { folder, files in
            var bag = DiagnosticBag()
            return (loadRuleSet(folder: folder, parsed: files, &bag), bag.diagnostics)
        }) {
            bag.append(contentsOf: problems)
            if let set { sets.append(set) }
        }
        checkOverlaps(sets, &bag)
        if bag.hasErrors { throw DiagnosticList(sorted(bag.diagnostics)) }
        return RuleLibrary(root: root, ruleSets: sets.sorted { ($0.standard, $0.period.from) < ($1.standard, $1.period.from) })
    }

    static func sorted(_ ds: [Diagnostic]) -> [Diagnostic] {
        ds.enumerated().sorted { a, b in
            switch (a.element.location, b.element.location) {
            case let (x?, y?): return x == y ? a.offset < b.offset : x < y
            case (nil, _?): return true
            case (_?, nil): return false
            case (nil, nil): return a.offset < b.offset
            }
        }.map(\.element)
    }

    /// Two rule sets of the same id, or of the same standard, in force on a common day.
    static func checkOverlaps(_ sets: [RuleSet], _ bag: inout DiagnosticBag) {
        for (i, a) in sets.enumerated() {
            for b in sets[(i + 1)...] where a.period.overlaps(b.period) {
                if a.id == b.id {
                    bag.error(at: b.location, "rule set '\(b.id)' is declared twice with overlapping periods (\(a.period) in \(a.folder), \(b.period) here)",
                              hint: "give each period its own rule set id, or make the periods follow each other")
                } else if a.standard == b.standard {
                    bag.error(at: b.location, "rule sets '\(a.id)' (\(a.period)) and '\(b.id)' (\(b.period)) of standard '\(a.standard)' are both in force on \(max(a.period.from, b.period.from))",
                              hint: "end the earlier one the day before the later one starts")
                }
            }
        }
    }

    /// A rule file and what parsing it gave.
    typealias ParsedFile = (path: String, root: Result<YAMLNode?, Diagnostic>)

    static func parse(_ file: String) -> ParsedFile {
        (file, Result { () throws(Diagnostic) in try YAMLParser.parseFile(file) })
    }

    static func loadRuleSet(folder: String, parsed: ArraySlice<ParsedFile>, _ bag: inout DiagnosticBag) -> RuleSet? {
        var documents: [(String, YAMLNode)] = []
        for (file, result) in parsed {
            switch result {
            case .success(let root?): documents.append((file, root))
            case .success(nil): break
            case .failure(let error): bag.append(error)
            }
        }
        // Shared parameter files named by `ruleset.include` (e.g. the retirement road map used by
        // several standards) are read as if they stood in the folder.
        if let header = documents.first(where: { $0.0.hasSuffix("/ruleset.yaml") })?.1["ruleset"],
           let includes = header["include"] {
            for item in includes.sequence ?? [] {
                guard let rel = item.scalar else { continue }
                let path = rel.hasPrefix("/") ? rel : folder + "/" + rel
                guard FileSystem.exists(path) else {
                    bag.error(at: item.location, "included file '\(rel)' does not exist")
                    continue
                }
                do {
                    if let root = try YAMLParser.parseFile(path) {
                        if let keys = root.mapping?.compactMap(\.key.scalar), let bad = keys.first(where: { $0 != "parameters" }) {
                            bag.error(at: root.location, "an included file holds only 'parameters', found '\(bad)'")
                        }
                        documents.append((path, root))
                    }
                } catch {
                    bag.append(error)
                }
            }
        }
        // ruleset.yaml first: it carries the identity the other files attach to.
        documents.sort { a, b in
            let ra = a.0.hasSuffix("/ruleset.yaml"), rb = b.0.hasSuffix("/ruleset.yaml")
            return ra != rb ? ra : a.0 < b.0
        }
        var builder = RuleSetBuilder(folder: folder)
        for (file, root) in documents {
            builder.read(file: file, root: root, &bag)
        }
        return builder.finish(&bag)
    }
}

/// Small file-system helpers, kept here so the loader needs nothing beyond libc.
public enum FileSystem {
    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    /// Every regular file below `path`, in sorted order.
    public static func walk(_ path: String) -> [String] {
        var out: [String] = []
        guard let dir = opendir(path) else { return out }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." || name.hasPrefix(".") { continue }
            names.append(name)
        }
        closedir(dir)
        for name in names.sorted() {
            let full = path.hasSuffix("/") ? path + name : path + "/" + name
            if isDirectory(full) { out.append(contentsOf: walk(full)) } else { out.append(full) }
        }
        return out
    }
}

/// Work spread over all cores, for loading rules: independent items (files, rule sets) each
/// made by one call, the results in the items' order.
public enum Parallel {
    public static func map<T, R>(_ items: [T], _ body: (T) -> R) -> [R] {
        if items.count < 2 { return items.map(body) }
        let results = UnsafeMutableBufferPointer<R?>.allocate(capacity: items.count)
        results.initialize(repeating: nil)
        defer { results.deinitialize().deallocate() }
        withoutActuallyEscaping(body) { body in
            let shared = SharedWithWorkers((items, body, results))
            DispatchQueue.concurrentPerform(iterations: items.count) { i in
                let (items, body, results) = shared.value
                results[i] = body(items[i])
            }
        }
        return results.map { $0! }
    }
}

/// Work started on another core at once, its result taken when needed (`value` waits for it).
/// Not `Parallel.map` of two tasks: a `Parallel.map` inside one of them would find no core free
/// and run its items one after the other.
public final class Later<T>: @unchecked Sendable {
    private let done = DispatchGroup()
    private var result: T?

    public init(_ work: @escaping @Sendable () -> T) {
        done.enter()
        DispatchQueue.global().async {
            self.result = work()
            self.done.leave()
        }
    }

    public var value: T {
        done.wait()
        return result!
    }
}

/// What the worker threads of `Parallel` share: each writes only its own result, and the items,
/// the work and the results outlive every worker (`concurrentPerform` returns when all are done).
private struct SharedWithWorkers<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
