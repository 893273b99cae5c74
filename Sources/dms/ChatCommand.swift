import ArgumentParser
import DMSKit
import Foundation

struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Interactive multi-turn chat that keeps its KV cache across turns.",
        discussion: "Type a message and press Enter; an empty line or end of input quits. /reset starts over.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(help: "System message (default: the template's own default, if any).")
    var system: String?

    @Flag(help: "On Qwen3: turn thinking off.")
    var noThink = false

    @Flag(help: "After each reply, print the KV cache statistics on standard error.")
    var showKV = false

    func run() throws {
        let loaded = try modelOptions.load()
        let template = try loaded.chatTemplate()
        var chat = try makeChat(loaded, template)
        let interactive = isatty(STDIN_FILENO) != 0
        while true {
            if interactive { writeOut("> ") }
            guard let line = readLine(strippingNewline: true), !line.isEmpty else { break }
            if line == "/reset" {
                chat = try makeChat(loaded, template)
                continue
            }
            do {
                let result = try chat.respond(to: line, options: sampling.options) { token in
                    writeOut(token.text)
                    return true
                }
                writeOut("\n")
                if showKV {
                    let kv = chat.session.cache.statistics()
                    writeError("[kv \(kv.policy): \(kv.tokensSeen) tokens seen, "
                        + String(format: "%.1f mean slots, %.1f tokens/s decode]\n",
                                 kv.meanSlotsInUse, result.timing.decodeTokensPerSecond))
                }
            } catch {
                writeError("error: \(error)\n")
            }
        }
    }

    private func makeChat(_ loaded: LoadedModel, _ template: ChatTemplate) throws -> ChatSession {
        let session = try modelOptions.makeSession(loaded)
        let chat = ChatSession(session: session, template: template, system: system)
        chat.enableThinking = !noThink
        return chat
    }
}
