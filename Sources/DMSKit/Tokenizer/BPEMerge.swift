/// One BPE merge rule: the adjacent symbols `left` and `right` become the token `left + right`.
///
/// In ``TokenizerData/merges`` a rule's rank is its index: lower ranks are applied first.
public struct BPEMerge: Sendable, Hashable {
    /// The left symbol, in the vocabulary's byte-level spelling (`Ġ` for a space, ...).
    public var left: String
    /// The right symbol.
    public var right: String

    /// The rule `left right`.
    public init(left: String, right: String) {
        self.left = left
        self.right = right
    }
}
