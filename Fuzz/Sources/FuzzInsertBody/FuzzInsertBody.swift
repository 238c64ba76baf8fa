import BrokerFuzzChecks

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInsertBody(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzChecks.insertBody(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
