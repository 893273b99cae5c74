/// How floats are stored: the KV cache's keys and values, an adapter's tensors on disk.
public enum FloatPrecision: String, Sendable, CaseIterable {
    case f32
    case f16
    case bf16

    /// Bytes per element.
    @inlinable public var byteCount: Int { self == .f32 ? 4 : 2 }

    /// The kernels' name for this encoding.
    @inlinable public var weightType: WeightType {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        }
    }

    /// Stores `count` f32 values at `destination` in this precision.
    @inlinable
    public func store(_ source: UnsafePointer<Float>, to destination: UnsafeMutableRawPointer, count: Int) {
        switch self {
        case .f32:
            destination.copyMemory(from: source, byteCount: count * 4)
        case .f16:
            Kernels.f32ToF16(source, destination.assumingMemoryBound(to: UInt16.self), count: count)
        case .bf16:
            Kernels.f32ToBF16(source, destination.assumingMemoryBound(to: UInt16.self), count: count)
        }
    }
}
