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
}
