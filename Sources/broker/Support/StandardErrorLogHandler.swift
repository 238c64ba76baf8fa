import Foundation
import Logging

/// Log lines on standard error: `time level label: message key=value …`.
///
/// Unlike swift-log's `StreamLogHandler`, it formats metadata only when a line is
/// written. Hummingbird gives every request a logger with its own request id, and
/// `StreamLogHandler` renders its metadata text on each such change: 2 % of the
/// server's CPU per insert in the profile, for lines that are almost never written.
struct StandardErrorLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(
        level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?,
        source: String, file: String, function: String, line: UInt
    ) {
        let all = explicit.map { metadata.merging($0) { _, new in new } } ?? metadata
        let fields = all.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        let text = "\(Date().ISO8601Format()) \(level) \(label): \(message)\(fields)\n"
        FileHandle.standardError.write(Data(text.utf8))
    }
}
