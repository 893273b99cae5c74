import Foundation

/// A memory-mapped safetensors file: an 8-byte little-endian header length, a JSON header, then
/// raw tensor data.
///
/// Opening parses the header and checks every tensor's extent against the file, so a
/// `TensorView` from `tensor(named:)` is always safe to read in full. Tensors of dtypes the
/// kernels cannot use (I64, F8_E4M3, …) are listed but only fail when requested.
public final class SafetensorsFile: @unchecked Sendable {
    /// The path the file was opened with.
    public let path: String
    /// The `__metadata__` string map of the header (empty if absent).
    public let metadata: [String: String]
    /// All tensor descriptions, ordered by data offset.
    public let tensorInfos: [SafetensorsTensorInfo]

    private let file: MappedFile
    private let indexByName: [String: Int]

    /// The reference implementation's cap on the header size; larger claims are corruption.
    private static let maxHeaderLength = 100_000_000

    /// Maps and parses the safetensors file at `path`.
    ///
    /// - Throws: `MappedFileError` if the file cannot be mapped, `SafetensorsError` if it is not
    ///   well-formed.
    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        guard file.count >= 8 else { throw SafetensorsError.tooSmall(path: path, size: file.count) }

        let rawLength = UInt64(littleEndian: file.base.loadUnaligned(as: UInt64.self))
        guard rawLength <= UInt64(min(file.count - 8, Self.maxHeaderLength)) else {
            throw SafetensorsError.implausibleHeaderLength(path: path, length: rawLength, fileSize: file.count)
        }
        let headerLength = Int(rawLength)
        let dataStart = 8 + headerLength
        let dataSize = file.count - dataStart

        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(bytes: file.base + 8, count: headerLength))
        } catch let error as DecodingError {
            throw SafetensorsError.invalidHeader(path: path, reason: Self.describe(error))
        } catch {
            throw SafetensorsError.invalidHeader(path: path, reason: String(describing: error))
        }
        metadata = header.metadata

        var infos: [SafetensorsTensorInfo] = []
        infos.reserveCapacity(header.entries.count)
        for (name, entry) in header.entries {
            infos.append(try Self.locate(name, entry, dataStart: dataStart, dataSize: dataSize, path: path))
        }
        infos.sort { ($0.offset, $0.name) < ($1.offset, $1.name) }
        var indexByName: [String: Int] = [:]
        indexByName.reserveCapacity(infos.count)
        for (index, info) in infos.enumerated() {
            guard indexByName.updateValue(index, forKey: info.name) == nil else {
                throw SafetensorsError.invalidHeader(path: path, reason: "tensor \(info.name) appears more than once")
            }
        }
        tensorInfos = infos
        self.indexByName = indexByName
    }

    /// All tensor names, ordered by data offset.
    public var tensorNames: [String] { tensorInfos.map(\.name) }

    /// Whether the file has a tensor called `name`.
    public func hasTensor(_ name: String) -> Bool {
        indexByName[name] != nil
    }

    /// The description of the tensor called `name`, or nil.
    public func tensorInfo(named name: String) -> SafetensorsTensorInfo? {
        indexByName[name].map { tensorInfos[$0] }
    }

    /// A view of the tensor called `name`, whose bytes live in the mapping.
    ///
    /// - Throws: `SafetensorsError.tensorNotFound`, or `SafetensorsError.unsupportedDtype` for
    ///   dtypes other than F32, F16 and BF16.
    public func tensor(named name: String) throws -> TensorView {
        guard let index = indexByName[name] else { throw SafetensorsError.tensorNotFound(path: path, tensor: name) }
        let info = tensorInfos[index]
        guard let type = info.weightType else {
            throw SafetensorsError.unsupportedDtype(path: path, tensor: name, dtype: info.dtype)
        }
        return TensorView(name: name, type: type, shape: info.shape, data: file.base + info.offset,
                          byteCount: info.byteCount, owner: file)
    }

    // MARK: - Parsing helpers

    /// Validates one header entry and computes its absolute extent.
    private static func locate(_ name: String, _ entry: Entry, dataStart: Int, dataSize: Int,
                               path: String) throws -> SafetensorsTensorInfo {
        func invalid(_ reason: String) -> SafetensorsError { .invalidTensor(path: path, tensor: name, reason: reason) }

        guard entry.data_offsets.count == 2 else {
            throw invalid("has data_offsets \(entry.data_offsets), expected [begin, end]")
        }
        let begin = entry.data_offsets[0], end = entry.data_offsets[1]
        guard 0 <= begin, begin <= end, end <= dataSize else {
            throw invalid("has data_offsets [\(begin), \(end)] outside the \(dataSize) data bytes of the file")
        }
        var elements = 1
        for dim in entry.shape {
            guard dim >= 0 else { throw invalid("has negative dimension in shape \(entry.shape)") }
            let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
            guard !overflow else { throw invalid("has too many elements (shape \(entry.shape))") }
            elements = product
        }
        if let size = SafetensorsTensorInfo.elementBytes(dtype: entry.dtype) {
            let (expected, overflow) = elements.multipliedReportingOverflow(by: size)
            guard !overflow, expected == end - begin else {
                throw invalid("has \(end - begin) data bytes, but shape \(entry.shape) of \(entry.dtype) needs \(overflow ? "more" : String(expected))")
            }
        }
        return SafetensorsTensorInfo(name: name, dtype: entry.dtype, shape: entry.shape,
                                     offset: dataStart + begin, byteCount: end - begin)
    }

    private static func describe(_ error: DecodingError) -> String {
        func at(_ context: DecodingError.Context) -> String {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        }
        switch error {
        case let .dataCorrupted(context): return "not valid JSON (\(at(context)))"
        case let .keyNotFound(key, context): return "missing field \(key.stringValue) (\(at(context)))"
        case let .typeMismatch(_, context), let .valueNotFound(_, context): return at(context)
        @unknown default: return String(describing: error)
        }
    }

    // MARK: - Header schema

    /// The JSON header: tensor entries keyed by name, plus an optional `__metadata__` map.
    private struct Header: Decodable {
        var metadata: [String: String] = [:]
        var entries: [(String, Entry)] = []

        init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: NameKey.self)
            for key in container.allKeys {
                if key.stringValue == "__metadata__" {
                    metadata = try container.decode([String: String].self, forKey: key)
                } else {
                    entries.append((key.stringValue, try container.decode(Entry.self, forKey: key)))
                }
            }
        }
    }

    private struct Entry: Decodable {
        let dtype: String
        let shape: [Int]
        let data_offsets: [Int]
    }

    private struct NameKey: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }
}
