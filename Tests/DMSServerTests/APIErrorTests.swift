import DMSKit
import Foundation
import Testing
@testable import DMSServer

struct APIErrorTests {
    @Test func encodesOpenAIsShapeWithNulls() throws {
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(APIError.invalidRequest("bad"))) as? [String: Any]
        let detail = try #require(json?["error"] as? [String: Any])
        #expect(detail["message"] as? String == "bad")
        #expect(detail["type"] as? String == "invalid_request_error")
        #expect(detail["param"] is NSNull)
        #expect(detail["code"] is NSNull)
    }

    @Test func mapsSchedulerErrorsToStatusesAndCodes() {
        let tooLong = APIError(SchedulerError.promptTooLong(tokens: 9000, contextLength: 8192))
        #expect(tooLong.status == .badRequest && tooLong.code == "context_length_exceeded")
        #expect(APIError(SchedulerError.exceedsKVBudget(pagesNeeded: 10, pageLimit: 4)).status == .badRequest)
        #expect(APIError(SchedulerError.invalidRequest("no budget")).status == .badRequest)
        #expect(APIError(SchedulerError.shuttingDown).status == .serviceUnavailable)
        #expect(APIError(SchedulerError.engineFailure("boom")).status == .internalServerError)
    }

    @Test func namesTheUnknownModel() {
        let error = APIError.modelNotFound("gpt-4o")
        #expect(error.status == .notFound && error.code == "model_not_found" && error.param == "model")
    }
}
