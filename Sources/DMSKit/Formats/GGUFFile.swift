/// A memory-mapped GGUF model file (versions 2 and 3, little-endian).
///
/// Opening parses and validates the header, all metadata and all tensor descriptions; tensor
/// data is not touched until used. Every tensor's data is checked to lie inside the file, so a
/// `TensorView` from `tensor(named:)` is always safe to read in full.
public final class GGUFFile: @unchecked Sendable {
    /// The path the file was opened with.
    public let path: String
    /// The GGUF format version (2 or 3).
    public let version: UInt32
    /// All metadata key/value pairs.
    public let metadata: [String: GGUFValue]
    /// All tensor descriptions, in file order.
    public let tensorInfos: [GGUFTensorInfo]
    /// Alignment of tensor data (`general.alignment`, default 32).
    public let alignment: Int

    private let file: MappedFile
    private let indexByName: [String: Int]

    /// Arrays nested deeper than this are rejected; real files nest at most one level, and the
    /// limit keeps a hostile file from exhausting the stack.
    private static let maxArrayDepth = 16
    private static let defaultAlignment = 32
    private static let magic: UInt32 = 0x4655_4747  // "GGUF" read as a little-endian uint32

    /// Maps and parses the GGUF file at `path`.
    ///
    /// - Throws: `MappedFileError` if the file cannot be mapped, `GGUFError` if it is not a
    ///   well-formed GGUF v2/v3 file.
    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        var reader = GGUFByteReader(base: file.base, count: file.count, path: path)

        guard file.count >= 4, try reader.read(UInt32.self, "magic") == Self.magic else {
            throw GGUFError.badMagic(path: path)
        }
        let version = try reader.read(UInt32.self, "version")
        guard version == 2 || version == 3 else {
            // A big-endian writer stores small version numbers with the low bytes zero.
            if (1...3).contains(version.byteSwapped) { throw GGUFError.bigEndian(path: path) }
            throw GGUFError.unsupportedVersion(path: path, version: version)
        }
        self.version = version

        // Minimal encoded sizes: a tensor description is a string length, a dimension count, a
        // type and an offset; a metadata pair is a key length, a type and a one-byte value.
        let tensorCount = try reader.count(of: "tensor count", minimumBytesEach: 8 + 4 + 4 + 8)
        let keyCount = try reader.count(of: "metadata key count", minimumBytesEach: 8 + 4 + 1)

        var metadata: [String: GGUFValue] = [:]
        metadata.reserveCapacity(keyCount)
        for _ in 0..<keyCount {
            let key = try reader.string("metadata key")
            let typeID = try reader.read(UInt32.self, "type of metadata key \(key)")
            let value = try Self.readValue(typeID: typeID, key: key, depth: 0, reader: &reader)
            guard metadata.updateValue(value, forKey: key) == nil else {
                throw GGUFError.duplicateKey(path: path, key: key)
            }
        }
        self.metadata = metadata

        let alignment = try Self.alignment(metadata["general.alignment"], path: path)
        self.alignment = alignment

        var pending: [(name: String, type: GGMLType, ne: [Int], relativeOffset: Int)] = []
        pending.reserveCapacity(tensorCount)
        for _ in 0..<tensorCount {
            let name = try reader.string("tensor name")
            let dimCount = try reader.read(UInt32.self, "dimension count of tensor \(name)")
            guard dimCount <= 4 else {
                throw GGUFError.invalidTensor(path: path, tensor: name, reason: "has \(dimCount) dimensions (at most 4 allowed)")
            }
            var ne: [Int] = []
            for axis in 0..<Int(dimCount) {
                let raw = try reader.read(UInt64.self, "dimension \(axis) of tensor \(name)")
                guard let dim = Int(exactly: raw), dim > 0 else {
                    throw GGUFError.invalidTensor(path: path, tensor: name, reason: "has invalid dimension \(Int64(bitPattern: raw)) (ne[\(axis)])")
                }
                ne.append(dim)
            }
            let typeID = try reader.read(UInt32.self, "type of tensor \(name)")
            guard let type = GGMLType(rawValue: typeID) else {
                throw GGUFError.unknownTensorType(path: path, tensor: name, typeID: typeID)
            }
            let rawOffset = try reader.read(UInt64.self, "data offset of tensor \(name)")
            guard let relativeOffset = Int(exactly: rawOffset) else {
                throw GGUFError.invalidTensor(path: path, tensor: name, reason: "has data offset \(rawOffset) beyond the end of the file")
            }
            pending.append((name, type, ne, relativeOffset))
        }

        // Tensor data starts at the next multiple of the alignment after the descriptions.
        let (padded, overflow) = reader.offset.addingReportingOverflow(alignment - 1)
        let dataStart = overflow ? Int.max : padded / alignment * alignment

