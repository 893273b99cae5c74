import Foundation
import Testing

/// Where test inputs live: committed fixtures, and the real SmolLM2 model fetched by scripts/test.sh.
enum TestResources {
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func fixture(_ relativePath: String) -> String {
        fixtures.appendingPathComponent(relativePath).path
    }

    /// The real model: `DMS_SMOLLM2_GGUF` or the fetch script's default cache location.
    static let smolLM2Path: String = ProcessInfo.processInfo.environment["DMS_SMOLLM2_GGUF"]
        ?? FileManager.default.homeDirectoryForCurrentUser
            .appendingPathComponent(".cache/swift-dms/SmolLM2-135M-Instruct.Q4_1.gguf").path

    /// Real-model tests run when the file exists; with `DMS_REQUIRE_MODEL=1` (scripts/test.sh)
    /// they run regardless, so a missing model fails instead of skipping.
    static var smolLM2Available: Bool {
        FileManager.default.fileExists(atPath: smolLM2Path)
            || ProcessInfo.processInfo.environment["DMS_REQUIRE_MODEL"] == "1"
    }

    static func json(_ relativePath: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent(relativePath)))
    }

    /// A raw little-endian f32 file.
    static func floats(_ relativePath: String) throws -> [Float] {
        let data = try Data(contentsOf: fixtures.appendingPathComponent(relativePath))
        return data.withUnsafeBytes { raw in
            (0..<data.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }

    /// max |a - b| / max |b|: the relative error used against reference logits.
    static func relativeError(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count)
        var worst: Float = 0, scale: Float = 0
        for (x, y) in zip(a, b) {
            worst = max(worst, abs(x - y))
            scale = max(scale, abs(y))
        }
        return worst / max(scale, 1e-30)
    }
}
