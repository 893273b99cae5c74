import Foundation

/// A normalised token stream of a Jinja template, used to recognise a chat template whatever its
/// formatting: whitespace control (`-`, transformers' `trim_blocks`/`lstrip_blocks`, the dropped final
/// newline) is applied to the text between tags and empty text is dropped; comments are dropped;
/// inside tags whitespace is removed outside string literals, literals are unescaped (so `'\n'` and a
/// literal newline compare equal, as do `'x'` and `"x"`), `a['key']` becomes `a.key`, and adjacent
/// literals joined by `+` are folded into one.
struct JinjaCanonicalForm: Equatable {
    enum Token: Equatable {
        /// Output text between tags.
        case text(String)
        /// Start of `{{ … }}` (`expression: true`) or `{% … %}`.
        case open(expression: Bool)
        /// Code inside a tag, whitespace removed.
        case code(String)
        /// A string literal's value.
        case literal(String)
        /// End of a tag.
        case close
    }

    var tokens: [Token]

    init(tokens: [Token]) { self.tokens = tokens }

    private enum TagKind { case expression, statement, comment }

    private struct RawTag {
        var kind: TagKind
        var trimLeft: Bool      // {%- / {{-
        var noLstrip: Bool      // {%+
        var trimRight: Bool     // -%}
        var noTrimBlock: Bool   // +%}
        var body: [UInt8]
    }

    private enum RawPart {
        case text([UInt8])
        case tag(RawTag)
    }

    /// Nil if the source is not well-formed (an unterminated tag or string).
    init?(source: String) {
        guard let parts = JinjaCanonicalForm.lex(Array(source.utf8)) else { return nil }
        var tokens: [Token] = []
        for (index, part) in parts.enumerated() {
            switch part {
            case let .text(bytes):
                var text = bytes[...]
                let previous: RawTag? = index > 0 ? JinjaCanonicalForm.tag(parts[index - 1]) : nil
                let next: RawTag? = index + 1 < parts.count ? JinjaCanonicalForm.tag(parts[index + 1]) : nil
                if let previous {
                    if previous.trimRight {
                        while let first = text.first, JinjaCanonicalForm.isSpace(first) { text = text.dropFirst() }
                    } else if previous.kind != .expression && !previous.noTrimBlock {
                        if text.starts(with: [0x0D, 0x0A]) { text = text.dropFirst(2) }
                        else if let first = text.first, first == 0x0A || first == 0x0D { text = text.dropFirst() }
                    }
                }
                if let next {
                    if next.trimLeft {
                        while let last = text.last, JinjaCanonicalForm.isSpace(last) { text = text.dropLast() }
                    } else if next.kind != .expression && !next.noLstrip {
                        var cut = text.endIndex
                        while cut > text.startIndex && (text[cut - 1] == 0x20 || text[cut - 1] == 0x09) { cut -= 1 }
                        let atLineStart = cut == text.startIndex ? previous == nil : (text[cut - 1] == 0x0A || text[cut - 1] == 0x0D)
                        if atLineStart { text = text[text.startIndex..<cut] }
                    }
                } else {
                    // keep_trailing_newline=False
                    if text.last == 0x0A { text = text.dropLast(); if text.last == 0x0D { text = text.dropLast() } }
                    else if text.last == 0x0D { text = text.dropLast() }
                }
                if !text.isEmpty {
                    let string = String(decoding: text, as: UTF8.self).replacingCRLF()
                    if case let .text(previousText)? = tokens.last {
                        tokens[tokens.count - 1] = .text(previousText + string)
                    } else {
                        tokens.append(.text(string))
                    }
                }
            case let .tag(tag):
                guard tag.kind != .comment else { continue }
                guard let body = JinjaCanonicalForm.canonicalBody(tag.body) else { return nil }
                tokens.append(.open(expression: tag.kind == .expression))
                tokens.append(contentsOf: body)
                tokens.append(.close)
            }
        }
        self.tokens = tokens
    }

    private static func tag(_ part: RawPart) -> RawTag? {
        if case let .tag(tag) = part { return tag }
        return nil
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0B || byte == 0x0C
    }

    /// Splits the source into text and tags.
    private static func lex(_ s: [UInt8]) -> [RawPart]? {
        var parts: [RawPart] = []
        var i = 0
        var textStart = 0
        let n = s.count
        while i + 1 < n {
            guard s[i] == 0x7B, s[i + 1] == 0x7B || s[i + 1] == 0x25 || s[i + 1] == 0x23 else { // { then { % #
                i += 1
                continue
            }
            let kind: TagKind = s[i + 1] == 0x7B ? .expression : (s[i + 1] == 0x25 ? .statement : .comment)
            if i > textStart { parts.append(.text(Array(s[textStart..<i]))) }
            var j = i + 2
            var tag = RawTag(kind: kind, trimLeft: false, noLstrip: false, trimRight: false, noTrimBlock: false, body: [])
            if j < n && s[j] == 0x2D { tag.trimLeft = true; j += 1 }
            else if j < n && s[j] == 0x2B { tag.noLstrip = true; j += 1 }
            let closer: UInt8 = kind == .expression ? 0x7D : (kind == .statement ? 0x25 : 0x23)
            var bodyEnd = -1
            var k = j
            var quote: UInt8 = 0
            while k < n {
                let c = s[k]
                if quote != 0 && kind != .comment {
                    if c == 0x5C { k += 2; continue }
                    if c == quote { quote = 0 }
                    k += 1
                    continue
                }
                if (c == 0x27 || c == 0x22) && kind != .comment { quote = c; k += 1; continue }
                if c == closer && k + 1 < n && s[k + 1] == 0x7D {
                    bodyEnd = k
                    break
                }
                k += 1
            }
            guard bodyEnd >= 0 else { return nil }
            var bodyStop = bodyEnd
            if bodyStop > j && s[bodyStop - 1] == 0x2D { tag.trimRight = true; bodyStop -= 1 }
            else if bodyStop > j && s[bodyStop - 1] == 0x2B { tag.noTrimBlock = true; bodyStop -= 1 }
            tag.body = Array(s[j..<bodyStop])
            parts.append(.tag(tag))
            i = bodyEnd + 2
            textStart = i
        }
        if textStart < n { parts.append(.text(Array(s[textStart..<n]))) }
        return parts
    }

