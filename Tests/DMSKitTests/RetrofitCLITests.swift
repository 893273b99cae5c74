import DMSKit
import Foundation
import Testing

/// `dms retrofit` end to end on the tiny fixture: files written, Ctrl-C then --resume, bad input.
@Suite("dms retrofit", .serialized)
struct RetrofitCLITests {
    static let model = TestResources.fixture("tiny-llama")

    /// A text long enough for a few sequences of 64 tokens with the tiny tokenizer.
    static func textFile(in dir: URL) throws -> String {
        let path = dir.appendingPathComponent("train.txt").path
        let text = (0..<400).map { "Line \($0): the quick brown fox jumps over the lazy dog." }.joined(separator: "\n")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func arguments(_ dir: URL, steps: Int, extra: [String] = []) throws -> [String] {
        ["retrofit", "--model", model, "--data", try textFile(in: dir), "--out", dir.appendingPathComponent("a.safetensors").path,
         "--seq-len", "64", "--window", "4", "--sinks", "2", "--steps", "\(steps)", "--target-cr", "1.5", "--final-cr", "3",
         "--lr", "1e-3", "--checkpoint-every", "2", "--threads", "1"] + extra
    }

    /// The log's lines, each checked for the fields every step reports.
    static func loggedRecords(_ dir: URL) throws -> [[String: Any]] {
        let log = try String(contentsOf: dir.appendingPathComponent("a.safetensors.log.jsonl"), encoding: .utf8)
        return try log.split(separator: "\n").map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            for key in ["loss", "kl", "target_ratio", "evicted_fraction", "gradient_norm", "seconds"] {
                #expect(object[key] is Double, "missing \(key)")
            }
            return object
        }
    }

