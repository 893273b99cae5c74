import DMSEvaluation
import Foundation
import Testing

@Suite("Chart axes: ticks and labels")
struct ChartAxisTests {
    /// Ticks ascend, lie within the bounds, and are few enough to read.
    static func expectSane(_ layout: AxisLayout, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(layout.ticks.count >= 2 && layout.ticks.count <= 8, "\(layout.ticks)", sourceLocation: sourceLocation)
        #expect(layout.ticks == layout.ticks.sorted(), sourceLocation: sourceLocation)
        #expect(layout.ticks.allSatisfy { $0 >= layout.lowerBound * (1 - 1e-9) && $0 <= layout.upperBound * (1 + 1e-9) },
                "\(layout)", sourceLocation: sourceLocation)
    }

    @Test func logarithmicTicksArePowersOfTenWithShortLabels() {
        let axis = ChartAxis(title: "reads", scale: .logarithmic(base: 10), style: .count)
        let layout = axis.layout(spanning: [3_000, 2_000_000])
        Self.expectSane(layout)
        #expect(layout.ticks == [1e4, 1e5, 1e6])
        #expect(layout.ticks.map(axis.style.label(for:)) == ["10K", "100K", "1M"])
        #expect(abs(layout.fraction(of: layout.lowerBound)) < 1e-12 && abs(layout.fraction(of: layout.upperBound) - 1) < 1e-12)
    }

    @Test func logarithmicTicksStayFewAndSaneOverAnyRange() {
        let axis = ChartAxis(title: "reads", scale: .logarithmic(base: 10), style: .count)
        for range in [[1, 1e15], [2e5, 3e5], [123_456, 123_456], [0.001, 0.002], [5e2, 5e4]] {
            Self.expectSane(axis.layout(spanning: range))
        }
        let wide = axis.layout(spanning: [1, 1e15])
        #expect(wide.ticks.allSatisfy { log10($0).rounded() == log10($0) }, "\(wide.ticks)")
        #expect(axis.layout(spanning: [2e5, 3e5]).ticks.map(axis.style.label(for:)).allSatisfy { $0.hasSuffix("K") })
    }

    @Test func bytesTicksFallOnBinarySizes() {
        let axis = ChartAxis(title: "memory", scale: .logarithmic(base: 2), style: .bytes)
        let single = axis.layout(spanning: [64 * 1_048_576])
        Self.expectSane(single)
        #expect(single.ticks.map(axis.style.label(for:)) == ["48 MiB", "64 MiB"])
        let wide = axis.layout(spanning: [3 * 1024, 5 * 1_073_741_824])
        Self.expectSane(wide)
        #expect(wide.ticks.map(axis.style.label(for:)) == ["32 KiB", "1 MiB", "32 MiB", "1 GiB"])
    }

    @Test func linearTicksIncludeRequiredValues() {
        let axis = ChartAxis(title: "accuracy", alwaysIncludes: [0, 1])
        let layout = axis.layout(spanning: [0.6, 0.95, .nan])
        #expect(layout.lowerBound == 0 && layout.upperBound == 1)
        #expect(layout.ticks.map(axis.style.label(for:)) == ["0", "0.2", "0.4", "0.6", "0.8", "1"])
        Self.expectSane(ChartAxis(title: "flat").layout(spanning: [3, 3]))
        Self.expectSane(ChartAxis(title: "none").layout(spanning: []))
    }

    @Test func readableNumbers() {
        #expect(ReadableNumber.count(1_200_000) == "1.2M")
        #expect(ReadableNumber.count(512_000) == "512K")
        #expect(ReadableNumber.count(999_999) == "1M")
        #expect(ReadableNumber.count(42) == "42")
        #expect(ReadableNumber.bytes(64 * 1_048_576) == "64 MiB")
        #expect(ReadableNumber.bytes(1.5 * 1_073_741_824) == "1.5 GiB")
        #expect(ReadableNumber.bytes(512) == "512 B")
        #expect(ReadableNumber.plain(4096) == "4096")
        #expect(ReadableNumber.plain(0.1 + 0.2) == "0.3")
        #expect(ReadableNumber.plain(0.000015) == "1.5e-05")
    }
}
