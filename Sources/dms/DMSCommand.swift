import ArgumentParser

@main
struct DMSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dms",
        abstract: "Run transformer LLMs on the CPU with Dynamic Memory Sparsification of the KV cache.",
        subcommands: [
            GenerateCommand.self, ChatCommand.self, ScoreCommand.self, BenchCommand.self, EvalCommand.self,
            ServeCommand.self, BenchBatchCommand.self, TokenizeCommand.self, DetokenizeCommand.self, InspectCommand.self,
            RetrofitCommand.self, CalibrateCommand.self, ReportCommand.self,
        ])
}
