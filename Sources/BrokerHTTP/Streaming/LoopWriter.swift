import BrokerStore
import NIOCore

/// Writes the subscriber queues of one event loop that have messages waiting: one task
/// on the loop for all of them rather than one per queue, a few dozen queues at a time
/// so that the loop reads between them. A loop that was idle writes at once. Once it
/// has gone from round to round for ``busyThreshold`` without running out of queues,
/// it is busy: it pauses for ``busyPause`` before each further round, and what arrives
/// meanwhile (the publishers' requests are read in the pause) goes out in the same
/// writes. So the batching, and the delay it costs, appear only under load (SPEC.md 4.3).
final class LoopWriter: Sendable {
    /// Queues written before the loop gets to read again.
    static let queuesPerTurn = 64
    /// How long rounds must follow each other with no idle time before the loop pauses.
    static let busyThreshold = TimeAmount.milliseconds(2)
    /// The pause between two rounds once the loop is busy.
    static let busyPause = TimeAmount.milliseconds(2)

    let eventLoop: any EventLoop

    private struct State {
        var ready: [SubscriberQueue] = []
        /// A task on the loop is working through the queues: new ones join its list.
        var isRunning = false
        /// When the loop last went from idle to running.
        var runningSince = NIODeadline.uptimeNanoseconds(0)
    }
    private let state = Locked(State())

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// `queue` has messages to write (or its end to signal).
    func schedule(_ queue: SubscriberQueue) {
        let start = state.withLock { state -> Bool in
            state.ready.append(queue)
            if state.isRunning { return false }
            state.isRunning = true
            state.runningSince = eventLoop.now
            return true
        }
        if start { eventLoop.execute { self.work([], from: 0) } }
    }

    /// On the loop: writes up to ``queuesPerTurn`` queues of `queues` from `start`, taking
    /// the queues that became ready meanwhile when these are done, then lets the loop
    /// read before the next turn.
    private func work(_ queues: [SubscriberQueue], from start: Int) {
        var queues = queues
        var start = start
        if start == queues.count {
            let (ready, since) = state.withLock { state in
                defer { state.ready = [] }
                if state.ready.isEmpty { state.isRunning = false }
                return (state.ready, state.runningSince)
            }
            queues = ready
            if queues.isEmpty { return }
            if eventLoop.now - since >= Self.busyThreshold {
                // Rounds have followed each other for a while: gather more before the next.
                eventLoop.scheduleTask(in: Self.busyPause) { [queues] in self.work(queues, from: 0) }
                return
            }
            start = 0
        }
        let end = min(queues.count, start + Self.queuesPerTurn)
        for queue in queues[start..<end] { queue.writePending() }
        eventLoop.execute { [queues] in self.work(queues, from: end) }
    }
}

/// One ``LoopWriter`` per event loop, made when a stream on it first needs one.
final class LoopWriters: Sendable {
    private let writers = Locked<[ObjectIdentifier: LoopWriter]>([:])

    func writer(for eventLoop: any EventLoop) -> LoopWriter {
        writers.withLock { writers in
            let key = ObjectIdentifier(eventLoop)
            if let writer = writers[key] { return writer }
            let writer = LoopWriter(eventLoop: eventLoop)
            writers[key] = writer
            return writer
        }
    }
}
