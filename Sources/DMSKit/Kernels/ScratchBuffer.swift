/// A growable, 64-byte-aligned f32 buffer reused across calls so hot paths do not allocate.
public final class ScratchBuffer {
    public private(set) var pointer: UnsafeMutablePointer<Float>
    public private(set) var capacity: Int

    public init(capacity: Int = 0) {
        self.capacity = max(capacity, 16)
        pointer = Self.allocate(self.capacity)
    }

    deinit { pointer.deallocate() }

    /// Makes sure `count` values fit (contents are not preserved when growing).
    @inlinable
    public func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity { grow(count) }
        return pointer
    }

    @usableFromInline func grow(_ count: Int) {
        pointer.deallocate()
        capacity = count
        pointer = Self.allocate(count)
    }

    private static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
        raw.initializeMemory(as: Float.self, repeating: 0, count: count)
        return raw.assumingMemoryBound(to: Float.self)
    }
}
