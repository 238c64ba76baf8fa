import Logging
import ServiceLifecycle
import UnixSignals

/// Reads the certificate and key again on every SIGHUP (SPEC.md 4.12).
struct CertificateReloader: Service {
    let store: CertificateStore
    let logger: Logger

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            do {
                try store.reload()
                logger.notice("SIGHUP: reloaded the TLS certificate from \(store.certificatePath) and key from \(store.keyPath)")
            } catch {
                logger.error("SIGHUP: kept the current TLS certificate: \(error)")
            }
        }
    }
}
