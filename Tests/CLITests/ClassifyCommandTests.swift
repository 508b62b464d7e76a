import Foundation
import Testing

@Suite struct ClassifyCommandTests {
    static let survey = "Fixtures/thach-ha-2024"

    /// Parts are read and classified on every thread; the rows, the problems and the summary
    /// are the same bytes whatever the number of threads.
    @Test(arguments: ["csv", "jsonl"])
    func sameOutputOnAnyNumberOfThreads(_ format: String) throws {
        let one = try Povrules.run(["classify", Self.survey, "--format", format, "--threads", "1"])
        #expect(one.status == 0)
        #expect(one.stdout.split(separator: "\n").count >= 2000)
        for n in ["2", "3"] {
            let many = try Povrules.run(["classify", Self.survey, "--format", format, "--threads", n])
            #expect(many.status == one.status)
            #expect(many.stdout == one.stdout)
            #expect(many.stderr == one.stderr)
        }
    }

    @Test func rejectedRowsAreTheSameOnAnyNumberOfThreads() throws {
        for dir in ["duplicate-household", "unknown-household", "no-members", "wrong-column-count"] {
            let path = "Fixtures/surveys-invalid/" + dir
            let one = try Povrules.run(["classify", path, "--threads", "1"])
            let two = try Povrules.run(["classify", path, "--threads", "2"])
            #expect(one.status == 2, "\(dir)")
            #expect(two.status == one.status && two.stdout == one.stdout && two.stderr == one.stderr, "\(dir)")
        }
    }

    /// Output to a file is made from the survey read assuming it sorted (no pass over
    /// members.csv first); a survey that turns out not to be, here late (a member of the first
    /// household moved to the end) or from the start, is read again and the file written anew.
    /// The bytes, the summary and the status are those of standard output, on one thread or two.
    @Test func outputToAFileIsStandardOutputSortedOrNot() throws {
        let dir = NSTemporaryDirectory() + "povrules-unsorted-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = try String(contentsOfFile: Povrules.root + "/" + Self.survey + "/members.csv", encoding: .utf8)
        var lines = text.split(separator: "\n").map(String.init)
        lines.append(lines.remove(at: 1))
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir + "/members.csv", atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: Povrules.root + "/" + Self.survey + "/households.csv", toPath: dir + "/households.csv")
        let out = dir + "/out.csv"
        for survey in [Self.survey, dir, "Fixtures/surveys-invalid/duplicate-household", "Fixtures/surveys-invalid/unknown-household"] {
            for threads in ["1", "2"] {
                try String(repeating: "left over\n", count: 100_000).write(toFile: out, atomically: false, encoding: .utf8)
                let toFile = try Povrules.run(["classify", survey, "--threads", threads, "-o", out])
                let toStdout = try Povrules.run(["classify", survey, "--threads", threads])
                #expect(try String(contentsOfFile: out, encoding: .utf8) == toStdout.stdout, "\(survey), \(threads) threads")
                #expect(toFile.stderr == toStdout.stderr && toFile.status == toStdout.status, "\(survey), \(threads) threads")
            }
        }
    }

    /// Households reviewed under two standards: the columns are the first household's, rows of
    /// the other standard fill the columns they share, and a warning says so. Parts that start
    /// with a household of the other standard are formatted again on the writing thread.
    @Test func mixedPeriodsKeepTheFirstHouseholdsColumns() throws {
        let dir = NSTemporaryDirectory() + "povrules-mixed-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = try String(contentsOfFile: Povrules.root + "/" + Self.survey + "/households.csv", encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for i in 1000..<lines.count where !lines[i].isEmpty {
            lines[i] = lines[i].replacingOccurrences(of: ",2024-09-15,", with: ",2027-09-15,")
        }
        try lines.joined(separator: "\n").write(toFile: dir + "/households.csv", atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: Povrules.root + "/" + Self.survey + "/members.csv", toPath: dir + "/members.csv")
        let one = try Povrules.run(["classify", dir, "--threads", "1"])
        let two = try Povrules.run(["classify", dir, "--threads", "2"])
        #expect(one.status == 0)
        #expect(one.stderr.contains("have other indicators than the output columns"))
        #expect(two.stdout == one.stdout && two.stderr == one.stderr)
        let rows = one.stdout.split(separator: "\n")
        let width = rows[0].split(separator: ",", omittingEmptySubsequences: false).count
        #expect(rows.allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count == width })
        #expect(rows.contains { $0.hasSuffix("vn-mdp-2027@1.0.0") || $0.contains("vn-mdp-2027") })
    }
}
