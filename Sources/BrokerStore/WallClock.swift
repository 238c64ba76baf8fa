import Glibc

/// The real-time clock records are stamped with: milliseconds since the Unix epoch.
public enum WallClock {
    public static let milliseconds: @Sendable () -> Int64 = {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}
