/// The samples of one block of Conv2d's parallel loop. Fixed, not derived from the
/// thread count, so the weight and bias gradients (one partial sum per block, added in
/// block order) are the same for every thread count.
let convolutionBlockSize = 8

/// Conv2d's reusable buffers, one slot per block of ``convolutionBlockSize`` samples, so
/// the threads of the block loop never share one: a K·P column matrix and its gradient,
/// and the block's partial ∂L/∂W [out, K] and ∂L/∂b [out].
struct ConvolutionWorkspace<Scalar: NetworkScalar> {
  var columns: [Scalar] = []
  var columnGradients: [Scalar] = []
  var weightGradients: [Scalar] = []
  var biasGradients: [Scalar] = []

  /// Grows `buffer` to `count` elements when smaller (never shrinks it).
  static func reserve(_ buffer: inout [Scalar], count: Int) {
    if buffer.count < count { buffer = [Scalar](repeating: 0, count: count) }
  }
}

/// The blocks of ``convolutionBlockSize`` samples that cover a batch.
func convolutionBlocks(batch: Int) -> Int {
  (batch + convolutionBlockSize - 1) / convolutionBlockSize
}

/// The samples of block `block`.
func convolutionSamples(ofBlock block: Int, batch: Int) -> Range<Int> {
  block * convolutionBlockSize..<min(batch, (block + 1) * convolutionBlockSize)
}
