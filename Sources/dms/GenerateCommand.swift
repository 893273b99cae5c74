import ArgumentParser
import DMSKit
import Foundation

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Generate a continuation of a prompt, streamed to the terminal.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(help: "The prompt text.")
    var prompt: String?

    @Option(help: "Read the prompt from this file.")
    var promptFile: String?

    @Flag(help: "Wrap the prompt as a user turn in the model's chat template.")
    var chat = false

    @Option(help: "System message for --chat (default: the template's own default, if any).")
    var system: String?

    @Flag(help: "With --chat on Qwen3: turn thinking off (enable_thinking=false).")
    var noThink = false

    @Flag(help: "Print one JSON object at the end instead of streaming text.")
    var json = false

    func validate() throws {
        if (prompt == nil) == (promptFile == nil) {
            throw ValidationError("give exactly one of --prompt and --prompt-file")
        }
        if system != nil && !chat { throw ValidationError("--system needs --chat") }
    }

    func run() throws {
        let text = try promptFile.map { path in
            do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw ValidationError("cannot read prompt file \(path): \(error.localizedDescription)")
            }
        } ?? prompt!
        let loaded = try modelOptions.load()
        let promptText: String
        if chat {
            var messages: [ChatMessage] = []
            if let system { messages.append(ChatMessage(role: .system, content: system)) }
            messages.append(ChatMessage(role: .user, content: text))
            promptText = try loaded.chatTemplate().render(messages: messages, addGenerationPrompt: true,
                                                         enableThinking: !noThink)
        } else {
            promptText = text
        }
        let ids = loaded.tokenizer.encode(promptText)
        let session = try modelOptions.makeSession(loaded)
        let result = try session.generate(prompt: ids, options: sampling.options) { token in
            if !json { writeOut(token.text) }
            return true
        }
        if json {
            try printJSON(GenerationReport(result, kv: modelOptions.report(session.cache.statistics())))
        } else {
            writeOut("\n")
        }
    }
}
