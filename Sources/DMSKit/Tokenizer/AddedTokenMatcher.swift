/// Finds added tokens in UTF-8 text, leftmost first and longest at a position (as Hugging Face's
/// added-vocabulary split).
struct AddedTokenMatcher: Sendable {
    private struct Entry: Sendable {
        let bytes: [UInt8]
        let id: Int
        let special: Bool
        let lstrip: Bool
        let rstrip: Bool
    }

    /// Candidates by first byte, longest first.
    private let byFirstByte: [[Entry]]
    let isEmpty: Bool

    init(_ tokens: [AddedToken]) {
        var table = [[Entry]](repeating: [], count: 256)
        for token in tokens where !token.content.isEmpty {
            let bytes = Array(token.content.utf8)
            table[Int(bytes[0])].append(Entry(bytes: bytes, id: token.id, special: token.special,
                                              lstrip: token.lstrip, rstrip: token.rstrip))
        }
        for index in table.indices {
            table[index].sort { $0.bytes.count > $1.bytes.count }
        }
        byFirstByte = table
        isEmpty = tokens.allSatisfy { $0.content.isEmpty }
    }

    /// One piece of the input: either plain text (a byte range) or an added token.
    enum Piece {
        case text(Range<Int>)
        case token(Int)
    }

    /// Splits `bytes` into text ranges and added tokens. Special tokens are matched only if `includeSpecial`.
    func split(_ bytes: [UInt8], includeSpecial: Bool) -> [Piece] {
        var pieces: [Piece] = []
        var textStart = 0
        var i = 0
        let n = bytes.count
        while i < n {
            let candidates = byFirstByte[Int(bytes[i])]
            var matched: Entry?
            if !candidates.isEmpty {
                for entry in candidates where (includeSpecial || !entry.special) && entry.bytes.count <= n - i {
                    var equal = true
                    for k in 1..<entry.bytes.count where bytes[i + k] != entry.bytes[k] {
                        equal = false
                        break
                    }
                    if equal {
                        matched = entry
                        break
                    }
                }
            }
            guard let entry = matched else {
                i += 1
                continue
            }
            var start = i
            var end = i + entry.bytes.count
            if entry.lstrip {
                while start > textStart, let (scalar, begin) = AddedTokenMatcher.scalar(before: start, in: bytes, floor: textStart),
                      scalar.properties.isWhitespace {
                    start = begin
                }
            }
            if entry.rstrip {
                while end < n, let (scalar, after) = AddedTokenMatcher.scalar(at: end, in: bytes), scalar.properties.isWhitespace {
                    end = after
                }
            }
            if start > textStart { pieces.append(.text(textStart..<start)) }
            pieces.append(.token(entry.id))
            textStart = end
            i = end
        }
        if textStart < n { pieces.append(.text(textStart..<n)) }
        return pieces
    }

    private static func scalar(at index: Int, in bytes: [UInt8]) -> (Unicode.Scalar, Int)? {
        var iterator = bytes[index...].makeIterator()
        var decoder = UTF8()
        guard case let .scalarValue(scalar) = decoder.decode(&iterator) else { return nil }
        return (scalar, index + String(scalar).utf8.count)
    }

    private static func scalar(before index: Int, in bytes: [UInt8], floor: Int) -> (Unicode.Scalar, Int)? {
        var begin = index - 1
        while begin > floor && bytes[begin] & 0xC0 == 0x80 { begin -= 1 }
        guard let (scalar, end) = scalar(at: begin, in: bytes), end == index else { return nil }
        return (scalar, begin)
    }
}
