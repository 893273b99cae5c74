import DMSEvaluation
import DMSKit
import Foundation
import Testing

@Suite("passkey and variable-tracking prompts and scoring")
struct PasskeyTaskTests {
    static func task() throws -> (PasskeyTask, Tokenizer) {
        let model = try EvaluationFixtures.dmsModel()
        let filler = try FillerText(text: EvaluationFixtures.prose, tokenizer: model.tokenizer, maxTokens: 240)
        return (PasskeyTask(filler: filler, tokenizer: model.tokenizer), model.tokenizer)
    }

    @Test func promptsHaveTheLengthTheKeyAndSpreadDepths() throws {
        let (task, tokenizer) = try Self.task()
        let samples = try task.samples(length: 240, count: 4, seed: 3)
        #expect(samples.count == 4)
        for sample in samples {
            #expect(sample.prompt.count == 240)
            let key = try #require(sample.expected.first)
            #expect(key.count == 5 && Int(key) != nil)
            let text = tokenizer.decode(sample.prompt)
            #expect(text.contains("The pass key is \(key). Remember it."))
            #expect(text.hasSuffix("What is the pass key? The pass key is"))
        }
        let depths = samples.map(\.depth)
        #expect(depths == depths.sorted() && depths.first! < 0.5 && depths.last! > 0.5, "\(depths)")
    }

    @Test func variableTrackingPlantsTheWholeChainInOrder() throws {
        let model = try EvaluationFixtures.dmsModel()
        let filler = try FillerText(text: EvaluationFixtures.prose, tokenizer: model.tokenizer, maxTokens: 480)
        let task = VariableTrackingTask(filler: filler, tokenizer: model.tokenizer, chainLength: 3)
        for sample in try task.samples(length: 480, count: 2, seed: 1) {
            #expect(sample.prompt.count == 480)
            #expect(sample.expected.count == 3 && Set(sample.expected).count == 3)
            let text = model.tokenizer.decode(sample.prompt)
            let names = sample.expected
            let first = try #require(text.range(of: "VAR \(names[0]) = "))
            let second = try #require(text.range(of: "VAR \(names[1]) = VAR \(names[0])."))
            let third = try #require(text.range(of: "VAR \(names[2]) = VAR \(names[1])."))
            #expect(first.lowerBound < second.lowerBound && second.lowerBound < third.lowerBound)
            #expect(text.hasSuffix("they are:"))
        }
    }

    @Test func promptsAreDeterministicInTheSeed() throws {
        let (task, _) = try Self.task()
        #expect(try task.samples(length: 240, count: 3, seed: 9) == task.samples(length: 240, count: 3, seed: 9))
        #expect(try task.samples(length: 240, count: 3, seed: 9).map(\.expected) != task.samples(length: 240, count: 3, seed: 10).map(\.expected))
    }

    @Test func aLengthsPromptsDoNotDependOnTheOtherLengthsOfTheRun() throws {
        // The fixture with a 4096-token context, so lengths can differ enough to matter.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("long-context-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: EvaluationFixtures.fixture("dms/tiny-qwen3-dms")), to: directory)
        defer { try? FileManager.default.removeItem(at: directory) }
        let configURL = directory.appendingPathComponent("config.json")
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        config["max_position_embeddings"] = 4096
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        let model = try LoadedModel(path: directory.path, threads: 1)
        let text = String(repeating: EvaluationFixtures.prose + "\n\n", count: 8)
        func prompts(_ lengths: [Int]) throws -> [RetrievalSample] {
            var configuration = TaskEvaluator.Configuration()
            configuration.lengths = lengths
            configuration.samples = 3
            return try TaskEvaluator(model: model, text: text, configuration: configuration).samples(length: 400)
        }
        #expect(try prompts([400]) == prompts([400, 800]))
    }

    @Test func fillerLeavesOutIndentedCodeBlocks() {
        let text = "Python is easy.\n\n   >>> 2 + 2\n   4\n\tx = 48213\n\n\nIt reads well.\n  Two spaces stay.\n"
        #expect(FillerText.prose(of: text) == "Python is easy.\n\nIt reads well.\n  Two spaces stay.\n")
    }

