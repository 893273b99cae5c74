import Foundation

/// Counts the HTTP requests the server answered, by route and status code, for `/metrics`.
final class HTTPRequestCounter: @unchecked Sendable {
    /// The routes counted by name; any other path counts as `other`, so unknown paths cannot
    /// grow the label set.
    static let routes: Set<String> = ["/v1/chat/completions", "/v1/completions", "/v1/models", "/health", "/metrics"]

    private struct Key: Hashable {
        let route: String
        let status: Int
    }

    private let lock = NSLock()
    private var counts: [Key: Int] = [:]

    /// Counts one answered request for `path` with `status`.
    func record(path: String, status: Int) {
        let route = Self.routes.contains(path) ? path : path.hasPrefix("/v1/models/") ? "/v1/models/{id}" : "other"
        lock.lock()
        counts[Key(route: route, status: status), default: 0] += 1
        lock.unlock()
    }

    /// `dms_http_requests_total{route, status}` in Prometheus' text format.
    var prometheusText: String {
        lock.lock()
        let snapshot = counts
        lock.unlock()
        var page = PrometheusExposition()
        page.add("dms_http_requests_total", .counter, help: "HTTP requests answered, by route and status code.",
                 samples: snapshot.sorted { ($0.key.route, $0.key.status) < ($1.key.route, $1.key.status) }
                     .map { (["route": $0.key.route, "status": String($0.key.status)], Double($0.value)) })
        return page.text
    }
}
