import Foundation

/// The weights of a Hugging Face model directory behind one lookup: either a single
/// `model.safetensors` or the shards listed by `model.safetensors.index.json`.
public final class SafetensorsModelFiles: @unchecked Sendable {
    /// The model directory.
    public let directory: String
    /// The opened files (one, or each shard once, in name order).
    public let files: [SafetensorsFile]

    private let fileIndexByTensor: [String: Int]

    /// The name of an unsharded weights file.
    public static let singleFileName = "model.safetensors"
    /// The name of the index that maps tensor names to shard files.
    public static let indexFileName = "model.safetensors.index.json"

    /// Opens the weights in `directory`, preferring `model.safetensors` when both it and an
    /// index exist.
    ///
    /// - Throws: `SafetensorsError.noModelFiles` if neither exists, `SafetensorsError` for a bad
    ///   index, a missing shard or a tensor its shard lacks, and whatever opening a file throws.
    public init(directory: String) throws {
        self.directory = directory
        let directoryURL = URL(fileURLWithPath: directory, isDirectory: true)
        let singlePath = directoryURL.appendingPathComponent(Self.singleFileName).path
        let indexPath = directoryURL.appendingPathComponent(Self.indexFileName).path
        let manager = FileManager.default

        if manager.fileExists(atPath: singlePath) {
            let file = try SafetensorsFile(path: singlePath)
            files = [file]
            fileIndexByTensor = Dictionary(uniqueKeysWithValues: file.tensorInfos.map { ($0.name, 0) })
            return
        }
        guard manager.fileExists(atPath: indexPath) else { throw SafetensorsError.noModelFiles(directory: directory) }

        let weightMap = try Self.readWeightMap(indexPath: indexPath)
        let shardNames = Array(Set(weightMap.values)).sorted()
        var files: [SafetensorsFile] = []
        for shard in shardNames {
            let shardPath = directoryURL.appendingPathComponent(shard).path
            guard manager.fileExists(atPath: shardPath) else {
                throw SafetensorsError.missingShard(indexPath: indexPath, shard: shard)
            }
            files.append(try SafetensorsFile(path: shardPath))
        }
        let fileIndexByShard = Dictionary(uniqueKeysWithValues: shardNames.enumerated().map { ($1, $0) })
        var fileIndexByTensor: [String: Int] = [:]
        fileIndexByTensor.reserveCapacity(weightMap.count)
        for (tensor, shard) in weightMap {
            let fileIndex = fileIndexByShard[shard]!
            guard files[fileIndex].hasTensor(tensor) else {
                throw SafetensorsError.tensorMissingFromShard(indexPath: indexPath, tensor: tensor, shard: shard)
            }
            fileIndexByTensor[tensor] = fileIndex
        }
        self.files = files
        self.fileIndexByTensor = fileIndexByTensor
    }

    /// All tensor names, sorted.
    public var tensorNames: [String] { fileIndexByTensor.keys.sorted() }

    /// Whether the model has a tensor called `name`.
    public func hasTensor(_ name: String) -> Bool {
        fileIndexByTensor[name] != nil
    }

    /// The description of the tensor called `name`, or nil.
    public func tensorInfo(named name: String) -> SafetensorsTensorInfo? {
        fileIndexByTensor[name].flatMap { files[$0].tensorInfo(named: name) }
    }

    /// A view of the tensor called `name`, from whichever file holds it.
    public func tensor(named name: String) throws -> TensorView {
        guard let fileIndex = fileIndexByTensor[name] else {
            throw SafetensorsError.tensorNotFound(path: directory, tensor: name)
        }
        return try files[fileIndex].tensor(named: name)
    }

    /// Reads the `weight_map` (tensor name → shard file name) of an index file.
    private static func readWeightMap(indexPath: String) throws -> [String: String] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: indexPath))
        } catch {
            throw SafetensorsError.invalidIndex(path: indexPath, reason: "cannot read: \(error.localizedDescription)")
        }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw SafetensorsError.invalidIndex(path: indexPath, reason: "not valid JSON")
        }
        guard let object = json as? [String: Any], let rawMap = object["weight_map"] as? [String: Any] else {
            throw SafetensorsError.invalidIndex(path: indexPath, reason: "no weight_map object")
        }
        var weightMap: [String: String] = [:]
        for (tensor, value) in rawMap {
            guard let shard = value as? String, !shard.isEmpty else {
                throw SafetensorsError.invalidIndex(path: indexPath, reason: "weight_map entry \(tensor) is not a file name")
            }
            weightMap[tensor] = shard
        }
        return weightMap
    }
}