    @Test func tooShortALengthIsAClearError() throws {
        let (task, _) = try Self.task()
        #expect(throws: EvaluationError.self) { try task.samples(length: 40, count: 1, seed: 0) }
    }

    @Test func scoringMatchesWholeWords() {
        let sample = RetrievalSample(prompt: [], expected: ["48213"], depth: 0.5)
        #expect(sample.score(answer: " 48213. Remember it.") == 1)
        #expect(sample.score(answer: " 482130") == 0)
        #expect(sample.score(answer: " 4821") == 0)
        let variables = RetrievalSample(prompt: [], expected: ["ABC", "DEF"], depth: 0.5)
        #expect(variables.score(answer: "ABC, XYZ") == 0.5)
    }

    @Test func everySettingGetsARecordWithItsCosts() throws {
        let model = try EvaluationFixtures.dmsModel()
        var configuration = TaskEvaluator.Configuration()
        configuration.lengths = [200, 248]
        configuration.samples = 2
        let evaluator = try TaskEvaluator(model: model, text: EvaluationFixtures.prose, configuration: configuration)
        let settings = [
            TaskSetting(options: PolicyUnderTest(policy: .full).cacheOptions, label: ""),
            TaskSetting(options: PolicyUnderTest(policy: .dms).cacheOptions, label: "dms"),
            TaskSetting(options: PolicyUnderTest(policy: .streaming, ratio: 4).cacheOptions, label: "ratio 4"),
        ]
        var records: [EvaluationRecord] = []
        try evaluator.run(settings: settings, record: { records.append($0) })
        #expect(records.map(\.length) == [200, 200, 200, 248, 248, 248])
        #expect(records.map(\.policy) == ["full", "dms", "streaming", "full", "dms", "streaming"])
        for record in records {
            #expect((0...1).contains(record.value) && record.metric == "accuracy" && record.samples == 2)
            #expect(record.tokenReads > 0 && record.peakKVTokens > 0 && record.peakKVBytes > 0)
            let p50 = try #require(record.decodeLatencyP50Milliseconds), p99 = try #require(record.decodeLatencyP99Milliseconds)
            #expect(p50 > 0 && p99 >= p50)
        }
        let full = records[0], streaming = records[2]
        #expect(full.compressionRatio == 1)
        #expect(abs(streaming.compressionRatio - 4) < 0.1 && streaming.requestedRatio == 4)
        // 8 decode steps each read what is resident: the budget cuts reads by about the ratio
        #expect(streaming.tokenReads < full.tokenReads / 3)
    }

    /// With a fixed budget a baseline keeps `length / R` tokens from the start: it ends at the same
    /// ratio as with a proportional one, but holds its whole budget through every decode step, so
    /// it reads more.
    @Test func fixedBaselineBudgetKeepsLengthOverRatio() throws {
        let model = try EvaluationFixtures.dmsModel()
        let setting = TaskSetting(options: PolicyUnderTest(policy: .streaming, ratio: 4).cacheOptions, label: "ratio 4")
        func records(_ budget: BaselineBudget) throws -> [EvaluationRecord] {
            var configuration = TaskEvaluator.Configuration()
            configuration.lengths = [200, 248]
            configuration.samples = 1
            configuration.baselineBudget = budget
            let evaluator = try TaskEvaluator(model: model, text: EvaluationFixtures.prose, configuration: configuration)
            var records: [EvaluationRecord] = []
            try evaluator.run(settings: [setting], record: { records.append($0) })
            return records
        }
        let fixed = try records(.fixed), proportional = try records(.proportional)
        try #require(fixed.count == 2 && proportional.count == 2)
        for (fixed, proportional) in zip(fixed, proportional) {
            #expect(fixed.setting == "ratio 4, fixed budget" && proportional.setting == "ratio 4")
            #expect(fixed.baselineBudget == .fixed && proportional.baselineBudget == .proportional)
            #expect(fixed.series == "streaming (fixed budget)" && proportional.series == "streaming")
            #expect(fixed.requestedRatio == 4 && abs(fixed.compressionRatio - 4) < 0.05)
            #expect(fixed.peakKVTokens == proportional.peakKVTokens)
            #expect(fixed.tokenReads > proportional.tokenReads)
        }
    }
}
