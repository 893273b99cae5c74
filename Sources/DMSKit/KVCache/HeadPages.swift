/// The page table of one (layer, KV head): its pages in order and how many slots it holds.
///
/// Slot `s` lives in page `s / pageSize` at offset `s % pageSize`. Keys are stored after RoPE,
/// so the physical order of slots need not follow token positions.
public struct HeadPages {
    public private(set) var pageIndices: [Int32] = []
    /// Key and value base pointers per page, in the form the attention kernel reads.
    public private(set) var keyPages: [UnsafeRawPointer?] = []
    public private(set) var valuePages: [UnsafeRawPointer?] = []
    /// Slots holding live tokens (`0..<slotCount`).
    public var slotCount = 0

    public init() {}

    /// Slots available without allocating.
    @inlinable public func capacity(pageSize: Int) -> Int { pageIndices.count * pageSize }

    /// Grows the table until `slots` fit.
    public mutating func reserve(_ slots: Int, in pool: KVPagePool) throws {
        while capacity(pageSize: pool.pageSize) < slots {
            let page = try pool.allocate()
            pageIndices.append(page)
            keyPages.append(UnsafeRawPointer(pool.keys(page)))
            valuePages.append(UnsafeRawPointer(pool.values(page)))
        }
    }

    /// Writes one token's key and value (f32, `pool.headDim` each) into `slot`.
    @inlinable
    public func write(slot: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>, pool: KVPagePool) {
        let page = slot / pool.pageSize
        let offset = (slot % pool.pageSize) * pool.headDim * pool.precision.byteCount
        pool.precision.store(key, to: UnsafeMutableRawPointer(mutating: keyPages[page]!) + offset, count: pool.headDim)
        pool.precision.store(value, to: UnsafeMutableRawPointer(mutating: valuePages[page]!) + offset, count: pool.headDim)
    }

    /// Returns every page to the pool.
    public mutating func releaseAll(to pool: KVPagePool) {
        for page in pageIndices { pool.release(page) }
        pageIndices.removeAll(keepingCapacity: true)
        keyPages.removeAll(keepingCapacity: true)
        valuePages.removeAll(keepingCapacity: true)
        slotCount = 0
    }
}