    /// Code and literal tokens of a tag body.
    private static func canonicalBody(_ body: [UInt8]) -> [Token]? {
        var raw: [Token] = []
        var code: [UInt8] = []
        func flushCode() {
            if !code.isEmpty { raw.append(.code(String(decoding: code, as: UTF8.self))); code.removeAll() }
        }
        var i = 0
        while i < body.count {
            let c = body[i]
            if c == 0x27 || c == 0x22 {
                flushCode()
                var value: [UInt8] = []
                var k = i + 1
                var closed = false
                while k < body.count {
                    let d = body[k]
                    if d == c { closed = true; break }
                    if d == 0x5C, k + 1 < body.count {
                        let e = body[k + 1]
                        switch e {
                        case 0x6E: value.append(0x0A)          // \n
                        case 0x74: value.append(0x09)          // \t
                        case 0x72: value.append(0x0D)          // \r
                        case 0x5C, 0x27, 0x22: value.append(e) // \\ \' \"
                        default: value.append(d); value.append(e)
                        }
                        k += 2
                        continue
                    }
                    value.append(d)
                    k += 1
                }
                guard closed else { return nil }
                raw.append(.literal(String(decoding: value, as: UTF8.self)))
                i = k + 1
                continue
            }
            if !isSpace(c) { code.append(c) }
            i += 1
        }
        flushCode()
        return fold(raw)
    }

    private static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else { return false }
        return s.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }

    /// `a['key']` → `a.key`; `'x' + 'y'` → `'xy'` where precedence allows; adjacent code merged.
    private static func fold(_ input: [Token]) -> [Token] {
        var tokens = input
        // Subscripts with identifier literals.
        var i = 0
        while i + 2 < tokens.count {
            if case let .code(before) = tokens[i], before.hasSuffix("["),
               case let .literal(key) = tokens[i + 1], isIdentifier(key),
               case let .code(after) = tokens[i + 2], after.hasPrefix("]") {
                tokens.replaceSubrange(i...(i + 2), with: [.code(String(before.dropLast()) + "." + key + String(after.dropFirst()))])
            } else {
                i += 1
            }
        }
        tokens = mergeCode(tokens)
        // Literal concatenation.
        i = 0
        while i + 2 < tokens.count {
            if case let .literal(a) = tokens[i], case .code("+") = tokens[i + 1], case let .literal(b) = tokens[i + 2] {
                let beforeOK: Bool
                if i == 0 { beforeOK = true }
                else if case let .code(before) = tokens[i - 1] {
                    beforeOK = before.hasSuffix("+") || before.hasSuffix("(") || before.hasSuffix("=") || before.hasSuffix(",")
                } else { beforeOK = false }
                let afterOK: Bool
                if i + 3 == tokens.count { afterOK = true }
                else if case let .code(after) = tokens[i + 3] {
                    afterOK = after.hasPrefix("+") || after.hasPrefix(")") || after.hasPrefix(",")
                } else { afterOK = false }
                if beforeOK && afterOK {
                    tokens.replaceSubrange(i...(i + 2), with: [.literal(a + b)])
                    continue
                }
            }
            i += 1
        }
        return tokens
    }

    private static func mergeCode(_ tokens: [Token]) -> [Token] {
        var result: [Token] = []
        for token in tokens {
            if case let .code(b) = token, case let .code(a)? = result.last {
                result[result.count - 1] = .code(a + b)
            } else {
                result.append(token)
            }
        }
        return result
    }

    /// Compares with `pattern`, where a literal containing ``placeholder`` matches any literal with the
    /// same text around it. Returns the text matched by the placeholder ("" if none), or nil.
    func match(_ pattern: JinjaCanonicalForm) -> String? {
        guard tokens.count == pattern.tokens.count else { return nil }
        var captured = ""
        for (token, expected) in zip(tokens, pattern.tokens) {
            if case let .literal(wanted) = expected, let hole = wanted.range(of: JinjaCanonicalForm.placeholder) {
                guard case let .literal(value) = token else { return nil }
                let prefix = Array(wanted[..<hole.lowerBound].utf8)
                let suffix = Array(wanted[hole.upperBound...].utf8)
                let bytes = Array(value.utf8)
                guard bytes.count >= prefix.count + suffix.count, bytes.starts(with: prefix),
                      Array(bytes[(bytes.count - suffix.count)...]) == suffix else { return nil }
                captured = String(decoding: bytes[prefix.count..<(bytes.count - suffix.count)], as: UTF8.self)
            } else if token != expected {
                return nil
            }
        }
        return captured
    }

    /// Stands for a captured part of a literal in a reference template.
    static let placeholder = "\u{E000}"
}

private extension String {
    /// Jinja normalises line endings of template data to `\n`.
    func replacingCRLF() -> String {
        guard utf8.contains(0x0D) else { return self }
        var bytes: [UInt8] = []
        let source = Array(utf8)
        var i = 0
        while i < source.count {
            if source[i] == 0x0D {
                bytes.append(0x0A)
                if i + 1 < source.count && source[i + 1] == 0x0A { i += 1 }
            } else {
                bytes.append(source[i])
            }
            i += 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
