/// Columns aligned for a terminal: the first left-aligned, the others right-aligned, a rule
/// under the header.
struct TextTable {
    let header: [String]
    var rows: [[String]] = []

    var lines: [String] {
        let table = [header] + rows
        let widths = header.indices.map { column in table.map { $0[column].count }.max() ?? 0 }
        var lines: [String] = []
        for (index, cells) in table.enumerated() {
            let padded = cells.enumerated().map { column, cell in
                column == 0 ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - cell.count) + cell
            }
            lines.append(padded.joined(separator: "  "))
            if index == 0 { lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
        }
        return lines
    }
}
