/// The package's one parallel loop: splits `0..<count` into contiguous ranges, one per
/// thread, and runs `body` on each (``WorkerPool``). Runs serially when
/// `count · costPerItem` is below `minimumParallelWork` or one thread is set, so small
/// tensors never wait for a thread. The ranges depend only on `count` and the thread
/// count; results must not depend on either (the reductions block their work).
///
/// `costPerItem` is in units of about one element's load, arithmetic and store; the
/// default threshold, 64 Ki such units, is about 10 µs of a pass, several times the
/// pool's handoff of 1–2 µs.
/// `body` must write only to what its own range owns. `package`, not public: it is the
/// kernels' tool, shared by the batch-normalization core and the training stack so that
/// both run on one pool under one thread setting. Inlinable so that the serial path, the
/// common one for small tensors, costs no call across the module boundary.
@inlinable
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
  runOnWorkerPool(count, threads: threads, body)
}

/// The parallel path of ``parallelFor(_:costPerItem:minimumParallelWork:_:)``: `threads`
/// ranges of `0..<count` on the shared pool.
@usableFromInline
package func runOnWorkerPool(_ count: Int, threads: Int, _ body: (Range<Int>) -> Void) {
  WorkerPool.shared.run(parts: threads) { thread in
    body(count * thread / threads..<count * (thread + 1) / threads)
  }
}
