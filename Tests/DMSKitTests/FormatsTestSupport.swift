import DMSKit
import Foundation

/// Little-endian byte building for hand-made (and deliberately broken) format images.
struct FormatsByteBuilder {
    var bytes: [UInt8] = []

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func string(_ value: String) {
        u64(UInt64(value.utf8.count))
        bytes.append(contentsOf: value.utf8)
    }
    mutating func pad(to alignment: Int) {
        while bytes.count % alignment != 0 { bytes.append(0) }
    }
}

/// A minimal GGUF writer for tests: metadata of every value type, tensors of any type id, and
/// overridable fields for building malformed files.
struct GGUFTestWriter {
    struct Tensor {
        var name: String
        var typeID: UInt32
        /// GGUF order: `ne[0]` is the row length.
        var ne: [UInt64]
        var data: [UInt8]
        /// Relative data offset to write instead of the computed one.
        var offsetOverride: UInt64? = nil
    }

    var version: UInt32 = 3
    var metadata: [(String, GGUFValue)] = []
    var tensors: [Tensor] = []
    /// Padding of the data section; must match `general.alignment` in `metadata` if set there.
    var alignment = 32

    /// Adds a tensor of a known type with deterministic contents of the right size.
    mutating func addTensor(_ name: String, _ type: GGMLType, shape: [Int], seed: UInt8 = 1) {
        let elements = shape.reduce(1, *)
        let count = elements / type.blockSize * type.blockBytes
        let data = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
        tensors.append(Tensor(name: name, typeID: type.rawValue, ne: shape.reversed().map(UInt64.init), data: data))
    }

    static func typeID(of value: GGUFValue) -> UInt32 {
        switch value {
        case .uint8: return 0
        case .int8: return 1
        case .uint16: return 2
        case .int16: return 3
        case .uint32: return 4
        case .int32: return 5
        case .float32: return 6
        case .bool: return 7
        case .string: return 8
        case .array: return 9
        case .uint64: return 10
        case .int64: return 11
        case .float64: return 12
        }
    }

    static func write(_ value: GGUFValue, to out: inout FormatsByteBuilder) {
        switch value {
        case let .uint8(v): out.u8(v)
        case let .int8(v): out.u8(UInt8(bitPattern: v))
        case let .uint16(v): withUnsafeBytes(of: v.littleEndian) { out.bytes.append(contentsOf: $0) }
        case let .int16(v): withUnsafeBytes(of: v.littleEndian) { out.bytes.append(contentsOf: $0) }
        case let .uint32(v): out.u32(v)
        case let .int32(v): out.u32(UInt32(bitPattern: v))
        case let .float32(v): out.u32(v.bitPattern)
        case let .bool(v): out.u8(v ? 1 : 0)
        case let .string(v): out.string(v)
        case let .array(elements):
            // An empty array is written as an int32 array.
            out.u32(elements.first.map(typeID(of:)) ?? 5)
            out.u64(UInt64(elements.count))
            for element in elements { write(element, to: &out) }
        case let .uint64(v): out.u64(v)
        case let .int64(v): out.u64(UInt64(bitPattern: v))
        case let .float64(v): out.u64(v.bitPattern)
        }
    }

    /// The relative data offsets the tensors get (before overrides).
    var naturalOffsets: [UInt64] {
        var offsets: [UInt64] = []
        var next = 0
        for tensor in tensors {
            offsets.append(UInt64(next))
            next += (tensor.data.count + alignment - 1) / alignment * alignment
        }
        return offsets
    }

    func bytes() -> [UInt8] {
        var out = FormatsByteBuilder()
        out.bytes.append(contentsOf: Array("GGUF".utf8))
        out.u32(version)
        out.u64(UInt64(tensors.count))
        out.u64(UInt64(metadata.count))
        for (key, value) in metadata {
            out.string(key)
            out.u32(Self.typeID(of: value))
            Self.write(value, to: &out)
        }
        let offsets = naturalOffsets
        for (tensor, offset) in zip(tensors, offsets) {
            out.string(tensor.name)
            out.u32(UInt32(tensor.ne.count))
            for dim in tensor.ne { out.u64(dim) }
            out.u32(tensor.typeID)
            out.u64(tensor.offsetOverride ?? offset)
        }
        out.pad(to: alignment)
        for tensor in tensors {
            out.bytes.append(contentsOf: tensor.data)
            out.pad(to: alignment)
        }
        return out.bytes
    }
}

