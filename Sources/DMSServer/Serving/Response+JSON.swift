import Foundation
import Hummingbird

extension Response {
    /// `value` as a JSON response.
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(data: try JSONEncoder.api.encode(value))))
    }
}
