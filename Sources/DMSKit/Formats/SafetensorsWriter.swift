import Foundation

/// Writes F32, F16 or BF16 tensors and a `__metadata__` string map as a safetensors file,
/// atomically (a temporary file renamed over the target, so a crash never leaves a half-written file).
public struct SafetensorsWriter {
    private var tensors: [(name: String, shape: [Int], values: [Float], storage: FloatPrecision)] = []
    public var metadata: [String: String]

    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    /// Adds a tensor, stored as `storage` (rounded to nearest even when narrower than f32);
    /// `values.count` must equal the product of `shape`.
    public mutating func add(_ name: String, shape: [Int], values: [Float], storage: FloatPrecision = .f32) {
        precondition(shape.reduce(1, *) == values.count, "tensor \(name): \(values.count) values for shape \(shape)")
        tensors.append((name, shape, values, storage))
    }

    /// The file's bytes: an 8-byte little-endian header length, the JSON header, the data.
    public func encoded() throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for tensor in tensors {
            let bytes = tensor.values.count * tensor.storage.byteCount
            header[tensor.name] = ["dtype": tensor.storage.rawValue.uppercased(), "shape": tensor.shape,
                                   "data_offsets": [offset, offset + bytes]]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // pad the header with spaces so the data starts 8-byte aligned
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var data = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        for tensor in tensors {
            // safetensors is little-endian; so are all platforms this package runs on
            let stored = [UInt8](unsafeUninitializedCapacity: tensor.values.count * tensor.storage.byteCount) { bytes, count in
                tensor.values.withUnsafeBufferPointer { values in
                    if let source = values.baseAddress, let destination = bytes.baseAddress {
                        tensor.storage.store(source, to: destination, count: values.count)
                    }
                }
                count = bytes.count
            }
            data.append(contentsOf: stored)
        }
        return data
    }

    /// Writes the file to `path` atomically.
    public func write(to path: String) throws {
        try encoded().write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
