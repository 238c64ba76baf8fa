package import NIOConcurrencyHelpers

/// A value behind a lock: the one lock of every module on the store vocabulary. It uses
/// NIOLock (a pthread mutex), which ThreadSanitizer understands; Synchronization.Mutex
/// on Linux is built on raw futexes that it does not see, so `make test-tsan` would
/// report false races. Its `withLock` keeps a closure's typed error. The two modules
/// below the vocabulary (BrokerNATS, BrokerAuth) use NIOLockedValueBox, the same lock.
package final class Locked<Value>: @unchecked Sendable {
    // @unchecked: `value` is only touched inside `withLock`, under `lock`.
    @usableFromInline let lock = NIOLock()
    @usableFromInline var value: Value

    package init(_ value: Value) {
        self.value = value
    }

    /// Runs `body` with exclusive access to the value.
    @inlinable
    package func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