/// A minimal safetensors writer for tests.
struct SafetensorsTestWriter {
    struct Tensor {
        var name: String
        var dtype: String
        var shape: [Int]
        var data: [UInt8]
        /// `data_offsets` to write instead of the computed ones.
        var offsetsOverride: [Int]? = nil
    }

    var tensors: [Tensor] = []
    var metadata: [String: String] = [:]

    mutating func add(_ name: String, _ dtype: String, shape: [Int], bytesPerElement: Int, seed: UInt8 = 1) {
        let count = shape.reduce(1, *) * bytesPerElement
        tensors.append(Tensor(name: name, dtype: dtype, shape: shape,
                              data: (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed)) }))
    }

    func headerJSON() -> String {
        var entries: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }
            entries.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var next = 0
        for tensor in tensors {
            let offsets = tensor.offsetsOverride ?? [next, next + tensor.data.count]
            next += tensor.data.count
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            entries.append("\"\(tensor.name)\":{\"dtype\":\"\(tensor.dtype)\",\"shape\":[\(shape)],\"data_offsets\":[\(offsets[0]),\(offsets[1])]}")
        }
        return "{" + entries.joined(separator: ",") + "}"
    }

    /// The file image; `header` replaces the generated JSON (padded with spaces to 8 bytes).
    func bytes(header: String? = nil) -> [UInt8] {
        var json = Array((header ?? headerJSON()).utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        var out = FormatsByteBuilder()
        out.u64(UInt64(json.count))
        out.bytes.append(contentsOf: json)
        for tensor in tensors { out.bytes.append(contentsOf: tensor.data) }
        return out.bytes
    }
}

/// A private temporary directory, removed by `remove()`.
struct FormatsTempDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("dms-formats-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    @discardableResult
    func write(_ bytes: [UInt8], to name: String) throws -> String {
        let path = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// SplitMix64: a tiny seeded generator so fuzz runs are reproducible.
struct FormatsSeededRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

enum FormatsFuzz {
    /// Integers that commonly defeat length and offset checks.
    static let hostileIntegers: [UInt64] = [
        1 << 62, UInt64.max, UInt64(UInt32.max), 1 << 31, UInt64(Int64.max), 1 << 63, 0, 0x1_0000_0000, 255,
    ]

    /// One random corruption of `image`: byte flips, a truncation, or a hostile integer
    /// written over or inserted at a random offset.
    static func mutate(_ image: [UInt8], using rng: inout FormatsSeededRNG) -> [UInt8] {
        var bytes = image
        guard !bytes.isEmpty else { return bytes }
        switch rng.next() % 4 {
        case 0:
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let at = Int(rng.next() % UInt64(bytes.count))
                bytes[at] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
            }
        case 1:
            bytes.removeLast(1 + Int(rng.next() % UInt64(bytes.count)))
        case 2:
            let value = hostileIntegers[Int(rng.next() % UInt64(hostileIntegers.count))]
            let at = Int(rng.next() % UInt64(bytes.count))
            withUnsafeBytes(of: value.littleEndian) { raw in
                for (i, byte) in raw.enumerated() where at + i < bytes.count { bytes[at + i] = byte }
            }
        default:
            let value = hostileIntegers[Int(rng.next() % UInt64(hostileIntegers.count))]
            let width = [1, 2, 4, 8][Int(rng.next() % 4)]
            let at = Int(rng.next() % UInt64(bytes.count + 1))
            withUnsafeBytes(of: value.littleEndian) { bytes.insert(contentsOf: $0.prefix(width), at: at) }
        }
        return bytes
    }

    /// Reads every byte of a view, so an out-of-bounds view would crash the test.
    static func touch(_ view: TensorView) -> UInt64 {
        let bytes = UnsafeRawBufferPointer(start: view.data, count: view.byteCount)
        return bytes.reduce(0) { $0 &+ UInt64($1) }
    }
}
