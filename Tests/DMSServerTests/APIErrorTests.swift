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
        let tooLong = APIError(SchedulerError.promptTooLong(tokens: 9000, contextLength: 8192), promptParameter: "messages")
        #expect(tooLong.status == .badRequest && tooLong.code == "context_length_exceeded" && tooLong.param == "messages")
        let overBudget = APIError(SchedulerError.exceedsKVBudget(pagesNeeded: 10, pageLimit: 4), promptParameter: "prompt")
        #expect(overBudget.status == .badRequest && overBudget.param == "prompt")
        #expect(APIError(SchedulerError.invalidRequest("no budget"), promptParameter: "prompt").status == .badRequest)
        #expect(APIError(SchedulerError.shuttingDown, promptParameter: "prompt").status == .serviceUnavailable)
        #expect(APIError(SchedulerError.engineFailure("boom"), promptParameter: "prompt").status == .internalServerError)
    }

    @Test func namesTheUnknownModel() {
        let error = APIError.modelNotFound("gpt-4o")
        #expect(error.status == .notFound && error.code == "model_not_found" && error.param == "model")
    }
}
