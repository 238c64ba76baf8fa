/// Where a record's frame is: its seq (which names its segment) and byte offset.
/// A frame's name link (`prevSeq`, `prevOffset`) is one of these.
public struct RecordLocation: Sendable, Equatable {
    public var seq: UInt64
    public var offset: UInt32
}