        var infos: [GGUFTensorInfo] = []
        var indexByName: [String: Int] = [:]
        infos.reserveCapacity(pending.count)
        indexByName.reserveCapacity(pending.count)
        for entry in pending {
            let info = try Self.locate(entry.name, entry.type, entry.ne, entry.relativeOffset, dataStart: dataStart,
                                       alignment: alignment, fileSize: file.count, path: path)
            guard indexByName.updateValue(infos.count, forKey: entry.name) == nil else {
                throw GGUFError.duplicateTensor(path: path, tensor: entry.name)
            }
            infos.append(info)
        }
        tensorInfos = infos
        self.indexByName = indexByName
    }

    /// Whether the file has a tensor called `name`.
    public func hasTensor(_ name: String) -> Bool {
        indexByName[name] != nil
    }

    /// The description of the tensor called `name`, or nil.
    public func tensorInfo(named name: String) -> GGUFTensorInfo? {
        indexByName[name].map { tensorInfos[$0] }
    }

    /// A view of the tensor called `name`, whose bytes live in the mapping.
    ///
    /// - Throws: `GGUFError.tensorNotFound`, or `GGUFError.unsupportedTensorType` if the tensor's
    ///   encoding is not one of `WeightType`'s.
    public func tensor(named name: String) throws -> TensorView {
        guard let index = indexByName[name] else { throw GGUFError.tensorNotFound(path: path, tensor: name) }
        let info = tensorInfos[index]
        guard let type = info.ggmlType.weightType else {
            throw GGUFError.unsupportedTensorType(path: path, tensor: name, type: info.ggmlType)
        }
        return TensorView(name: name, type: type, shape: info.shape, data: file.base + info.offset,
                          byteCount: info.byteCount, owner: file)
    }

    // MARK: - Parsing helpers

    private static func readValue(typeID: UInt32, key: String, depth: Int, reader: inout GGUFByteReader) throws -> GGUFValue {
        switch typeID {
        case 0: return .uint8(try reader.read(UInt8.self, "value of \(key)"))
        case 1: return .int8(try reader.read(Int8.self, "value of \(key)"))
        case 2: return .uint16(try reader.read(UInt16.self, "value of \(key)"))
        case 3: return .int16(try reader.read(Int16.self, "value of \(key)"))
        case 4: return .uint32(try reader.read(UInt32.self, "value of \(key)"))
        case 5: return .int32(try reader.read(Int32.self, "value of \(key)"))
        case 6: return .float32(Float(bitPattern: try reader.read(UInt32.self, "value of \(key)")))
        case 7:
            let at = reader.offset
            let byte = try reader.read(UInt8.self, "value of \(key)")
            guard byte <= 1 else {
                throw GGUFError.invalidMetadata(path: reader.path, key: key, reason: "has invalid bool byte \(byte) at byte \(at)")
            }
            return .bool(byte == 1)
        case 8: return .string(try reader.string("string value of \(key)"))
        case 9:
            guard depth < maxArrayDepth else {
                throw GGUFError.invalidMetadata(path: reader.path, key: key, reason: "has arrays nested deeper than \(maxArrayDepth) levels")
            }
            let elementType = try reader.read(UInt32.self, "array element type of \(key)")
            guard let elementSize = minimumEncodedSize(typeID: elementType) else {
                throw GGUFError.unknownValueType(path: reader.path, key: key, typeID: elementType)
            }
            let length = try reader.count(of: "array length of \(key)", minimumBytesEach: elementSize)
            var elements: [GGUFValue] = []
            elements.reserveCapacity(length)
            for _ in 0..<length {
                elements.append(try readValue(typeID: elementType, key: key, depth: depth + 1, reader: &reader))
            }
            return .array(elements)
        case 10: return .uint64(try reader.read(UInt64.self, "value of \(key)"))
        case 11: return .int64(try reader.read(Int64.self, "value of \(key)"))
        case 12: return .float64(Double(bitPattern: try reader.read(UInt64.self, "value of \(key)")))
        default: throw GGUFError.unknownValueType(path: reader.path, key: key, typeID: typeID)
        }
    }

    /// The fewest bytes a value of the given type can take (nil for an unknown type).
    private static func minimumEncodedSize(typeID: UInt32) -> Int? {
        switch typeID {
        case 0, 1, 7: return 1
        case 2, 3: return 2
        case 4, 5, 6: return 4
        case 8, 10, 11, 12: return 8
        case 9: return 4 + 8  // element type + length
        default: return nil
        }
    }

    private static func alignment(_ value: GGUFValue?, path: String) throws -> Int {
        guard let value else { return defaultAlignment }
        guard let alignment = value.int, alignment > 0, alignment & (alignment - 1) == 0 else {
            throw GGUFError.invalidMetadata(path: path, key: "general.alignment", reason: "must be a power-of-two integer, found \(value)")
        }
        return alignment
    }

    /// Validates one tensor's geometry and placement and computes its absolute extent.
    private static func locate(_ name: String, _ type: GGMLType, _ ne: [Int], _ relativeOffset: Int, dataStart: Int,
                               alignment: Int, fileSize: Int, path: String) throws -> GGUFTensorInfo {
        func invalid(_ reason: String) -> GGUFError { .invalidTensor(path: path, tensor: name, reason: reason) }

        let rowLength = ne.first ?? 1
        guard rowLength % type.blockSize == 0 else {
            throw invalid("has row length \(rowLength), not a multiple of the \(type.name) block size \(type.blockSize)")
        }
        var elements = 1
        for dim in ne {
            let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
            guard !overflow else { throw invalid("has too many elements (shape \(Array(ne.reversed())))") }
            elements = product
        }
        let (byteCount, sizeOverflow) = (elements / type.blockSize).multipliedReportingOverflow(by: type.blockBytes)
        guard !sizeOverflow else { throw invalid("is too large (shape \(Array(ne.reversed())))") }
        guard relativeOffset % alignment == 0 else {
            throw invalid("has data offset \(relativeOffset), not a multiple of the alignment \(alignment)")
        }
        let (start, startOverflow) = dataStart.addingReportingOverflow(relativeOffset)
        let (end, endOverflow) = start.addingReportingOverflow(byteCount)
        guard !startOverflow, !endOverflow, end <= fileSize else {
            throw invalid("data (\(byteCount) bytes at data offset \(relativeOffset)) extends past the end of the file (\(fileSize) bytes)")
        }
        return GGUFTensorInfo(name: name, ggmlType: type, shape: ne.reversed(), offset: start, byteCount: byteCount)
    }
}
