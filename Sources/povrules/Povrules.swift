import ArgumentParser

@main
struct Povrules: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "povrules",
        abstract: "Classify Vietnamese households under the multidimensional poverty standard, check programme eligibility and audit rule changes.",
        subcommands: [
            ClassifyCommand.self,
            ExplainCommand.self,
            CheckCommand.self,
            TestCommand.self,
        ]
    )
}
