/// The regex pre-tokenizers of ``PreTokenizerKind`` as a hand-written scanner.
///
/// Each `match…` function returns where the leftmost alternative of the regex that matches at `p` ends,
/// reproducing the backtracking of the original pattern (Oniguruma in Hugging Face `tokenizers`):
/// `\p{L}` is general category L*, `\p{N}` is N*, `\s` is the Unicode White_Space property, and
/// `(?i:'s…)` folds `ſ` (U+017F) to `s` as Oniguruma does.
struct PreTokenizer: Sendable {
    let kind: PreTokenizerKind

    // Character classes.
    static let other: UInt8 = 0
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let space: UInt8 = 3

    private static let asciiClasses: [UInt8] = (0..<128).map { value -> UInt8 in
        switch value {
        case 0x41...0x5A, 0x61...0x7A: return letter
        case 0x30...0x39: return number
        case 0x09...0x0D, 0x20: return space
        default: return other
        }
    }

    /// The class of one scalar.
    @inline(__always)
    static func classify(_ scalar: Unicode.Scalar) -> UInt8 {
        let value = scalar.value
        if value < 128 { return asciiClasses[Int(value)] }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return number
        default:
            return scalar.properties.isWhitespace ? space : other
        }
    }

    /// Splits `scalars` (with `classes[i] == classify(scalars[i])`) into consecutive pre-token ranges.
    func split(_ scalars: [UInt32], _ classes: [UInt8], into pieces: inout [Range<Int>]) {
        let count = scalars.count
        switch kind {
        case .gpt2:
            var p = 0
            while p < count {
                let e = matchGPT2(scalars, classes, p, count)
                pieces.append(p..<e)
                p = e
            }
        case .digitsThenGPT2:
            var p = 0
            while p < count {
                if classes[p] == PreTokenizer.number {
                    pieces.append(p..<(p + 1))
                    p += 1
                    continue
                }
                var end = p
                while end < count && classes[end] != PreTokenizer.number { end += 1 }
                while p < end {
                    let e = matchGPT2(scalars, classes, p, end)
                    pieces.append(p..<e)
                    p = e
                }
            }
        case .llama3, .qwen2:
            let maxDigits = kind == .llama3 ? 3 : 1
            var p = 0
            while p < count {
                let e = matchLlama3(scalars, classes, p, count, maxDigits: maxDigits)
                pieces.append(p..<e)
                p = e
            }
        }
    }

    /// Where a whitespace run starting at `p` is matched by `\s+(?!\S)|\s+`.
    @inline(__always)
    private func matchSpaces(_ classes: [UInt8], _ p: Int, _ end: Int) -> Int {
        var e = p
        while e < end && classes[e] == PreTokenizer.space { e += 1 }
        if e == end { return end }          // \s+ then end of text
        if e - p >= 2 { return e - 1 }      // \s+(?!\S) backs off one
        return e                            // \s+
    }

    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    private func matchGPT2(_ s: [UInt32], _ classes: [UInt8], _ p: Int, _ end: Int) -> Int {
        let c = s[p]
        if c == 0x27, p + 1 < end { // '
            let c1 = s[p + 1]
            if c1 == 0x73 || c1 == 0x74 || c1 == 0x6D || c1 == 0x64 { return p + 2 } // s t m d
            if p + 2 < end {
                let c2 = s[p + 2]
                if (c1 == 0x72 && c2 == 0x65) || (c1 == 0x76 && c2 == 0x65) || (c1 == 0x6C && c2 == 0x6C) {
                    return p + 3 // re ve ll
                }
            }
        }
        var q = p
        if c == 0x20 && p + 1 < end && classes[p + 1] != PreTokenizer.space { q = p + 1 }
        let cls = classes[q]
        if cls != PreTokenizer.space {
            var e = q + 1
            while e < end && classes[e] == cls { e += 1 }
            return e
        }
        return matchSpaces(classes, p, end)
    }

    @inline(__always)
    private static func fold(_ c: UInt32) -> UInt32 {
        if c >= 0x41 && c <= 0x5A { return c + 0x20 }
        if c == 0x17F { return 0x73 } // ſ → s
        return c
    }

    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    private func matchLlama3(_ s: [UInt32], _ classes: [UInt8], _ p: Int, _ end: Int, maxDigits: Int) -> Int {
        let c = s[p]
        if c == 0x27, p + 1 < end {
            let c1 = PreTokenizer.fold(s[p + 1])
            if c1 == 0x73 || c1 == 0x74 || c1 == 0x6D || c1 == 0x64 { return p + 2 }
            if p + 2 < end {
                let c2 = PreTokenizer.fold(s[p + 2])
                if (c1 == 0x72 && c2 == 0x65) || (c1 == 0x76 && c2 == 0x65) || (c1 == 0x6C && c2 == 0x6C) {
                    return p + 3
                }
            }
        }
        let cls = classes[p]
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if cls == PreTokenizer.letter {
            var e = p + 1
            while e < end && classes[e] == PreTokenizer.letter { e += 1 }
            return e
        }
        if cls != PreTokenizer.number && c != 0x0A && c != 0x0D && p + 1 < end && classes[p + 1] == PreTokenizer.letter {
            var e = p + 2
            while e < end && classes[e] == PreTokenizer.letter { e += 1 }
            return e
        }
        // \p{N}{1,maxDigits}
        if cls == PreTokenizer.number {
            var e = p + 1
            while e < end && e - p < maxDigits && classes[e] == PreTokenizer.number { e += 1 }
            return e
        }
        //  ?[^\s\p{L}\p{N}]+[\r\n]*
        var q = p
        if c == 0x20 && p + 1 < end && classes[p + 1] == PreTokenizer.other { q = p + 1 }
        if classes[q] == PreTokenizer.other {
            var e = q + 1
            while e < end && classes[e] == PreTokenizer.other { e += 1 }
            while e < end && (s[e] == 0x0A || s[e] == 0x0D) { e += 1 }
            return e
        }
        // Here s[p] is whitespace. \s*[\r\n]+ : up to and including the last CR/LF of the run.
        var e = p
        var lastNewline = -1
        while e < end && classes[e] == PreTokenizer.space {
            if s[e] == 0x0A || s[e] == 0x0D { lastNewline = e }
            e += 1
        }
        if lastNewline >= 0 { return lastNewline + 1 }
        if e == end { return end }
        if e - p >= 2 { return e - 1 }
        return e
    }
}
