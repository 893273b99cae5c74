#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory.
///
/// Model weights are read straight from the page cache through this mapping, so opening a
/// multi-gigabyte file costs no copy and no heap memory. The mapping lives as long as the object;
/// tensor views keep it alive through their `owner`.
public final class MappedFile: @unchecked Sendable {
    /// The path the file was opened with.
    public let path: String
    /// The first byte of the mapping (never dereference past `count` bytes).
    public let base: UnsafeRawPointer
    /// The file size in bytes.
    public let count: Int
    /// False for an empty file, which has no mapping (mmap rejects zero lengths).
    private let isMapped: Bool

    /// Opens and maps `path` (PROT_READ, MAP_PRIVATE). An empty file is allowed and has `count` 0.
    public init(path: String) throws {
        self.path = path
        // O_NONBLOCK keeps a FIFO at `path` from blocking the open; it is rejected below.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 { throw MappedFileError.open(path: path, errno: errno) }
        defer { close(fd) }

        var info = stat()
        if fstat(fd, &info) != 0 { throw MappedFileError.stat(path: path, errno: errno) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw MappedFileError.notRegularFile(path: path) }
        let size = Int(info.st_size)

        if size == 0 {
            // A private, never-written byte gives `base` a valid address without a mapping.
            base = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 16))
            count = 0
            isMapped = false
            return
        }
        let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let mapped, mapped != MAP_FAILED else { throw MappedFileError.map(path: path, errno: errno) }
        base = UnsafeRawPointer(mapped)
        count = size
        isMapped = true
    }

    deinit {
        if isMapped {
            munmap(UnsafeMutableRawPointer(mutating: base), count)
        } else {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        }
    }
}
