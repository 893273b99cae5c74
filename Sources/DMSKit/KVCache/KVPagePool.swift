#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Fixed-size pages of key/value memory shared by every head of every sequence that uses it.
///
/// A page holds `pageSize` slots of one KV head: the keys first, then the values. Pages freed by
/// a head or a finished sequence go back to a free list and are handed out again, so the pool's
/// footprint follows the number of slots actually live. `peakBytes` is that footprint's maximum.
/// Caches of different sequences may take and return pages from several threads at once.
public final class KVPagePool: @unchecked Sendable {
    public let pageSize: Int
    public let headDim: Int
    public let precision: FloatPrecision
    /// Bytes of one page (keys and values).
    public let pageBytes: Int
    /// Upper bound on pages in use, when the pool serves a fixed memory budget.
    public let pageLimit: Int?

    private let lock = NSLock()
    private var pages: [UnsafeMutableRawPointer] = []
    private var freePages: [Int32] = []
    public private(set) var pagesInUse = 0
    public private(set) var peakPagesInUse = 0

    /// Thrown when a page is requested beyond `pageLimit`.
    public struct ExhaustedError: Error, CustomStringConvertible {
        public let limit: Int
        public var description: String { "the KV page pool is exhausted (\(limit) pages in use)" }
    }

    public init(pageSize: Int = 256, headDim: Int, precision: FloatPrecision, pageLimit: Int? = nil) {
        precondition(pageSize > 0 && headDim > 0)
        self.pageSize = pageSize
        self.headDim = headDim
        self.precision = precision
        self.pageBytes = 2 * pageSize * headDim * precision.byteCount
        self.pageLimit = pageLimit
    }

    deinit {
        for page in pages { free(page) }
    }

    /// Bytes of the pages in use now.
    public var bytesInUse: Int { pagesInUse * pageBytes }
    /// The largest `bytesInUse` seen.
    public var peakBytes: Int { peakPagesInUse * pageBytes }

    /// Takes a page from the free list, or allocates one.
    public func allocate() throws -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        if let limit = pageLimit, pagesInUse >= limit { throw ExhaustedError(limit: limit) }
        let index: Int32
        if let reused = freePages.popLast() {
            index = reused
        } else {
            var memory: UnsafeMutableRawPointer?
            guard posix_memalign(&memory, 64, pageBytes) == 0, let memory else {
                throw ExhaustedError(limit: pagesInUse)
            }
            pages.append(memory)
            index = Int32(pages.count - 1)
        }
        pagesInUse += 1
        peakPagesInUse = max(peakPagesInUse, pagesInUse)
        return index
    }

    /// Returns a page to the free list.
    public func release(_ page: Int32) {
        lock.lock()
        defer { lock.unlock() }
        freePages.append(page)
        pagesInUse -= 1
    }

    /// Start of the keys of `page`.
    @inlinable public func keys(_ page: Int32) -> UnsafeMutableRawPointer { base(page) }
    /// Start of the values of `page`.
    @inlinable public func values(_ page: Int32) -> UnsafeMutableRawPointer { base(page) + pageBytes / 2 }

    @usableFromInline func base(_ page: Int32) -> UnsafeMutableRawPointer {
        lock.lock()
        defer { lock.unlock() }
        return pages[Int(page)]
    }
}
