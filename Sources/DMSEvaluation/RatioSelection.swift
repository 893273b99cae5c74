/// The compression ratios the budget-based baselines (streaming, tova, h2o, quest) run at.
public enum RatioSelection: Sendable, Equatable {
    /// The physical ratio the `dms` run reached at the end of the sequence (so `dms` runs first).
    case matchDMS
    /// Each baseline runs once at each of these ratios (each > 1).
    case fixed([Double])
}
