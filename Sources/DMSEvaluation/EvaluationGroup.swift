import DMSKit

/// The records of one task at one context length: one table, one pair of plots, one findings
/// line of the report.
public struct EvaluationGroup: Sendable, Equatable {
    public var task: String
    public var length: Int
    /// Ordered by policy (as ``KVCacheOptions/Policy`` lists them, unknown names last), fixed
    /// budgets after proportional ones, then by compression ratio.
    public var records: [EvaluationRecord]

    /// The metric of the group's records (a task measures one).
    public var metric: String { records.first?.metric ?? "" }
    public var higherIsBetter: Bool { records.first?.higherIsBetter ?? true }

    /// The series present (``EvaluationRecord/series``), in ``records``' order.
    public var series: [String] { Self.series(in: records) }

    /// `records` grouped by task (in the order tasks first appear) and by length (ascending).
    public static func groups(of records: [EvaluationRecord]) -> [EvaluationGroup] {
        Self.unique(records.map(\.task)).flatMap { task in
            let ofTask = records.filter { $0.task == task }
            return Self.unique(ofTask.map(\.length)).sorted().map { length in
                EvaluationGroup(task: task, length: length, records: sorted(ofTask.filter { $0.length == length }))
            }
        }
    }

    /// Where `policy` sorts: the engine's order of policies, then unknown names alphabetically.
    static func policyOrder(_ policy: String) -> (Int, String) {
        let known = KVCacheOptions.Policy.allCases.map(\.rawValue)
        return (known.firstIndex(of: policy) ?? known.count, policy)
    }

    /// The series of `records` (``EvaluationRecord/series``), each once, in policy order.
    public static func series(in records: [EvaluationRecord]) -> [String] {
        unique(sorted(records).map(\.series))
    }

    /// `records` by policy, fixed budgets last, then compression ratio.
    static func sorted(_ records: [EvaluationRecord]) -> [EvaluationRecord] {
        records.sorted {
            let (left, right) = (policyOrder($0.policy), policyOrder($1.policy))
            if left != right { return left < right }
            let (leftFixed, rightFixed) = ($0.baselineBudget == .fixed, $1.baselineBudget == .fixed)
            return leftFixed != rightFixed ? rightFixed : $0.compressionRatio < $1.compressionRatio
        }
    }

    /// `values` without repeats, in the order they first appear.
    static func unique<Value: Hashable>(_ values: [Value]) -> [Value] {
        var seen = Set<Value>()
        return values.filter { seen.insert($0).inserted }
    }
}
