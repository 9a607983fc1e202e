import Dispatch
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// How many threads the kernels may use. One setting for the whole package (the
/// training stack hands the same number to BLAS).
///
/// Results never depend on it: every reduction splits its work into blocks of a fixed
/// size and merges them in a fixed order, whatever the thread count.
public enum ComputeThreads {
  private static let requested = Atomic<Int>(0)

  /// The processors online, at least 1.
  public static var available: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

  /// The thread count in use: the last value set, or every available processor.
  public static var count: Int {
    get {
      let value = requested.load(ordering: .relaxed)
      return value > 0 ? value : available
    }
    set { requested.store(max(1, newValue), ordering: .relaxed) }
  }
}

/// A value crossing into `concurrentPerform`'s closure. The kernels give every
/// iteration a disjoint range of work, so nothing inside is shared mutably.
struct UncheckedSendable<Value>: @unchecked Sendable {
  let value: Value
}

/// The package's one parallel loop: splits `0..<count` into contiguous ranges, one per
/// thread, and runs `body` on each. Runs serially when `count · costPerItem` is below
/// `minimumParallelWork` or one thread is set, so small tensors never start a thread.
///
/// `body` must write only to what its own range owns. `package` so that the training
/// stack's kernels share the one thread setting and the one loop.
package func parallelFor(
  _ count: Int, costPerItem: Int, minimumParallelWork: Int = 1 << 16,
  _ body: (Range<Int>) -> Void
) {
  let threads = min(ComputeThreads.count, count)
  let work = count.multipliedReportingOverflow(by: costPerItem)
  guard threads > 1, work.overflow || work.partialValue >= minimumParallelWork else {
    if count > 0 { body(0..<count) }
    return
  }
  withoutActuallyEscaping(body) { body in
    let shared = UncheckedSendable(value: body)
    DispatchQueue.concurrentPerform(iterations: threads) { thread in
      let start = count * thread / threads
      let end = count * (thread + 1) / threads
      shared.value(start..<end)
    }
  }
}
