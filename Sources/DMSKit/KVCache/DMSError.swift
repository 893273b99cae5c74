/// Why DMS cannot run.
public enum DMSError: Error, CustomStringConvertible, Sendable {
    case noDecisions
    case adapterMismatch(String)
    case invalidAdapter(String)

    public var description: String {
        switch self {
        case .noDecisions:
            return "--kv dms needs eviction decisions: a DMS checkpoint (config.json with dms_* fields), "
                + "an adapter (--adapter FILE), or, for speed and memory measurements only, --synthetic-eviction RATE"
        case .adapterMismatch(let message):
            return "the DMS adapter does not fit this model: \(message)"
        case .invalidAdapter(let message):
            return "invalid DMS adapter: \(message)"
        }
    }
}
