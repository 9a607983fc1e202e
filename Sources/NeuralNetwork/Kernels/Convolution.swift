import ComputeRuntime

/// The convolution of a batch as one matrix product per sample:
/// y_n [out, P] = b + W [out, K] · columns_n [K, P]; each output plane starts at its
/// channel's bias and the product adds to it (β = 1), or overwrites it without bias.
/// Blocks of ``convolutionBlockSize`` samples run in parallel (`parallelFor`), each with
/// its own column matrix; the products inside run on their block's thread (a nested
/// `parallelFor` runs serially, and BLAS is single-threaded).
///
/// - Parameters:
///   - input: N samples of [C, H, W].
///   - weight: [out, K] (the [out, C, kh, kw] weight seen as a matrix).
///   - bias: [out], or nil.
///   - workspace: its column matrices are grown when smaller.
///   - output: N samples of [out, Ho, Wo].
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func convolutionForward<Scalar: NetworkScalar>(
  input: [Scalar], weight: [Scalar], bias: [Scalar]?, geometry: ConvolutionGeometry, batch: Int,
  outputChannels: Int, workspace: inout ConvolutionWorkspace<Scalar>, output: inout [Scalar]
) {
  let positions = geometry.outputPositions
  let outputPlaneSize = outputChannels * positions
  let columnCount = geometry.columnRows * positions
  let blocks = convolutionBlocks(batch: batch)
  ConvolutionWorkspace.reserve(&workspace.columns, count: blocks * columnCount)
  let costPerBlock = convolutionBlockSize * outputPlaneSize * geometry.columnRows
  input.withUnsafeBufferPointer { input in
    weight.withUnsafeBufferPointer { weight in
      workspace.columns.withUnsafeMutableBufferPointer { columns in
        output.withUnsafeMutableBufferPointer { output in
          parallelFor(blocks, costPerItem: costPerBlock) { blockRange in
            // These are safe: every buffer is non-empty (all sizes are positive), the
            // range's first block owns its column slot, and each sample its output plane.
            let sampleColumns = columns.baseAddress! + blockRange.lowerBound * columnCount
            for block in blockRange {
              for sample in convolutionSamples(ofBlock: block, batch: batch) {
                let sampleOutput = output.baseAddress! + sample * outputPlaneSize
                if let bias {
                  for channel in 0..<outputChannels {
                    (sampleOutput + channel * positions).update(repeating: bias[channel], count: positions)
                  }
                }
                im2col(
                  input: input.baseAddress! + sample * geometry.inputPlaneSize, geometry: geometry,
                  columns: sampleColumns)
                Scalar.gemm(
                  transposeA: false, transposeB: false, m: outputChannels, n: positions, k: geometry.columnRows,
                  alpha: 1, a: weight.baseAddress!, b: sampleColumns, beta: bias == nil ? 0 : 1, c: sampleOutput)
              }
            }
          }
        }
      }
    }
  }
}

/// The convolution's backward pass, per sample n (the columns are unfolded again from
/// the input rather than kept from forward):
/// ```
/// ∂L/∂W [out, K]       += ∂L/∂y_n [out, P] · columns_nᵀ [P, K]
/// ∂L/∂b [out]          += Σ_positions ∂L/∂y_n
/// ∂L/∂columns_n [K, P]  = Wᵀ [K, out] · ∂L/∂y_n [out, P],  folded into ∂L/∂x_n by col2im
/// ```
/// Blocks of ``convolutionBlockSize`` samples run in parallel; each sums its samples'
/// ∂L/∂W and ∂L/∂b into its own partial sums, which are then added to the layer's
/// gradients in block order, so the result does not depend on the thread count.
///
/// - Parameters:
///   - workspace: its buffers are grown when smaller (the column gradients only when
///     there is a `gradInput`).
///   - biasGradient: nil for a layer without bias.
///   - gradInput: N samples of [C, H, W], zero on entry; nil skips ∂L/∂x.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func convolutionBackward<Scalar: NetworkScalar>(
  input: [Scalar], gradOutput: [Scalar], weight: [Scalar], geometry: ConvolutionGeometry, batch: Int,
  outputChannels: Int, workspace: inout ConvolutionWorkspace<Scalar>, weightGradient: inout [Scalar],
  biasGradient: inout Tensor<Scalar>?, gradInput: inout [Scalar]?
) {
  guard gradInput != nil else {
    return convolutionBackward(
      input: input, gradOutput: gradOutput, weight: weight, geometry: geometry, batch: batch,
      outputChannels: outputChannels, workspace: &workspace, weightGradient: &weightGradient,
      biasGradient: &biasGradient, gradInputStart: nil)
  }
  precondition(gradInput!.count == input.count && !input.isEmpty)
  // This is safe: gradInput holds as many values as the input, at least one.
  gradInput!.withUnsafeMutableBufferPointer { gradInput in
    convolutionBackward(
      input: input, gradOutput: gradOutput, weight: weight, geometry: geometry, batch: batch,
      outputChannels: outputChannels, workspace: &workspace, weightGradient: &weightGradient,
      biasGradient: &biasGradient, gradInputStart: gradInput.baseAddress!)
  }
}

