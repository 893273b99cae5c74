import ArgumentParser
import DMSKit

struct DetokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "detokenize", abstract: "Turn token ids back into text.")

    @Option(name: .shortAndLong, help: "A GGUF file or Hugging Face model directory.")
    var model: String

    @Argument(help: "Token ids (separated by spaces or commas).")
    var ids: [String]

    @Flag(help: "Leave out special tokens such as <|im_end|>.")
    var skipSpecial = false

    func run() throws {
        let tokenizer = try Tokenizer(modelPath: model)
        var parsed: [Int] = []
        for part in ids.flatMap({ $0.split(whereSeparator: { $0 == "," || $0 == " " }) }) {
            guard let id = Int(part), id >= 0, id < tokenizer.vocabularySize else {
                throw ValidationError("'\(part)' is not a token id of this model (0..<\(tokenizer.vocabularySize))")
            }
            parsed.append(id)
        }
        print(tokenizer.decode(parsed, skipSpecialTokens: skipSpecial))
    }
}
