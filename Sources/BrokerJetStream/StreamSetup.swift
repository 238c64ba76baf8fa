import BrokerNATS

/// Finds the stream or creates it (SPEC.md 7.1): file storage, the replicas asked
/// for, no limits, deletes and purges denied, direct gets allowed. A stream that is
/// there already must have the settings Broker relies on; its replica count is its own.
struct StreamSetup {
    let jetStream: JetStream
    let options: JetStreamStore.Options

    var wanted: StreamConfiguration {
        StreamConfiguration(
            name: options.stream, subjects: [SubjectName(prefix: options.stream).streamSubjects], replicas: options.replicas,
            duplicateWindow: options.duplicateWindow)
    }

    /// Retries, with backoff, while the cluster cannot answer yet: no JetStream
    /// leader (just started, or electing), not enough peers to place the stream's
    /// replicas (the other nodes have not joined), no answer in time. `onWait` is told
    /// each reason once. A stream with other settings, or a refusal that waiting
    /// cannot change, fails at once.
    func ensure(until deadline: ContinuousClock.Instant?, onWait: (String) -> Void = { _ in }) async throws(JetStreamError) -> StreamInfo {
        var lastError = NATSError.notConnected
        var backoff = Duration.milliseconds(250)
        while !Task.isCancelled, deadline.map({ ContinuousClock.now < $0 }) ?? true {
            do {
                var info = try await jetStream.streamInfo(options.stream)
                if info == nil { info = try await jetStream.createStream(wanted) }
                guard let info else { continue }
                if let problem = Self.problem(with: info.config, wanted: wanted) {
                    throw JetStreamError.streamMismatch("the JetStream stream \(options.stream) exists with \(problem)")
                }
                return info
            } catch let error as JetStreamError {
                throw error
            } catch let error as NATSError {
                guard Self.isTransient(error) else { throw .unavailable("JetStream: \(error)") }
                if error != lastError { onWait("JetStream: \(error)") }
                lastError = error
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(2))
            } catch {
                throw .unavailable("\(error)")
            }
        }
        throw .unavailable("JetStream did not answer in time: \(lastError)")
    }

    /// Whether waiting can mend `error`: the cluster is still forming or electing.
    static func isTransient(_ error: NATSError) -> Bool {
        switch error {
        case .notConnected, .timeout, .noResponders: return true
        // 503: JetStream not ready; 10005: no suitable peers for placement (fewer
        // nodes joined than the replicas); 10008: JetStream temporarily unavailable;
        // 10023: insufficient resources while peers come up.
        case .jetStream(let code, let errorCode, _): return code == 503 || [10005, 10008, 10023].contains(errorCode)
        default: return false
        }
    }

    /// What differs between an existing stream and what Broker needs, or nil.
    static func problem(with found: StreamConfiguration, wanted: StreamConfiguration) -> String? {
        var problems: [String] = []
        if found.subjects != wanted.subjects { problems.append("subjects \(found.subjects) (Broker needs \(wanted.subjects))") }
        if found.storage != "file" { problems.append("\(found.storage) storage (Broker needs file)") }
        if found.retention != "limits" { problems.append("\(found.retention) retention (Broker needs limits)") }
        if found.maxMsgs > 0 || found.maxBytes > 0 || found.maxAge > 0 || found.maxMsgsPerSubject > 0 {
            problems.append("limits on messages, bytes, age or messages per subject (Broker keeps every record)")
        }
        if found.denyDelete != true || found.denyPurge != true { problems.append("deletes or purges allowed") }
        if found.allowDirect != true { problems.append("direct gets not allowed") }
        return problems.isEmpty ? nil : problems.joined(separator: "; ")
    }
}
