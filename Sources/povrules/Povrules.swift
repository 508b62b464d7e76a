import ArgumentParser

@main
struct Povrules: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "povrules",
        abstract: "Classify Vietnamese households under the multidimensional poverty standard, check programme eligibility and audit rule changes.",
        subcommands: [
            ClassifyCommand.self,
            ReportCommand.self, TargetsCommand.self,
            ExplainCommand.self,
            EligibilityCommand.self,
            CheckCommand.self,
            EvalCommand.self,
            TestCommand.self,
            DiffCommand.self,
            ValidateCommand.self,
        ]
    )

    /// As ArgumentParser's, except that a usage error (unknown option, bad value, missing
    /// argument) exits 2, as the data contract says, not 64.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .validationFailure {
                let message = fullMessage(for: error)
                if !message.isEmpty { Report.printErr(message) }
                exit(withError: ExitStatus.badInput)
            }
            exit(withError: error)
        }
    }
}
