/// The convolution of a batch as one matrix product per sample:
/// y_n [out, P] = b + W [out, K] · columns_n [K, P]; each output plane starts at its
/// channel's bias and the product adds to it (β = 1), or overwrites it without bias.
///
/// - Parameters:
///   - input: N samples of [C, H, W].
///   - weight: [out, K] (the [out, C, kh, kw] weight seen as a matrix).
///   - bias: [out], or nil.
///   - columns: a workspace, grown to K·P elements when smaller.
///   - output: N samples of [out, Ho, Wo].
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func convolutionForward<Scalar: NetworkScalar>(
  input: [Scalar], weight: [Scalar], bias: [Scalar]?, geometry: ConvolutionGeometry, batch: Int,
  outputChannels: Int, columns: inout [Scalar], output: inout [Scalar]
) {
  let positions = geometry.outputPositions
  let outputPlaneSize = outputChannels * positions
  if columns.count < geometry.columnRows * positions {
    columns = [Scalar](repeating: 0, count: geometry.columnRows * positions)
  }
  input.withUnsafeBufferPointer { input in
    weight.withUnsafeBufferPointer { weight in
      columns.withUnsafeMutableBufferPointer { columns in
        output.withUnsafeMutableBufferPointer { output in
          for sample in 0..<batch {
            // These are safe: every buffer is non-empty (all sizes are positive).
            let sampleOutput = output.baseAddress! + sample * outputPlaneSize
            if let bias {
              for channel in 0..<outputChannels {
                (sampleOutput + channel * positions).update(repeating: bias[channel], count: positions)
              }
            }
            im2col(
              input: input.baseAddress! + sample * geometry.inputPlaneSize, geometry: geometry,
              columns: columns.baseAddress!)
            Scalar.gemm(
              transposeA: false, transposeB: false, m: outputChannels, n: positions, k: geometry.columnRows,
              alpha: 1, a: weight.baseAddress!, b: columns.baseAddress!, beta: bias == nil ? 0 : 1,
              c: sampleOutput)
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
/// - Parameters:
///   - columns, columnGradient: workspaces, grown to K·P elements when smaller
///     (columnGradient only when there is a `gradInput`).
///   - biasGradient: nil for a layer without bias.
///   - gradInput: N samples of [C, H, W], zero on entry; nil skips ∂L/∂x.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func convolutionBackward<Scalar: NetworkScalar>(
  input: [Scalar], gradOutput: [Scalar], weight: [Scalar], geometry: ConvolutionGeometry, batch: Int,
  outputChannels: Int, columns: inout [Scalar], columnGradient: inout [Scalar], weightGradient: inout [Scalar],
  biasGradient: inout Tensor<Scalar>?, gradInput: UnsafeMutablePointer<Scalar>?
) {
  let positions = geometry.outputPositions
  let outputPlaneSize = outputChannels * positions
  let columnCount = geometry.columnRows * positions
  if columns.count < columnCount { columns = [Scalar](repeating: 0, count: columnCount) }
  if gradInput != nil, columnGradient.count < columnCount { columnGradient = [Scalar](repeating: 0, count: columnCount) }
  input.withUnsafeBufferPointer { input in
    gradOutput.withUnsafeBufferPointer { gradOutput in
      weight.withUnsafeBufferPointer { weight in
        columns.withUnsafeMutableBufferPointer { columns in
          columnGradient.withUnsafeMutableBufferPointer { columnGradient in
            weightGradient.withUnsafeMutableBufferPointer { weightGradient in
              for sample in 0..<batch {
                // These are safe: every buffer is non-empty (all sizes are positive), and
                // columnGradient has K·P elements whenever gradInput is given.
                let sampleGradient = gradOutput.baseAddress! + sample * outputPlaneSize
                im2col(
                  input: input.baseAddress! + sample * geometry.inputPlaneSize, geometry: geometry,
                  columns: columns.baseAddress!)
                Scalar.gemm(
                  transposeA: false, transposeB: true, m: outputChannels, n: geometry.columnRows, k: positions,
                  alpha: 1, a: sampleGradient, b: columns.baseAddress!, beta: 1, c: weightGradient.baseAddress!)
                biasGradient?.scalars.withUnsafeMutableBufferPointer { sums in
                  addRowSums(
                    of: UnsafeBufferPointer(start: sampleGradient, count: outputPlaneSize), rows: outputChannels,
                    columns: positions, into: sums)
                }
                guard let gradInput else { continue }
                Scalar.gemm(
                  transposeA: true, transposeB: false, m: geometry.columnRows, n: positions, k: outputChannels,
                  alpha: 1, a: weight.baseAddress!, b: sampleGradient, beta: 0, c: columnGradient.baseAddress!)
                col2im(
                  columns: columnGradient.baseAddress!, geometry: geometry,
                  gradInput: gradInput + sample * geometry.inputPlaneSize)
              }
            }
          }
        }
      }
    }
  }
}
