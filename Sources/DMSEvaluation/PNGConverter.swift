import Foundation

/// An SVG-to-PNG converter run as a separate program (`rsvg-convert`), for PNG copies of the
/// report's plots where one is installed.
public struct PNGConverter: Sendable, Equatable {
    /// The program; it is called as `program FILE.svg` and writes the PNG to standard output.
    public var executable: URL

    public init(executable: URL) {
        self.executable = executable
    }

    /// `rsvg-convert` from a directory of `PATH`, or nil when none has it.
    public static func onPath(_ path: String? = ProcessInfo.processInfo.environment["PATH"]) -> PNGConverter? {
        let directories = (path ?? "").split(separator: ":").map(String.init)
        return directories.lazy
            .map { URL(fileURLWithPath: $0).appendingPathComponent("rsvg-convert") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
            .map(PNGConverter.init(executable:))
    }

    /// Renders `svg` into `png`; false (and no `png` left behind) when the program fails.
    public func convert(_ svg: URL, to png: URL) -> Bool {
        guard FileManager.default.createFile(atPath: png.path, contents: nil),
              let output = try? FileHandle(forWritingTo: png) else { return false }
        let process = Process()
        process.executableURL = executable
        process.arguments = [svg.path]
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let succeeded: Bool
        do {
            try process.run()
            process.waitUntilExit()
            succeeded = process.terminationReason == .exit && process.terminationStatus == 0
        } catch {
            succeeded = false
        }
        try? output.close()
        if !succeeded { try? FileManager.default.removeItem(at: png) }
        return succeeded
    }
}