    static func loggedSteps(_ dir: URL) throws -> [Int] {
        try loggedRecords(dir).map { try #require($0["step"] as? Int) }
    }

    static func loggedTargetRatios(_ dir: URL) throws -> [Double] {
        try loggedRecords(dir).map { try #require($0["target_ratio"] as? Double) }
    }

    @Test func trainsWritesAdapterAndLog() throws {
        let dir = try CLITests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let outcome = try CLITests.run(try Self.arguments(dir, steps: 5, extra: ["--hold-steps", "2", "--snapshot-cr", "1.2",
                                                                                     "--kl", "teacher-student"]))
        #expect(outcome.status == 0, "stderr: \(outcome.error)")
        #expect(try Self.loggedSteps(dir) == [1, 2, 3, 4, 5])
        // the ramp reaches --target-cr 1.5 at step 3 and holds it; 1.2 is first reached at step 2
        #expect(try Self.loggedTargetRatios(dir).suffix(3) == [1.5, 1.5, 1.5])
        let adapter = dir.appendingPathComponent("a.safetensors").path
        #expect(FileManager.default.fileExists(atPath: adapter))
        let snapshot = dir.appendingPathComponent("a.cr1.2.safetensors").path
        let snapshotMetadata = try String(contentsOfFile: snapshot, encoding: .isoLatin1)
        #expect(snapshotMetadata.contains("\"dms.training.steps\":\"2\""), "the snapshot is the adapter after step 2")
        #expect(snapshotMetadata.contains("\"dms.training.kl\":\"teacher-student\""))
        #expect(!FileManager.default.fileExists(atPath: adapter + ".checkpoint"), "a finished run removes its checkpoint")
        // the adapter drives DMS generation on the model it was trained for
        let generate = try CLITests.run(["generate", "--model", Self.model, "--adapter", adapter, "--prompt", "the quick",
                                         "--max-tokens", "4", "--json"])
        #expect(generate.status == 0, "stderr: \(generate.error)")
        #expect(generate.output.contains("\"policy\":\"dms\""))
    }

    /// An adapter whose threshold `dms calibrate` folded into its offset trains on with that offset.
    @Test func startsFromAnAdapterWithAMovedOffset() throws {
        let dir = try CLITests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = try CLITests.run(try Self.arguments(dir, steps: 1))
        #expect(first.status == 0, "stderr: \(first.error)")
        let configuration = try LoadedModel(path: Self.model, threads: 1).configuration
        var moved = try DMSAdapter(path: dir.appendingPathComponent("a.safetensors").path, for: configuration)
        let p = moved.parameters
        moved.parameters = DMSParameters(window: p.window, alphaScale: p.alphaScale, offset: p.offset - 1.5,
                                         trainedRatio: p.trainedRatio, sinks: p.sinks)
        let movedPath = dir.appendingPathComponent("moved.safetensors").path
        try moved.write(to: movedPath, configuration: configuration)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("a.safetensors.log.jsonl"))

        let next = try CLITests.run(try Self.arguments(dir, steps: 1, extra: ["--init", movedPath]))
        #expect(next.status == 0, "stderr: \(next.error)")
        let trained = try DMSAdapter(path: dir.appendingPathComponent("a.safetensors").path, for: configuration)
        #expect(trained.parameters.offset == p.offset - 1.5)
        #expect(trained.metadata["dms.training.initial_adapter"] == "moved.safetensors")
    }

    @Test func interruptThenResume() throws {
        let dir = try CLITests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let steps = 100_000
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(CLITests.binary))
        process.arguments = try Self.arguments(dir, steps: steps)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let log = dir.appendingPathComponent("a.safetensors.log.jsonl").path
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: log, encoding: .utf8), text.split(separator: "\n").count >= 5 { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        process.interrupt()  // SIGINT, as Ctrl-C
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        let stopped = try Self.loggedSteps(dir)
        #expect(stopped.count >= 5 && stopped == Array(1...stopped.count))
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("a.safetensors.checkpoint").path))

        // without --resume an existing checkpoint is not silently overwritten
        try CLITests.expectCleanFailure(try Self.arguments(dir, steps: steps), mentions: "--resume")
        // resuming with other settings is refused
        try CLITests.expectCleanFailure(try Self.arguments(dir, steps: steps, extra: ["--window", "5", "--resume"]),
                                        mentions: "settings")
        let finish = stopped.count + 3
        // the schedule depends on --steps, so finishing early means the same --steps; stop again after 3 more
        let resumed = Process()
        resumed.executableURL = process.executableURL
        resumed.arguments = try Self.arguments(dir, steps: steps, extra: ["--resume"])
        resumed.standardOutput = FileHandle.nullDevice
        resumed.standardError = FileHandle.nullDevice
        try resumed.run()
        while Date() < deadline.addingTimeInterval(60) {
            if let text = try? String(contentsOfFile: log, encoding: .utf8), text.split(separator: "\n").count >= finish { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        resumed.interrupt()
        resumed.waitUntilExit()
        #expect(resumed.terminationStatus == 130)
        let all = try Self.loggedSteps(dir)
        #expect(all == Array(1...all.count), "steps continue without gaps or repeats: \(all)")
        #expect(all.count >= finish)
    }

    @Test func badInput() throws {
        let dir = try CLITests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("x.safetensors").path
        let text = try Self.textFile(in: dir)
        try CLITests.expectCleanFailure(["retrofit", "--model", Self.model, "--data", dir.appendingPathComponent("missing.txt").path,
                                         "--out", out, "--seq-len", "64", "--window", "4"], mentions: "missing.txt")
        try CLITests.expectCleanFailure(["retrofit", "--model", Self.model, "--data", text, "--out", out,
                                         "--seq-len", "8", "--window", "16"], mentions: "window")
        try CLITests.expectCleanFailure(["retrofit", "--model", Self.model, "--data", text, "--out", out,
                                         "--seq-len", "100000", "--window", "16"], mentions: "tokens")
        try CLITests.expectCleanFailure(["retrofit", "--model", Self.model, "--data", text, "--out", out,
                                         "--seq-len", "64", "--window", "4", "--resume"], mentions: "no checkpoint")
        try CLITests.expectCleanFailure(["retrofit", "--model", Self.model, "--data", text, "--out", out,
                                         "--lr", "-1"], mentions: "learning rate")
        try CLITests.expectCleanFailure(["retrofit", "--model", Self.model, "--data", text, "--out", out,
                                         "--target-cr", "8", "--final-cr", "4"], mentions: "final ratio")
        try CLITests.expectCleanFailure(["retrofit", "--model", Self.model, "--data", text, "--seq-len", "64", "--window", "4",
                                         "--out", dir.appendingPathComponent("no/such/dir/a.safetensors").path],
                                        mentions: "does not exist")
    }
}
