import DMSKit
import Foundation

/// Everything needed to continue a retrofit exactly where it stopped: the adapter, the AdamW
/// moments, the number of steps taken, and what the run was (settings, data, model), stored as
/// one safetensors file written atomically.
public struct RetrofitCheckpoint: Sendable, Equatable {
    public var step: Int
    public var elapsedSeconds: Double
    public var settings: RetrofitSettings
    public var dataFingerprint: UInt64
    /// The adapter's flat values (``AdapterParameters/values``).
    public var parameters: [Float]
    public var optimizer: AdamW

    enum Key {
        static let step = "retrofit.step"
        static let elapsed = "retrofit.elapsed_seconds"
        static let settings = "retrofit.settings"
        static let fingerprint = "retrofit.data_fingerprint"
        static let parameters = "parameters", firstMoment = "adamw.first_moment", secondMoment = "adamw.second_moment"
    }

    public func write(to path: String) throws {
        let settingsJSON = String(decoding: try JSONEncoder().encode(settings), as: UTF8.self)
        var file = SafetensorsWriter(metadata: [
            Key.step: "\(step)", Key.elapsed: "\(elapsedSeconds)", Key.settings: settingsJSON,
            Key.fingerprint: "\(dataFingerprint)",
        ])
        file.add(Key.parameters, shape: [parameters.count], values: parameters)
        file.add(Key.firstMoment, shape: [parameters.count], values: optimizer.firstMoment)
        file.add(Key.secondMoment, shape: [parameters.count], values: optimizer.secondMoment)
        try file.write(to: path)
    }

    public init(step: Int, elapsedSeconds: Double, settings: RetrofitSettings, dataFingerprint: UInt64,
                parameters: [Float], optimizer: AdamW) {
        self.step = step
        self.elapsedSeconds = elapsedSeconds
        self.settings = settings
        self.dataFingerprint = dataFingerprint
        self.parameters = parameters
        self.optimizer = optimizer
    }

    public init(path: String) throws {
        let file: SafetensorsFile
        do { file = try SafetensorsFile(path: path) } catch { throw RetrofitError.invalidCheckpoint("\(path): \(error)") }
        let meta = file.metadata
        func value(_ key: String) throws -> String {
            guard let v = meta[key] else { throw RetrofitError.invalidCheckpoint("\(path): metadata \(key) is missing") }
            return v
        }
        guard let step = Int(try value(Key.step)), step >= 0,
              let elapsed = Double(try value(Key.elapsed)),
              let fingerprint = UInt64(try value(Key.fingerprint)) else {
            throw RetrofitError.invalidCheckpoint("\(path): malformed step, time or data fingerprint")
        }
        let settings: RetrofitSettings
        do { settings = try JSONDecoder().decode(RetrofitSettings.self, from: Data(try value(Key.settings).utf8)) } catch {
            throw RetrofitError.invalidCheckpoint("\(path): malformed settings")
        }
        guard file.hasTensor(Key.parameters), let shape = try? file.tensor(named: Key.parameters).shape, shape.count == 1 else {
            throw RetrofitError.invalidCheckpoint("\(path): tensor \(Key.parameters) is missing")
        }
        let count = shape[0]
        func vector(_ name: String) throws -> [Float] {
            guard file.hasTensor(name), let tensor = try? file.tensor(named: name),
                  tensor.shape == [count], tensor.type == .f32 else {
                throw RetrofitError.invalidCheckpoint("\(path): tensor \(name) is missing or has the wrong shape")
            }
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                memcpy(buffer.baseAddress!, tensor.data, count * 4)  // the data may sit at any alignment
                initialized = count
            }
        }
        let parameters = try vector(Key.parameters)
        var optimizer = AdamW(count: count, learningRate: settings.learningRate, beta1: settings.beta1,
                              beta2: settings.beta2, weightDecay: settings.weightDecay, gradientClip: settings.gradientClip)
        optimizer.firstMoment = try vector(Key.firstMoment)
        optimizer.secondMoment = try vector(Key.secondMoment)
        optimizer.updates = step
        self.init(step: step, elapsedSeconds: elapsed, settings: settings, dataFingerprint: fingerprint,
                  parameters: parameters, optimizer: optimizer)
    }
}
