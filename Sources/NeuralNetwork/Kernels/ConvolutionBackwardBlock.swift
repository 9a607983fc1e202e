/// The base addresses of a ``ConvolutionWorkspace``'s buffers while a block loop runs:
/// each block's slot is `slot · size` elements in (see ``ConvolutionSamples``).
struct ConvolutionBlockBuffers<Scalar: NetworkScalar> {
  let columns: UnsafeMutablePointer<Scalar>
  /// nil when the workspace holds no column gradients (∂L/∂x is not computed).
  let columnGradients: UnsafeMutablePointer<Scalar>?
  let weightGradients: UnsafeMutablePointer<Scalar>
  let biasGradients: UnsafeMutablePointer<Scalar>
}

extension ConvolutionWorkspace {
  /// Calls `body` with the buffers' base addresses, valid only inside it.
  /// - Precondition: columns, weightGradients and biasGradients are non-empty.
  mutating func withBlockBuffers(_ body: (ConvolutionBlockBuffers<Scalar>) -> Void) {
    columns.withUnsafeMutableBufferPointer { columns in
      columnGradients.withUnsafeMutableBufferPointer { columnGradients in
        weightGradients.withUnsafeMutableBufferPointer { weightGradients in
          biasGradients.withUnsafeMutableBufferPointer { biasGradients in
            // This is safe: the three buffers are non-empty (the precondition), and an
            // empty columnGradients becomes nil.
            body(
              ConvolutionBlockBuffers(
                columns: columns.baseAddress!, columnGradients: columnGradients.baseAddress,
                weightGradients: weightGradients.baseAddress!, biasGradients: biasGradients.baseAddress!))
          }
        }
      }
    }
  }
}

/// One backward pass's operands, shared by the blocks of its parallel loop.
struct ConvolutionSamples<Scalar: NetworkScalar> {
  let input: UnsafePointer<Scalar>
  let gradOutput: UnsafePointer<Scalar>
  let weight: UnsafePointer<Scalar>
  let geometry: ConvolutionGeometry
  let outputChannels: Int
  /// N samples of [C, H, W], or nil to skip ∂L/∂x.
  let gradInput: UnsafeMutablePointer<Scalar>?

  /// The backward pass of `samples` (one block): overwrites block `block`'s partial
  /// ∂L/∂W and ∂L/∂b with their sums over the samples and adds each sample's ∂L/∂x;
  /// unfolds into column slot `slot`, which no other thread uses meanwhile.
  func backward(_ samples: Range<Int>, buffers: ConvolutionBlockBuffers<Scalar>, slot: Int, block: Int) {
    let positions = geometry.outputPositions
    let columnRows = geometry.columnRows
    let columnCount = columnRows * positions
    let outputPlaneSize = outputChannels * positions
    // These are safe: the workspace holds a slot of each size for every block, the
    // column gradients exist whenever gradInput does, and each sample owns its planes.
    let columns = buffers.columns + slot * columnCount
    let weightGradient = buffers.weightGradients + block * outputChannels * columnRows
    let biasGradient = UnsafeMutableBufferPointer(start: buffers.biasGradients + block * outputChannels, count: outputChannels)
    biasGradient.update(repeating: 0)
    for sample in samples {
      let sampleGradient = gradOutput + sample * outputPlaneSize
      im2col(input: input + sample * geometry.inputPlaneSize, geometry: geometry, columns: columns)
      Scalar.gemm(
        transposeA: false, transposeB: true, m: outputChannels, n: columnRows, k: positions, alpha: 1,
        a: sampleGradient, b: columns, beta: sample == samples.lowerBound ? 0 : 1, c: weightGradient)
      addRowSums(
        of: UnsafeBufferPointer(start: sampleGradient, count: outputPlaneSize), rows: outputChannels,
        columns: positions, into: biasGradient)
      guard let gradInput, let columnGradients = buffers.columnGradients else { continue }
      let columnGradient = columnGradients + slot * columnCount
      Scalar.gemm(
        transposeA: true, transposeB: false, m: columnRows, n: positions, k: outputChannels, alpha: 1,
        a: weight, b: sampleGradient, beta: 0, c: columnGradient)
      col2im(columns: columnGradient, geometry: geometry, gradInput: gradInput + sample * geometry.inputPlaneSize)
    }
  }
}
