/// GPT-2's reversible byte ↔ character map (`bytes_to_unicode`): printable bytes stand for
/// themselves, the others are shifted to U+0100 and up (a space becomes `Ġ`, a newline `Ċ`).
enum ByteLevel {
    /// The character standing for each byte.
    static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var extra: UInt32 = 0
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            if printable {
                table[byte] = Unicode.Scalar(UInt32(byte))!
            } else {
                table[byte] = Unicode.Scalar(256 + extra)!
                extra += 1
            }
        }
        return table
    }()

    /// The byte a character stands for, indexed by scalar value (values < 324); -1 when none.
    static let scalarToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 324)
        for (byte, scalar) in byteToScalar.enumerated() {
            table[Int(scalar.value)] = Int16(byte)
        }
        return table
    }()

    /// The byte-level spelling of raw bytes (what vocabulary entries look like).
    static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var result = String.UnicodeScalarView()
        for byte in bytes { result.append(byteToScalar[Int(byte)]) }
        return String(result)
    }

    /// The bytes a vocabulary entry stands for. As Hugging Face's ByteLevel decoder: if any character
    /// is outside the map (an added token such as `<|im_start|>` is plain ASCII and inside it), the
    /// token's own UTF-8 bytes are used.
    static func decode(_ token: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(token.utf8.count)
        for scalar in token.unicodeScalars {
            let value = Int(scalar.value)
            guard value < scalarToByte.count, scalarToByte[value] >= 0 else {
                return Array(token.utf8)
            }
            bytes.append(UInt8(scalarToByte[value]))
        }
        return bytes
    }
}
