import Testing

@testable import BrokerNATS

/// The acknowledgement reader on every insert's path, against what the decoder reads.
@Suite struct PublishAckReaderTests {
    private func read(_ text: String) -> JetStream.PublishAck? { PublishAckReader.read(Array(text.utf8)) }

    @Test func readsTheShapesTheServerWrites() {
        #expect(read(#"{"stream":"BROKER","seq":12}"#) == JetStream.PublishAck(stream: "BROKER", seq: 12))
        #expect(
            read(#"{"stream":"B","seq":18446744073709551615,"duplicate":true}"#)
                == JetStream.PublishAck(stream: "B", seq: .max, duplicate: true))
        #expect(read(#" { "stream" : "B" , "domain":"hub", "seq" : 3 }"# + "\r\n") == JetStream.PublishAck(stream: "B", seq: 3))
    }

    @Test func leavesEverythingElseToTheDecoder() {
        for text in [
            #"{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 1"},"stream":"B","seq":0}"#,
            #"{"stream":"B"}"#, #"{"seq":1}"#, #"{"stream":"B\"","seq":1}"#, #"{"stream":"B","seq":18446744073709551616}"#,
            #"{"stream":"B","seq":-1}"#, #"{"stream":1,"seq":1}"#, #"{"stream":"B","seq":1"#, #"{"stream":"B","seq":1}x"#,
            "", "{}", "[]", #"{"stream":"B","seq":1,"duplicate":null}"#,
        ] {
            #expect(read(text) == nil, "\(text)")
        }
    }
}
