import Glibc

/// An open file descriptor, closed when the last reference goes. The descriptor is
/// immutable, so the handle can be shared between threads: POSIX positioned reads
/// and writes need no shared offset.
package final class FileHandle: ByteSource {
    let fd: Int32
    let path: String

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    static func open(_ path: String, flags: Int32, mode: mode_t = 0o644) throws(LogError) -> FileHandle {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .io(path: path, operation: "open", errno: errno) }
        return FileHandle(fd: fd, path: path)
    }

    static func openForReading(_ path: String) throws(LogError) -> FileHandle {
        try open(path, flags: O_RDONLY)
    }

    package func size() throws(LogError) -> Int {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .io(path: path, operation: "fstat", errno: errno) }
        return Int(info.st_size)
    }

    /// Reads up to `buffer.count` bytes at `offset`; fewer only at the end of the file.
    package func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(LogError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, operation: "read", errno: errno)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Writes all of `bytes` at `offset`.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(LogError) {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, operation: "write", errno: errno)
            }
            done += n
        }
    }

    /// Writes `bytes[range]` at `offset`.
    func write(_ bytes: [UInt8], range: Range<Int>? = nil, at offset: Int) throws(LogError) {
        try bytes.withUnsafeBytes { all in
            Result { () throws(LogError) in try write(UnsafeRawBufferPointer(rebasing: all[range ?? 0..<all.count]), at: offset) }
        }.get()
    }

    func sync() throws(LogError) {
        guard fsync(fd) == 0 else { throw .io(path: path, operation: "fsync", errno: errno) }
    }

    func truncate(to length: Int) throws(LogError) {
        guard ftruncate(fd, off_t(length)) == 0 else { throw .io(path: path, operation: "ftruncate", errno: errno) }
    }

    /// Takes an exclusive advisory lock without waiting; false when another holds it.
    func tryLockExclusive() throws(LogError) -> Bool {
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { return true }
        if errno == EWOULDBLOCK { return false }
        throw .io(path: path, operation: "flock", errno: errno)
    }

    /// fsyncs a directory, so that entries created in it survive a power loss.
    static func syncDirectory(_ path: String) throws(LogError) {
        let dir = try open(path, flags: O_RDONLY | O_DIRECTORY)
        try dir.sync()
    }
}
