import Foundation

/// Builds a page of Prometheus' text exposition format: `# HELP` and `# TYPE` lines, then samples.
struct PrometheusExposition {
    enum MetricType: String {
        case counter, gauge
    }

    private(set) var text = ""

    /// Adds a metric with one sample per label set (`[:]` for an unlabelled sample).
    mutating func add(_ name: String, _ type: MetricType, help: String, samples: [([String: String], Double)]) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type.rawValue)\n"
        for (labels, value) in samples {
            text += name + Self.labels(labels) + " " + Self.number(value) + "\n"
        }
    }

    /// Adds an unlabelled metric.
    mutating func add(_ name: String, _ type: MetricType, help: String, value: Double) {
        add(name, type, help: help, samples: [([:], value)])
    }

    private static func labels(_ labels: [String: String]) -> String {
        guard !labels.isEmpty else { return "" }
        let pairs = labels.sorted { $0.key < $1.key }.map { key, value in
            let escaped = value.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
            return "\(key)=\"\(escaped)\""
        }
        return "{" + pairs.joined(separator: ",") + "}"
    }

    /// Whole numbers without a fraction (counters read naturally), and Prometheus' spellings of
    /// infinities and NaN.
    private static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
        return String(value)
    }
}
