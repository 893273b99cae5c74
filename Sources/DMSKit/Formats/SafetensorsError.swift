/// Why a safetensors file or model directory could not be read, or a tensor could not be served.
public enum SafetensorsError: Error, CustomStringConvertible {
    case tooSmall(path: String, size: Int)
    case implausibleHeaderLength(path: String, length: UInt64, fileSize: Int)
    case invalidHeader(path: String, reason: String)
    case invalidTensor(path: String, tensor: String, reason: String)
    case tensorNotFound(path: String, tensor: String)
    case unsupportedDtype(path: String, tensor: String, dtype: String)
    case noModelFiles(directory: String)
    case invalidIndex(path: String, reason: String)
    case missingShard(indexPath: String, shard: String)
    case tensorMissingFromShard(indexPath: String, tensor: String, shard: String)

    public var description: String {
        switch self {
        case let .tooSmall(path, size):
            return "\(path): not a safetensors file (\(size) bytes, too small for the 8-byte header length)"
        case let .implausibleHeaderLength(path, length, fileSize):
            return "\(path): corrupt safetensors file: header length \(length) does not fit in a file of \(fileSize) bytes"
        case let .invalidHeader(path, reason):
            return "\(path): invalid safetensors header: \(reason)"
        case let .invalidTensor(path, tensor, reason):
            return "\(path): tensor \(tensor) \(reason)"
        case let .tensorNotFound(path, tensor):
            return "\(path): no tensor named \(tensor)"
        case let .unsupportedDtype(path, tensor, dtype):
            return "\(path): tensor \(tensor) has unsupported dtype \(dtype) (supported: F32, F16, BF16)"
        case let .noModelFiles(directory):
            return "\(directory): no model.safetensors or model.safetensors.index.json"
        case let .invalidIndex(path, reason):
            return "\(path): invalid safetensors index: \(reason)"
        case let .missingShard(indexPath, shard):
            return "\(indexPath): shard \(shard) does not exist"
        case let .tensorMissingFromShard(indexPath, tensor, shard):
            return "\(indexPath): tensor \(tensor) is mapped to shard \(shard), which does not contain it"
        }
    }
}
