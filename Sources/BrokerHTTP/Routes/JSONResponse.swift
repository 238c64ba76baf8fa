import BrokerJSON
import BrokerStore
import HTTPTypes
import Hummingbird
import NIOCore

/// JSON responses, and the `{"error": …}` form of every failure (SPEC.md 4).
enum JSONResponse {
    static func ok(_ bytes: [UInt8]) -> Response {
        make(.ok, bytes)
    }

    static func error(_ status: HTTPResponse.Status, _ reason: String, headers: HTTPFields = [:]) -> Response {
        make(status, JSONWriter.error(reason), headers: headers)
    }

    static func make(_ status: HTTPResponse.Status, _ bytes: [UInt8], headers: HTTPFields = [:]) -> Response {
        var fields: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        fields.append(contentsOf: headers)
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// A failure a route reports with a status, a reason and any headers it needs
/// (`WWW-Authenticate` on a 401 or 403).
struct APIError: Error {
    let status: HTTPResponse.Status
    let reason: String
    var headers: HTTPFields = [:]
    /// A body with more than the reason (a 409's conflicts); nil: `{"error": reason}`.
    var body: [UInt8]?

    init(_ status: HTTPResponse.Status, _ reason: String, headers: HTTPFields = [:], body: [UInt8]? = nil) {
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
    }
}
