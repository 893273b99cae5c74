/// Why a Hugging Face `config.json` could not be read.
public enum HFConfigError: Error, CustomStringConvertible {
    case cannotRead(path: String, reason: String)
    case invalidJSON(path: String, reason: String)
    case missingField(path: String, field: String)
    case invalidField(path: String, field: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotRead(path, reason):
            return "\(path): cannot read model config: \(reason)"
        case let .invalidJSON(path, reason):
            return "\(path): invalid model config: \(reason)"
        case let .missingField(path, field):
            return "\(path): model config lacks required field \(field)"
        case let .invalidField(path, field, reason):
            return "\(path): model config field \(field) \(reason)"
        }
    }
}
