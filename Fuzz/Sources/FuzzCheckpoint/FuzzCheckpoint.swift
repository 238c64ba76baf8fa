import BrokerFuzzChecks
import FuzzDriver
import Glibc

/// libFuzzer calls this with each input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpoint(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzChecks.checkpoint(UnsafeRawBufferPointer(start: data, count: size), directory: "/dev/shm/broker-fuzz-checkpoint-\(getpid())")
    return 0
}

// SwiftPM links an executable's entry point as `<module>_main`: hand control to libFuzzer's driver.
@_cdecl("FuzzCheckpoint_main")
public func fuzzCheckpointMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzCheckpoint)
}
