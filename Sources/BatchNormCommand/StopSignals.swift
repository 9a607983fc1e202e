import Dispatch
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Ctrl-C (SIGINT), SIGTERM and SIGUSR1 turned from "die now" into "stop at the next step
/// boundary": `bn train` then writes where it stopped and exits 128 + the signal's
/// number (130, 143, 138). SIGUSR1 is for jobs under `mpirun`, which forwards it to every
/// process (SIGINT and SIGTERM to mpirun end the job at once). A second signal ends the
/// process at once, as the first one would have without this (files are written
/// atomically, so nothing half-written is left).
final class StopSignals: @unchecked Sendable {
  private let lock = NSLock()
  private var received: Int32?
  private var sources: [DispatchSourceSignal] = []

  /// Starts catching SIGINT, SIGTERM and SIGUSR1 for the rest of the process.
  init() {
    for number in [SIGINT, SIGTERM, SIGUSR1] {
      signal(number, SIG_IGN)  // The dispatch source sees the signal; the default action must not.
      let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
      source.setEventHandler { [weak self] in self?.record(number) }
      source.resume()
      sources.append(source)
    }
  }

  /// The first signal caught, if any.
  var signalNumber: Int32? { lock.withLock { received } }

  /// The signal's name: `SIGINT`, `SIGTERM` or `SIGUSR1`.
  static func name(_ number: Int32) -> String {
    switch number {
    case SIGINT: "SIGINT"
    case SIGTERM: "SIGTERM"
    case SIGUSR1: "SIGUSR1"
    default: "signal \(number)"
    }
  }

  private func record(_ number: Int32) {
    let isFirst = lock.withLock {
      guard received == nil else { return false }
      received = number
      return true
    }
    guard !isFirst else { return }
    signal(number, SIG_DFL)
    raise(number)
  }
}
