import BrokerFuzzChecks
import FuzzDriver

/// libFuzzer calls this with each input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInsertBody(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzChecks.insertBody(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

// SwiftPM links an executable's entry point as `<module>_main`: hand control to libFuzzer's driver.
@_cdecl("FuzzInsertBody_main")
public func fuzzInsertBodyMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzInsertBody)
}
