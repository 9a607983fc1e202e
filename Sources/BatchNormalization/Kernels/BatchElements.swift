/// A batch's values, or a run of whole samples of it, in memory that the caller keeps
/// alive and unchanged for the whole call. Forward and backward hand these to the kernels
/// without touching a pointer themselves; only kernels and `Interop/` make or open them.
struct BatchElements<Scalar> {
  /// The values, in the batch's layout.
  let buffer: UnsafeBufferPointer<Scalar>

  /// How many values there are.
  var count: Int { buffer.count }

  /// Samples `range` of the batch, when each sample holds `sampleSize` values.
  func samples(_ range: Range<Int>, sampleSize: Int) -> BatchElements {
    BatchElements(buffer: UnsafeBufferPointer(rebasing: buffer[range.lowerBound * sampleSize..<range.upperBound * sampleSize]))
  }
}

/// The writable counterpart of ``BatchElements``: where a kernel writes a batch's values.
/// Never overlaps a ``BatchElements`` of the same call.
struct MutableBatchElements<Scalar> {
  /// The values, in the batch's layout.
  let buffer: UnsafeMutableBufferPointer<Scalar>

  /// How many values there are.
  var count: Int { buffer.count }

  /// Samples `range` of the batch, when each sample holds `sampleSize` values.
  func samples(_ range: Range<Int>, sampleSize: Int) -> MutableBatchElements {
    MutableBatchElements(
      buffer: UnsafeMutableBufferPointer(rebasing: buffer[range.lowerBound * sampleSize..<range.upperBound * sampleSize]))
  }
}

/// Calls `body` with the elements of `input` and of `output`. This is safe: both arrays
/// outlive the call, and `output`, held exclusively, cannot share storage with `input`.
@inline(__always)
func withElements<Scalar, Result, Failure: Error>(
  of input: [Scalar], writingInto output: inout [Scalar],
  _ body: (BatchElements<Scalar>, MutableBatchElements<Scalar>) throws(Failure) -> Result
) throws(Failure) -> Result {
  try input.withUnsafeBufferPointer { input throws(Failure) in
    try output.withUnsafeMutableBufferPointer { output throws(Failure) in
      try body(BatchElements(buffer: input), MutableBatchElements(buffer: output))
    }
  }
}

/// Calls `body` with the elements of `first`, `second` and `output`, as
/// ``withElements(of:writingInto:_:)``.
@inline(__always)
func withElements<Scalar, Result, Failure: Error>(
  of first: [Scalar], _ second: [Scalar], writingInto output: inout [Scalar],
  _ body: (BatchElements<Scalar>, BatchElements<Scalar>, MutableBatchElements<Scalar>) throws(Failure) -> Result
) throws(Failure) -> Result {
  try second.withUnsafeBufferPointer { second throws(Failure) in
    try withElements(of: first, writingInto: &output) { first, output throws(Failure) in
      try body(first, BatchElements(buffer: second), output)
    }
  }
}

/// Calls `body` with the elements of `input`. This is safe: the array outlives the call.
@inline(__always)
func withElements<Scalar, Result>(of input: [Scalar], _ body: (BatchElements<Scalar>) -> Result) -> Result {
  input.withUnsafeBufferPointer { body(BatchElements(buffer: $0)) }
}
