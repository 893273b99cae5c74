import DMSKit
import Foundation

/// Training sequences cut from text files: each file is tokenized as plain text (no chat
/// template) and split into non-overlapping sequences of `sequenceLength` tokens (a shorter tail
/// is dropped). The order is a seeded shuffle per epoch, so a step always gets the same sequence.
public struct TrainingCorpus: Sendable {
    public let sequences: [[Int]]
    /// The files and how many tokens and sequences each gave, for the adapter's metadata.
    public let description: String
    /// FNV-1a of all token ids: `--resume` checks it is training on the same data.
    public let fingerprint: UInt64

    public init(files: [String], tokenizer: Tokenizer, sequenceLength: Int) throws {
        var sequences: [[Int]] = []
        var parts: [String] = []
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw RetrofitError.notEnoughData("cannot read \(file)")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw RetrofitError.notEnoughData("\(file) is not UTF-8 text")
            }
            let ids = tokenizer.encode(text, addSpecialTokens: false, parseSpecial: false)
            let count = ids.count / sequenceLength
            for s in 0..<count { sequences.append(Array(ids[(s * sequenceLength)..<((s + 1) * sequenceLength)])) }
            parts.append("\((file as NSString).lastPathComponent) (\(ids.count) tokens, \(count) sequences)")
        }
        guard !sequences.isEmpty else {
            throw RetrofitError.notEnoughData("no file has \(sequenceLength) tokens")
        }
        self.init(sequences: sequences, description: parts.joined(separator: "; "))
    }

    public init(sequences: [[Int]], description: String) {
        self.sequences = sequences
        self.description = description
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for sequence in sequences {
            for id in sequence {
                hash = (hash ^ UInt64(truncatingIfNeeded: id)) &* 0x100_0000_01b3
            }
        }
        fingerprint = hash
    }

    public var tokenCount: Int { sequences.reduce(0) { $0 + $1.count } }

    /// Index of the sequence used at `step` (1-based): epoch `e` visits all sequences in an order
    /// shuffled with `seed` and `e`.
    public func sequenceIndex(step: Int, seed: UInt64) -> Int {
        let n = sequences.count
        let epoch = (step - 1) / n
        var random = RandomSource(seed: seed &+ 0x5EED &+ UInt64(epoch) &* 0x9E37_79B9)
        var order = Array(0..<n)
        order.shuffle(using: &random)
        return order[(step - 1) % n]
    }
}
