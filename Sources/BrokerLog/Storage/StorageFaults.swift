import BrokerStore
import Glibc

/// A hook that makes storage operations fail, so tests can show what a full disk or a
/// failing device does to the log (SPEC.md 3.3, 6). Production code passes none.
package protocol StorageFaults: Sendable {
    /// To fail a write of `count` bytes to `path`: the errno, and how many bytes to
    /// write first (a partial write). Nil lets the write proceed.
    func writeFault(path: String, count: Int) -> (errno: Int32, written: Int)?
    /// To fail an fsync of `path`: the errno. Nil lets it proceed.
    func syncFault(path: String) -> Int32?
}

/// Faults switched on and off by hand: for tests and failure drills.
package final class SwitchableFaults: StorageFaults {
    private let state = Locked<(write: (errno: Int32, written: Int)?, sync: Int32?)>((nil, nil))

    package init() {}

    /// From now on every write fails with `code` after writing `written` bytes.
    package func failWrites(errno code: Int32 = ENOSPC, afterWriting written: Int = 0) {
        state.withLock { $0.write = (code, written) }
    }

    /// From now on every fsync fails with `code`.
    package func failSyncs(errno code: Int32 = EIO) { state.withLock { $0.sync = code } }

    /// Writes and fsyncs work again.
    package func heal() { state.withLock { $0 = (nil, nil) } }

    package func writeFault(path: String, count: Int) -> (errno: Int32, written: Int)? { state.withLock { $0.write } }
    package func syncFault(path: String) -> Int32? { state.withLock { $0.sync } }
}