/// ``convolutionBackward(input:gradOutput:weight:geometry:batch:outputChannels:workspace:weightGradient:biasGradient:gradInput:)``
/// writing ∂L/∂x from `gradInputStart` on.
private func convolutionBackward<Scalar: NetworkScalar>(
  input: [Scalar], gradOutput: [Scalar], weight: [Scalar], geometry: ConvolutionGeometry, batch: Int,
  outputChannels: Int, workspace: inout ConvolutionWorkspace<Scalar>, weightGradient: inout [Scalar],
  biasGradient: inout Tensor<Scalar>?, gradInputStart gradInput: UnsafeMutablePointer<Scalar>?
) {
  let positions = geometry.outputPositions
  let columnCount = geometry.columnRows * positions
  let weightCount = outputChannels * geometry.columnRows
  let blocks = convolutionBlocks(batch: batch)
  ConvolutionWorkspace.reserve(&workspace.columns, count: blocks * columnCount)
  if gradInput != nil { ConvolutionWorkspace.reserve(&workspace.columnGradients, count: blocks * columnCount) }
  ConvolutionWorkspace.reserve(&workspace.weightGradients, count: blocks * weightCount)
  ConvolutionWorkspace.reserve(&workspace.biasGradients, count: blocks * outputChannels)
  let costPerBlock = convolutionBlockSize * (gradInput == nil ? 1 : 2) * weightCount * positions
  input.withUnsafeBufferPointer { input in
    gradOutput.withUnsafeBufferPointer { gradOutput in
      weight.withUnsafeBufferPointer { weight in
        workspace.withBlockBuffers { buffers in
          let samples = ConvolutionSamples(
            input: input.baseAddress!, gradOutput: gradOutput.baseAddress!, weight: weight.baseAddress!,
            geometry: geometry, outputChannels: outputChannels, gradInput: gradInput)
          parallelFor(blocks, costPerItem: costPerBlock) { blockRange in
            for block in blockRange {
              samples.backward(
                convolutionSamples(ofBlock: block, batch: batch), buffers: buffers,
                slot: blockRange.lowerBound, block: block)
            }
          }
        }
      }
    }
  }
  addBlockGradients(
    workspace: workspace, blocks: blocks, weightCount: weightCount, outputChannels: outputChannels,
    weightGradient: &weightGradient, biasGradient: &biasGradient)
}

/// Adds the blocks' partial ∂L/∂W and ∂L/∂b to the layer's, block after block.
private func addBlockGradients<Scalar: NetworkScalar>(
  workspace: ConvolutionWorkspace<Scalar>, blocks: Int, weightCount: Int, outputChannels: Int,
  weightGradient: inout [Scalar], biasGradient: inout Tensor<Scalar>?
) {
  for block in 0..<blocks {
    let weightStart = block * weightCount
    for index in 0..<weightCount { weightGradient[index] += workspace.weightGradients[weightStart + index] }
    guard biasGradient != nil else { continue }
    let biasStart = block * outputChannels
    for index in 0..<outputChannels { biasGradient!.scalars[index] += workspace.biasGradients[biasStart + index] }
  }
}
