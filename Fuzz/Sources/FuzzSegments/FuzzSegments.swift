import BrokerFuzzChecks
import FuzzDriver
import Glibc

/// libFuzzer calls this with each input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSegments(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzChecks.segment(UnsafeRawBufferPointer(start: data, count: size), scratchDirectory: "/dev/shm/broker-fuzz-\(getpid())")
    return 0
}

// SwiftPM links an executable's entry point as `<module>_main`: hand control to libFuzzer's driver.
@_cdecl("FuzzSegments_main")
public func fuzzSegmentsMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzSegments)
}
