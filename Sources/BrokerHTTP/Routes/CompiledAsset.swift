import BrokerStore
import Crypto
import Hummingbird

/// A file compiled into the binary (``WebAssets``: the console, broker.js, broker.d.ts,
/// the OpenAPI document), served with a strong `ETag` (SPEC.md 4.17): a request whose
/// `If-None-Match` names it, or is `*`, gets 304 and no body, so a browser revalidating
/// its `no-cache` copy downloads the file again only after the binary changed.
struct CompiledAsset: Sendable {
    let body: ByteBuffer
    let etag: String
    let fields: HTTPFields

    init(_ text: String, contentType: String) {
        body = ByteBuffer(string: text)
        // The first 128 bits of the SHA-256 of the bytes served: the same file gives the
        // same tag in every process and every build.
        etag = "\"" + Hex.string(bytes: SHA256.hash(data: Array(text.utf8)).prefix(16)) + "\""
        fields = [.contentType: contentType, .cacheControl: "no-cache", .eTag: etag]
    }

    func response(to request: Request) -> Response {
        if request.headers[values: .ifNoneMatch].contains(where: matches) {
            return Response(status: .notModified, headers: fields)
        }
        return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: body))
    }

    /// One `If-None-Match` field (RFC 9110 13.1.2): `*`, or a list of entity tags,
    /// compared weakly (a `W/` prefix is ignored). An entity tag holds no white space,
    /// so dropping all of it leaves the list's members.
    func matches(_ field: String) -> Bool {
        field.filter { $0 != " " && $0 != "\t" }.split(separator: ",").contains { member in
            member == "*" || member == etag || member == "W/" + etag
        }
    }
}
