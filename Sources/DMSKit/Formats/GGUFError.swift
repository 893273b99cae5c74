/// Why a GGUF file could not be read, or a tensor could not be served from it.
public enum GGUFError: Error, CustomStringConvertible {
    case badMagic(path: String)
    case bigEndian(path: String)
    case unsupportedVersion(path: String, version: UInt32)
    /// The file ends before `what`, which starts at `offset` and needs `needed` bytes.
    case truncated(path: String, what: String, offset: Int, needed: Int)
    /// A count or length read at `offset` is larger than the rest of the file could hold.
    case implausibleCount(path: String, what: String, count: UInt64, offset: Int)
    case unknownValueType(path: String, key: String, typeID: UInt32)
    case duplicateKey(path: String, key: String)
    case invalidMetadata(path: String, key: String, reason: String)
    case unknownTensorType(path: String, tensor: String, typeID: UInt32)
    case invalidTensor(path: String, tensor: String, reason: String)
    case duplicateTensor(path: String, tensor: String)
    case tensorNotFound(path: String, tensor: String)
    case unsupportedTensorType(path: String, tensor: String, type: GGMLType)

    public var description: String {
        switch self {
        case let .badMagic(path):
            return "\(path): not a GGUF file (the first four bytes are not \"GGUF\")"
        case let .bigEndian(path):
            return "\(path): big-endian GGUF files are not supported"
        case let .unsupportedVersion(path, version):
            return "\(path): unsupported GGUF version \(version) (supported: 2, 3)"
        case let .truncated(path, what, offset, needed):
            return "\(path): file is truncated: \(what) at byte \(offset) runs \(needed) bytes past the end of the file"
        case let .implausibleCount(path, what, count, offset):
            return "\(path): corrupt file: \(what) at byte \(offset) is \(count), more than the rest of the file can hold"
        case let .unknownValueType(path, key, typeID):
            return "\(path): metadata key \(key) has unknown value type \(typeID)"
        case let .duplicateKey(path, key):
            return "\(path): metadata key \(key) appears more than once"
        case let .invalidMetadata(path, key, reason):
            return "\(path): metadata key \(key) \(reason)"
        case let .unknownTensorType(path, tensor, typeID):
            return "\(path): tensor \(tensor) has unknown ggml type \(typeID)"
        case let .invalidTensor(path, tensor, reason):
            return "\(path): tensor \(tensor) \(reason)"
        case let .duplicateTensor(path, tensor):
            return "\(path): tensor \(tensor) appears more than once"
        case let .tensorNotFound(path, tensor):
            return "\(path): no tensor named \(tensor)"
        case let .unsupportedTensorType(path, tensor, type):
            let supported = WeightType.allCases.map(\.rawValue).joined(separator: ", ")
            return "\(path): tensor \(tensor) has unsupported tensor type \(type.name) (supported: \(supported))"
        }
    }
}
