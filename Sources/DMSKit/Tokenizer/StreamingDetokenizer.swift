/// Turns generated token ids into text as they arrive, never splitting a UTF-8 character.
///
/// Byte-level tokens can end in the middle of a character (an emoji is often two or three tokens);
/// ``append(_:)`` returns only the complete characters decoded so far and holds the incomplete tail
/// back until the following tokens complete it. Bytes that can never form a character come out as
/// U+FFFD, as in ``Tokenizer/decode(_:skipSpecialTokens:)``. Call ``flush()`` at the end.
///
/// Characters are complete Unicode scalars: a multi-scalar emoji (ZWJ sequence, flag, skin tone) may
/// arrive over several calls, each part whole.
public struct StreamingDetokenizer: Sendable {
    /// The tokenizer whose tokens are decoded.
    public let tokenizer: Tokenizer
    /// Whether special tokens (`<|im_end|>`, ...) are left out of the text.
    public var skipSpecialTokens: Bool
    private var pending: [UInt8] = []

    /// A detokenizer for `tokenizer`'s ids, empty.
    public init(tokenizer: Tokenizer, skipSpecialTokens: Bool = false) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// Adds one token and returns the text it completes (possibly empty).
    public mutating func append(_ id: Int) -> String {
        if skipSpecialTokens && tokenizer.isSpecial(id) { return "" }
        pending.append(contentsOf: tokenizer.tokenBytes(id))
        let cut = StreamingDetokenizer.completePrefixLength(pending)
        guard cut > 0 else { return "" }
        let text = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    /// Returns whatever is held back (an incomplete character becomes U+FFFD) and resets.
    public mutating func flush() -> String {
        defer { pending.removeAll() }
        return pending.isEmpty ? "" : String(decoding: pending, as: UTF8.self)
    }

    /// The length of `bytes` without a trailing incomplete-but-so-far-valid UTF-8 sequence.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        // Find the start of the last sequence: at most 3 continuation bytes back.
        var start = n - 1
        var continuation = 0
        while start >= 0 && bytes[start] & 0xC0 == 0x80 && continuation < 3 {
            start -= 1
            continuation += 1
        }
        guard start >= 0 else { return n }
        let lead = bytes[start]
        let needed: Int
        switch lead {
        case 0xC2...0xDF: needed = 2
        case 0xE0...0xEF: needed = 3
        case 0xF0...0xF4: needed = 4
        default: return n // ASCII, or a byte that cannot start a sequence: nothing to wait for
        }
        let have = n - start
        if have >= needed { return n }
        // Check the second byte's range for the leads with restricted ranges; an impossible
        // continuation will never complete, so release it (it decodes to U+FFFD).
        if have >= 2 {
            let second = bytes[start + 1]
            let valid: Bool
            switch lead {
            case 0xE0: valid = (0xA0...0xBF).contains(second)
            case 0xED: valid = (0x80...0x9F).contains(second)
            case 0xF0: valid = (0x90...0xBF).contains(second)
            case 0xF4: valid = (0x80...0x8F).contains(second)
            default: valid = true
            }
            if !valid { return n }
        }
        return start
    }
}
