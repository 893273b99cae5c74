import ArgumentParser
import DMSKit
import Foundation

struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score", abstract: "Per-token log-probabilities and perplexity of a text.")

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "The text to score.")
    var text: String?

    @Option(help: "Read the text from this file.")
    var textFile: String?

    @Flag(help: "Print one JSON object: ids, logprobs (null for the first), perplexity, kv.")
    var json = false

    struct Report: Encodable {
        var ids: [Int]
        var logprobs: [Double?]
        var perplexity: Double?
        var kv: KVReport
    }

    func validate() throws {
        if (text == nil) == (textFile == nil) { throw ValidationError("give exactly one of --text and --text-file") }
    }

    func run() throws {
        let input = try textFile.map { path in
            do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw ValidationError("cannot read \(path): \(error.localizedDescription)")
            }
        } ?? text!
        let loaded = try modelOptions.load()
        let session = try modelOptions.makeSession(loaded)
        let result = try session.score(loaded.tokenizer.encode(input))
        if json {
            try printJSON(Report(ids: result.ids, logprobs: result.logprobs, perplexity: result.perplexity,
                                 kv: modelOptions.report(session.cache.statistics())))
        } else {
            for (id, logprob) in zip(result.ids, result.logprobs) {
                let shown = logprob.map { String(format: "%9.4f", $0) } ?? "        -"
                print("\(shown)  \(id)\t\(loaded.tokenizer.tokenText(id).debugDescription)")
            }
            if let perplexity = result.perplexity {
                print(String(format: "perplexity %.4f over %d tokens", perplexity, result.ids.count - 1))
            }
        }
    }
}
