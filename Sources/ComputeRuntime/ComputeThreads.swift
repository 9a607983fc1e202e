import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// How many threads the package's parallel loops may use. One setting for the whole
/// package: the batch-normalization kernels, the training stack's layers and (through
/// `setIncludingBLAS`) the matrix products.
///
/// Results never depend on it: every reduction splits its work into blocks of a fixed
/// size and merges them in a fixed order, whatever the thread count.
public enum ComputeThreads {
  private static let requested = Atomic<Int>(0)

  /// The processors online when the process first asked, at least 1. Read once: glibc's
  /// `sysconf(_SC_NPROCESSORS_ONLN)` opens and reads a file under /sys on every call,
  /// and the parallel loops ask on every call.
  public static let available: Int = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

  /// The thread count in use: the last value set, or every available processor.
  public static var count: Int {
    get {
      let value = requested.load(ordering: .relaxed)
      return value > 0 ? value : available
    }
    set { requested.store(max(1, newValue), ordering: .relaxed) }
  }
}
