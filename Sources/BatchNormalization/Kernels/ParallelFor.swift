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

/// The package's one parallel loop: splits `0..<count` into contiguous ranges, one per
/// thread, and runs `body` on each (``WorkerPool``). Runs serially when
/// `count · costPerItem` is below `minimumParallelWork` or one thread is set, so small
/// tensors never wait for a thread. The ranges depend only on `count` and the thread
/// count; results must not depend on either (the reductions block their work).
///
/// `body` must write only to what its own range owns. `package` so that the training
/// stack's kernels share the one thread setting and the one pool.
package func parallelFor(
  _ count: Int, costPerItem: Int, minimumParallelWork: Int = 1 << 16,
  _ body: (Range<Int>) -> Void
) {
  let threads = min(ComputeThreads.count, count, WorkerPool.maximumParts)
  let work = count.multipliedReportingOverflow(by: costPerItem)
  guard threads > 1, work.overflow || work.partialValue >= minimumParallelWork else {
    if count > 0 { body(0..<count) }
    return
  }
  WorkerPool.shared.run(parts: threads) { thread in
    body(count * thread / threads..<count * (thread + 1) / threads)
  }
}

/// ``parallelFor(_:costPerItem:minimumParallelWork:_:)`` over channels, in ranges that
/// start at multiples of 8 (so each thread's vector loops see whole groups of eight, as
/// a serial loop would). For the per-channel work between the element passes (inverse
/// square roots, coefficients, running statistics), which with thousands of channels and
/// few samples (2x8192) costs more than the passes themselves.
///
/// `costPerChannel` is in the same units as an element pass's `costPerItem` (about one
/// element's load, arithmetic and store).
func parallelForChannels(_ channels: Int, costPerChannel: Int, _ body: (Range<Int>) -> Void) {
  let groups = (channels + 7) / 8
  parallelFor(groups, costPerItem: 8 * costPerChannel) { groupRange in
    body(groupRange.lowerBound * 8..<min(channels, groupRange.upperBound * 8))
  }
}
