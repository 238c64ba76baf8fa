import Hummingbird
import NIOCore

/// The request context of Broker's routes: Hummingbird's, and the connection's channel,
/// which an event stream writes its live messages to (``SubscriberQueue``).
struct BrokerRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
