import Foundation
import Testing

@testable import BrokerJetStream
@testable import BrokerNATS

/// Which stream-info answers may make a resume point past the end of the stream
/// (SPEC.md 7.3): a node cut off from its cluster answers for a stream it sees no
/// leader of with its own stale state, and must not be believed.
@Suite struct StreamAuthorityTests {
    static func info(replicas: Int, cluster: String?) throws -> StreamInfo {
        let clusterMember = cluster.map { #","cluster":\#($0)"# } ?? ""
        let json = #"""
            {"config":{"name":"BROKER","subjects":["BROKER.>"],"retention":"limits","storage":"file","num_replicas":\#(replicas),"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"discard":"old"},
             "state":{"messages":5,"bytes":100,"first_seq":1,"last_seq":5}\#(clusterMember)}
            """#
        return try JetStream.decoder.decode(StreamInfo.self, from: Data(json.utf8))
    }

    @Test func onlyAStandaloneServerOrALeaderListingItsReplicasIsBelieved() throws {
        #expect(JetStreamStore.isAuthoritative(try Self.info(replicas: 1, cluster: nil)))
        #expect(
            JetStreamStore.isAuthoritative(
                try Self.info(
                    replicas: 3, cluster: #"{"name":"c","leader":"n1","replicas":[{"name":"n2","current":true},{"name":"n3","current":false}]}"#)))
        #expect(JetStreamStore.isAuthoritative(try Self.info(replicas: 1, cluster: #"{"name":"c","leader":"n1"}"#)))
        // Cut off: no leader known, or a leader named without the replicas only a leader lists.
        #expect(!JetStreamStore.isAuthoritative(try Self.info(replicas: 3, cluster: #"{"name":"c"}"#)))
        #expect(!JetStreamStore.isAuthoritative(try Self.info(replicas: 3, cluster: #"{"name":"c","leader":""}"#)))
        #expect(!JetStreamStore.isAuthoritative(try Self.info(replicas: 3, cluster: #"{"name":"c","leader":"n1"}"#)))
    }
}
