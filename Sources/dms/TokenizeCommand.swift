import ArgumentParser
import DMSKit

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenize", abstract: "Print the token ids of a text.")

    @Option(name: .shortAndLong, help: "A GGUF file or Hugging Face model directory.")
    var model: String

    @Option(help: "The text to tokenize (special tokens such as <|im_start|> are recognised).")
    var text: String

    @Flag(help: "Print {\"ids\": [...], \"tokens\": [...]} as JSON.")
    var json = false

    struct Report: Encodable {
        var ids: [Int]
        var tokens: [String]
    }

    func run() throws {
        let tokenizer = try Tokenizer(modelPath: model)
        let ids = tokenizer.encode(text)
        if json {
            try printJSON(Report(ids: ids, tokens: ids.map { tokenizer.tokenText($0) }))
        } else {
            print(ids.map(String.init).joined(separator: " "))
        }
    }
}
