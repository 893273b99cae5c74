import Foundation

/// A one-line progress bar on standard error with the time left, estimated from the pace since
/// the bar was created. On a terminal it is redrawn in place (at most five times a second); on a
/// file or pipe it prints a plain line every few seconds when `linesWhenPiped`, else nothing.
final class ProgressBar {
    private let interactive = isatty(STDERR_FILENO) != 0
    private let linesWhenPiped: Bool
    private let started = Date()
    private var startFraction: Double?
    private var lastDrawn = Date.distantPast
    private var drawn = false

    init(linesWhenPiped: Bool) {
        self.linesWhenPiped = linesWhenPiped
    }

    /// Shows `fraction` (0...1) done with `text`; `force` draws even if one was drawn just now.
    func update(fraction: Double, text: String, force: Bool = false) {
        let fraction = min(max(fraction, 0), 1)
        let start = startFraction ?? fraction
        startFraction = start
        let now = Date()
        guard interactive || linesWhenPiped else { return }
        guard force || now.timeIntervalSince(lastDrawn) >= (interactive ? 0.2 : 5) else { return }
        lastDrawn = now
        let width = 24, filled = Int(fraction * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let elapsed = now.timeIntervalSince(started)
        let eta = fraction - start > 0.001 ? " ETA " + Self.duration(elapsed * (1 - fraction) / (fraction - start)) : ""
        let line = "[\(bar)] \(text)\(eta)"
        if interactive {
            writeError("\r" + line + "\u{1B}[K")
            drawn = true
        } else {
            writeError(line + "\n")
        }
    }

    /// Ends the bar's line on a terminal.
    func finish() {
        if drawn { writeError("\n") }
        drawn = false
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, s % 3600 / 60) : String(format: "%dm%02ds", s / 60, s % 60)
    }
}
