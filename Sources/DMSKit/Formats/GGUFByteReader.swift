/// A cursor over a GGUF image that bounds-checks every read against the image size.
///
/// Every length or count the file claims is checked against the bytes that remain before
/// anything is allocated for it, so a corrupt file costs at most work proportional to its size.
struct GGUFByteReader {
    let base: UnsafeRawPointer
    let count: Int
    let path: String
    private(set) var offset = 0

    init(base: UnsafeRawPointer, count: Int, path: String) {
        self.base = base
        self.count = count
        self.path = path
    }

    var remaining: Int { count - offset }

    /// Advances past `size` bytes and returns where they start.
    mutating func take(_ size: Int, _ what: @autoclosure () -> String) throws -> UnsafeRawPointer {
        guard size <= remaining else {
            throw GGUFError.truncated(path: path, what: what(), offset: offset, needed: size - remaining)
        }
        defer { offset += size }
        return base + offset
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        T(littleEndian: try take(MemoryLayout<T>.size, what()).loadUnaligned(as: T.self))
    }

    /// Reads a length-prefixed (uint64) UTF-8 string; invalid UTF-8 is repaired with U+FFFD.
    mutating func string(_ what: @autoclosure () -> String) throws -> String {
        let length = try count(of: what(), minimumBytesEach: 1)
        let bytes = try take(length, what())
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: length), as: UTF8.self)
    }

    /// Reads a uint64 count of items that each take at least `minimumBytesEach` bytes, rejecting
    /// counts the rest of the file cannot hold.
    mutating func count(of what: @autoclosure () -> String, minimumBytesEach: Int) throws -> Int {
        let at = offset
        let raw = try read(UInt64.self, what())
        guard raw <= UInt64(remaining / minimumBytesEach) else {
            throw GGUFError.implausibleCount(path: path, what: what(), count: raw, offset: at)
        }
        return Int(raw)
    }
}
