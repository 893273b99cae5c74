import DMSKit
@testable import DMSRetrofit
import Foundation
import Testing

/// Calibration moves an adapter to a target ratio: the threshold found reaches it, a slightly
/// higher one does not, and the adapter with the threshold folded into its offset behaves the
/// same at threshold 0.
@Suite struct AdapterCalibrationTests {
    static func calibration(window: Int) throws -> AdapterCalibration {
        let fixtures = RetrofitGradientTests.fixtures
        let loaded = try LoadedModel(path: fixtures.appendingPathComponent("tiny-qwen3").path, threads: 1)
        let adapter = try DMSAdapter(path: fixtures.appendingPathComponent("dms/tiny-qwen3.adapter.safetensors").path,
                                     for: loaded.configuration)
        let vocabulary = loaded.configuration.vocabularySize
        let sequences = (0..<2).map { RetrofitGradientTests.ids(96, vocabulary: vocabulary, seed: UInt64(40 + $0)) }
        var calibration = try AdapterCalibration(loaded: loaded, adapter: adapter, window: window, sequences: sequences)
        calibration.chunk = 32
        return calibration
    }

    @Test(arguments: [4, 8])
    func theThresholdFoundReachesTheTarget(window: Int) throws {
        let calibration = try Self.calibration(window: window)
        let lowest = try calibration.ratio(threshold: -50), highest = try calibration.ratio(threshold: 50)
        #expect(lowest > highest, "the ratio falls as the threshold rises")
        let target = (lowest + highest) / 2
        var probes: [AdapterCalibration.Probe] = []
        let found = try calibration.threshold(reaching: target, iterations: 16) { probes.append($0) }
        #expect(probes.count == 18)
        #expect(found.ratio >= target)
        #expect(try calibration.ratio(threshold: found.threshold + 0.01) < target)

        let calibrated = calibration.calibratedAdapter(found, description: "random ids")
        #expect(calibrated.parameters.window == window)
        #expect(calibrated.parameters.offset == calibration.adapter.parameters.offset + found.threshold)
        #expect(calibrated.metadata["dms.calibration.ratio"] == "\(found.ratio)")
        let moved = try AdapterCalibration(loaded: calibration.loaded, adapter: calibrated, window: window,
                                           sequences: calibration.sequences)
        #expect(abs(try moved.ratio(threshold: 0) - found.ratio) < 1e-9)
    }

    @Test func anUnreachableRatioIsAClearError() throws {
        let calibration = try Self.calibration(window: 4)
        #expect(throws: RetrofitError.self) { try calibration.threshold(reaching: 1000) }
        #expect(throws: RetrofitError.self) {
            try AdapterCalibration(loaded: calibration.loaded, adapter: calibration.adapter, window: 200, sequences: calibration.sequences)
        }
    }
}
