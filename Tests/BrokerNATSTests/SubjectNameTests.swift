import Testing

@testable import BrokerJetStream
@testable import BrokerNATS

/// The name-to-subject encoding of SPEC.md 7.2.
@Suite struct SubjectNameTests {
    let subjects = SubjectName(prefix: "BROKER")

    static let names = [
        "a", "user:42", "greeting/hello world.*>", "%", "%41", "é", "日本", "tab\u{7F}", "a.b", ">", "*", "a b", "emoji 🎉",
        String(repeating: "x", count: 256), String(repeating: ".", count: 256),
    ]

    @Test func everyNameHasOneSubjectAndComesBack() {
        #expect(subjects.subject(for: "user:42") == "BROKER.u.s.e.r.:.4.2.%")
        #expect(subjects.subject(for: "é") == "BROKER.%C3.%A9.%")
        var seen = Set<String>()
        for name in Self.names {
            let subject = subjects.subject(for: name)
            #expect(!subject.utf8.contains { $0 <= 0x20 || $0 == 0x7F }, "no whitespace or control bytes in \(subject)")
            #expect(subject.utf8.count <= 1_034 + 1)
            #expect(subjects.name(of: subject) == name)
            #expect(seen.insert(subject).inserted)
        }
    }

    @Test func aPrefixFilterMatchesExactlyTheNamesWithThatPrefix() {
        let prefixes = ["u", "us", "user:4", "user:42", "%", "é", "a", ".", "greeting/hello world"]
        let names = Self.names + ["us", "user", "user:4", "user:420", "éa", "..."]
        for prefix in prefixes {
            let filter = subjects.filter(forPrefix: prefix)
            for name in names {
                let matches = Self.subject(subjects.subject(for: name), matches: filter)
                #expect(matches == name.utf8.starts(with: prefix.utf8), "\(filter) and \(name)")
            }
        }
    }

    @Test func subjectsNotMadeByTheEncodingAreNoName() {
        for subject in [
            "BROKER", "BROKER.", "BROKER.a", "BROKER.a.b", "BROKER.ab.%", "BROKER.%4.%", "BROKER.%41.%", "BROKER.%ZZ.%", "OTHER.a.%",
            "BROKER..%", "BROKER.%FF.%", "BROKER.%C3.%",
        ] {
            #expect(subjects.name(of: subject) == nil, "\(subject)")
        }
    }

    @Test func ackRepliesAndTimesParse() {
        let ack = AckReply("$JS.ACK.BROKER.abc.1.42.7.1764700802123456789.3")
        #expect(ack?.streamSeq == 42 && ack?.consumerSeq == 7 && ack?.pending == 3 && ack?.timeNanoseconds == 1_764_700_802_123_456_789)
        #expect(AckReply("$JS.ACK.BROKER.abc.1.x.7.1.3") == nil)
        #expect(AckReply("_INBOX.x") == nil)
        #expect(RFC3339.nanoseconds("1970-01-01T00:00:00Z") == 0)
        #expect(RFC3339.nanoseconds("2025-12-02T18:40:02.5Z") == 1_764_700_802_500_000_000)
        #expect(RFC3339.nanoseconds("2025-12-02T18:40:02.123456789Z") == 1_764_700_802_123_456_789)
        #expect(RFC3339.nanoseconds("2025-12-02 18:40:02Z") == nil)
        #expect(RFC3339.nanoseconds("garbage") == nil)
    }

    @Test func headerBlocksRoundTrip() {
        var headers = NATSHeaders(status: 100, statusDescription: "Idle Heartbeat")
        headers.add("Nats-Last-Consumer", "12")
        let parsed = NATSHeaders.parse(headers.encoded)
        #expect(parsed == headers)
        #expect(parsed?["nats-last-consumer"] == "12")
        #expect(NATSHeaders.parse(Array("HTTP/1.1 200\r\n\r\n".utf8)) == nil)
    }

    /// NATS subject matching: tokens equal, `*` one token, a final `>` one or more.
    static func subject(_ subject: String, matches filter: String) -> Bool {
        let tokens = subject.split(separator: ".", omittingEmptySubsequences: false)
        let wanted = filter.split(separator: ".", omittingEmptySubsequences: false)
        for (index, token) in wanted.enumerated() {
            if token == ">" { return tokens.count > index }
            guard index < tokens.count, token == "*" || token == tokens[index] else { return false }
        }
        return tokens.count == wanted.count
    }
}
