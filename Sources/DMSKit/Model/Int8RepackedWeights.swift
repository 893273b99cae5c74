#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CDMSKernels
import Foundation

/// A weight matrix's copy in the layout the 8-bit product reads fastest (a row block's scales and
/// transposed bytes in one stream; ``Kernels/int8Repack(type:weights:rows:columns:)``), made on
/// first use, so only a model run with 8-bit activations holds it: as many bytes as the weights.
/// Products read it instead of the file's layout and give the same bits.
@usableFromInline final class Int8RepackedWeights: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes: UnsafeMutableRawPointer?
    private var made = false

    @usableFromInline init() {}

    deinit { free(bytes) }

    /// The copy of `weights`, made now if this is the first call; nil where the 8-bit product
    /// does not apply (or memory ran out: the file's layout still works).
    @usableFromInline func pointer(type: WeightType, weights: UnsafeRawPointer, rows: Int, columns: Int) -> UnsafeRawPointer? {
        lock.lock()
        defer { lock.unlock() }
        if !made {
            made = true
            let count = Kernels.int8RepackedBytes(type: type, rows: rows, columns: columns)
            var memory: UnsafeMutableRawPointer?
            if count > 0, posix_memalign(&memory, 64, count) == 0, let memory {
                if Kernels.int8Repack(type: type, weights: weights, rows: rows, columns: columns, into: memory) {
                    bytes = memory
                } else {
                    free(memory)
                }
            }
        }
        return bytes.map { UnsafeRawPointer($0) }
    }
}
