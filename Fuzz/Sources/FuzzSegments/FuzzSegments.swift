import BrokerFuzzChecks

#if canImport(Glibc)
import Glibc
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSegments(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzChecks.segment(UnsafeRawBufferPointer(start: data, count: size), scratchPath: "/dev/shm/broker-fuzz-\(getpid()).seg")
    return 0
}
