import BatchNormalization

/// A process group that forwards every exchange to another and adds up the wall time
/// spent in them: a data-parallel step's communication, waiting for the slowest process
/// included.
final class TimedProcessGroup: BatchNormProcessGroup, @unchecked Sendable {
  let inner: any BatchNormProcessGroup
  /// Seconds spent in exchanges since the last ``reset()``.
  private(set) var seconds = 0.0

  init(_ inner: any BatchNormProcessGroup) {
    self.inner = inner
  }

  var rank: Int { inner.rank }
  var size: Int { inner.size }

  func allGather(_ values: [Double]) throws -> [[Double]] {
    let start = Stopwatch.now()
    defer { seconds += Stopwatch.now() - start }
    return try inner.allGather(values)
  }

  func allReduceSum(_ values: [Double]) throws -> [Double] {
    let start = Stopwatch.now()
    defer { seconds += Stopwatch.now() - start }
    return try inner.allReduceSum(values)
  }

  func reset() { seconds = 0 }
}
