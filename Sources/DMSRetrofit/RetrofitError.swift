/// Why a retrofit cannot start or continue.
public enum RetrofitError: Error, CustomStringConvertible, Equatable {
    case invalidSettings(String)
    case unsupportedModel(String)
    case notEnoughData(String)
    case checkpointMismatch(String)
    case invalidCheckpoint(String)

    public var description: String {
        switch self {
        case .invalidSettings(let m): return "invalid retrofit settings: \(m)"
        case .unsupportedModel(let m): return "cannot retrofit this model: \(m)"
        case .notEnoughData(let m): return "not enough training text: \(m)"
        case .checkpointMismatch(let m): return "the checkpoint does not match this run: \(m)"
        case .invalidCheckpoint(let m): return "unreadable checkpoint: \(m)"
        }
    }
}
