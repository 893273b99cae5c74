import DMSEvaluation
import Testing

@Suite("Evaluation plots and findings")
struct EvaluationPlotsTests {
    static let plots = EvaluationPlots(records: ReportFixtures.records)

    @Test func oneReadsAndOneMemoryPlotPerQualityGroupAndOneLatencyPlot() {
        #expect(Self.plots.all.map(\.fileName) == [
            "passkey-4096-reads.svg", "passkey-4096-memory.svg", "passkey-8192-reads.svg", "passkey-8192-memory.svg",
            "kl-4096-reads.svg", "kl-4096-memory.svg", "latency.svg",
        ])
    }

    @Test func qualityAgainstReadsHasALinePerPolicyLabelledWithRatios() throws {
        let group = try #require(EvaluationGroup.groups(of: ReportFixtures.records).first { $0.task == "kl" })
        let reads = try #require(Self.plots.plots(for: group).first).chart
        #expect(reads.series.map(\.name) == ["full", "streaming", "h2o"])
        #expect(reads.yAxis.title == "kl_nats_per_token (lower is better)")
        #expect(reads.xAxis.scale == .logarithmic(base: 10))
        let h2o = reads.series[2].points
        #expect(h2o.map(\.label) == ["×4.0", "×2.0"])
        #expect(h2o.map(\.x) == h2o.map(\.x).sorted())
        #expect(h2o.map(\.y) == [0.4, 0.2])
        #expect(reads.series[0].points.count == 1)
    }

    @Test func aPolicyKeepsItsColourInEveryPlot() {
        for plot in Self.plots.all {
            let indices = Dictionary(uniqueKeysWithValues: plot.chart.series.map { ($0.name, $0.paletteIndex) })
            #expect(indices["full"] == 0, "\(plot.fileName)")
            if let streaming = indices["streaming"] { #expect(streaming == 2, "\(plot.fileName)") }
        }
    }

    @Test func aBaselineAtAFixedBudgetIsADashedLineOfItsOwnInItsPolicysColour() throws {
        var fixed = ReportFixtures.record(task: "kl", policy: "h2o", ratio: 4, requested: 4, value: 0.3,
                                          setting: "ratio 4, fixed budget")
        fixed.baselineBudget = .fixed
        let records = ReportFixtures.records + [fixed]
        let group = try #require(EvaluationGroup.groups(of: records).first { $0.task == "kl" })
        let chart = try #require(EvaluationPlots(records: records).plots(for: group).last).chart
        #expect(chart.series.map(\.name) == ["full", "streaming", "h2o", "h2o (fixed budget)"])
        #expect(chart.series.map(\.dashed) == [false, false, false, true])
        #expect(chart.series[3].paletteIndex == chart.series[2].paletteIndex)
        #expect(chart.series[2].points.count == 2 && chart.series[3].points.map(\.y) == [0.3])
        #expect(chart.svg.components(separatedBy: "stroke-dasharray").count == 3, "the line and its legend sample")
        #expect(EvaluationFindings.summary(of: group).contains("×4.0 h2o (ratio 4, fixed budget) 0.3, then h2o (ratio 4.0) 0.4"))
    }

    @Test func latencyAgainstContextLength() throws {
        let chart = try #require(Self.plots.latencyPlot).chart
        #expect(chart.series.map(\.name) == ["full", "dms"])
        #expect(chart.series[0].points.map(\.x) == [4096, 8192])
        #expect(chart.series[1].points.map(\.y) == [1.024, 2.048])
        #expect(chart.yAxis.title.contains("lower is better"))
        #expect(EvaluationPlots(records: ReportFixtures.records.filter { $0.task != "latency" }).latencyPlot == nil)
    }

    @Test func findingsRankPoliciesAtEachRatio() throws {
        let groups = EvaluationGroup.groups(of: ReportFixtures.records)
        #expect(groups.map { "\($0.task) \($0.length)" } == ["passkey 4096", "passkey 8192", "kl 4096", "latency 4096", "latency 8192"])
        let passkey = EvaluationFindings.summary(of: groups[0])
        #expect(passkey == "Best accuracy (higher is better) overall: full 1 (×1.0). "
            + "At each ratio: ×1.0 full 1; ×7.8 dms 0.95, then tova 0.85, streaming 0.6.")
        let kl = EvaluationFindings.summary(of: groups[2])
        #expect(kl.contains("×2.0 h2o 0.2, then streaming 0.4; ×4.0 h2o 0.4, then streaming 0.8"), "\(kl)")
        #expect(EvaluationFindings.summary(of: groups[3]).hasPrefix("Best decode_latency_ms (lower is better) overall: dms 1.024 (×7.8)."))
    }
}
