/// What a group's records show, computed from them: the best policy overall and at each
/// compression ratio present, for the report's findings line.
public enum EvaluationFindings {
    /// E.g. `Best accuracy (higher is better) overall: full 1 (×1.0). At each ratio: ×1.0 full 1;
    /// ×8.0 dms 0.95, then tova 0.85, streaming 0.6.` Ratios are the requested ones for budget
    /// policies and the reached ones otherwise, to one decimal, so baselines matched to DMS's
    /// ratio compare with it. Values that are not finite are left out.
    public static func summary(of group: EvaluationGroup) -> String {
        let records = group.records.filter { $0.value.isFinite }
        let title = EvaluationPlots.metricTitle(group.metric, higherIsBetter: group.higherIsBetter)
        guard !records.isEmpty else { return "No finite \(title) values." }
        let ranked = records.sorted { group.higherIsBetter ? $0.value > $1.value : $0.value < $1.value }
        let buckets = Dictionary(grouping: ranked) { EvaluationPlots.ratioLabel(nominalRatio($0)) }
            .sorted { nominalRatio($0.value[0]) < nominalRatio($1.value[0]) }
        let perRatio = buckets.map { ratio, bucket in
            let entries = bucket.map { "\(name(of: $0, among: bucket)) \(ReadableNumber.plain($0.value))" }
            let rest = entries.dropFirst()
            return "\(ratio) \(entries[0])" + (rest.isEmpty ? "" : ", then " + rest.joined(separator: ", "))
        }
        let leaders = ranked.filter { $0.value == ranked[0].value }.map {
            "\($0.policy) \(ReadableNumber.plain($0.value)) (\(EvaluationPlots.ratioLabel($0.compressionRatio)))"
        }
        return "Best \(title) overall: \(leaders.joined(separator: ", ")). At each ratio: \(perRatio.joined(separator: "; "))."
    }

    /// The ratio a record stands for: the one asked of a budget policy, else the one reached.
    static func nominalRatio(_ record: EvaluationRecord) -> Double {
        record.requestedRatio ?? record.compressionRatio
    }

    /// The policy, with its setting when the policy appears more than once among `records`.
    static func name(of record: EvaluationRecord, among records: [EvaluationRecord]) -> String {
        let repeated = records.filter { $0.policy == record.policy }.count > 1
        return repeated && !record.setting.isEmpty ? "\(record.policy) (\(record.setting))" : record.policy
    }
}
