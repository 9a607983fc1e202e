import ComputeRuntime

/// One group's per-channel results from its sums S = Σdy′ and P = Σdy′·(x − µ_B), in one
/// pass over the channels, split over threads for wide layers: dβ = S and
/// dγ = r·P/σ_B + d·S (r = 1, d = 0 without Batch Renormalization), and, when
/// `inputGradient` gives the forward coefficients and 1/m (0 when frozen), the input
/// gradient's coefficients (``inputGradientCoefficients(scale:inverse:sums:reciprocalCount:)``;
/// frozen: gradCenterScale and gradShift are ±0, or NaN from non-finite sums, and never
/// read, as the frozen kernel uses gradScale only).
func channelGradients<Scalar: BatchNormScalar>(
  _ sums: [GradientSums], inverseStandardDeviation: ArraySlice<Scalar>,
  renormalization: (r: ArraySlice<Scalar>, d: ArraySlice<Scalar>)?,
  inputGradient: (forward: ChannelCoefficients<Scalar>, reciprocalCount: Double)?
) -> (scale: [Double], shift: [Double], inputCoefficients: InputGradientCoefficients<Scalar>?) {
  let channels = sums.count
  precondition(inverseStandardDeviation.count == channels)
  precondition(renormalization.map { $0.r.count == channels && $0.d.count == channels } ?? true)
  precondition(inputGradient.map { $0.forward.channels == channels } ?? true)
  // Buffer pointers, not array subscripts: no bounds checks, so the loops vectorize. This
  // is safe: every array and row holds `channels` values (checked above), and each range
  // writes only its own channels.
  let r = renormalization?.r ?? [], d = renormalization?.d ?? []
  let forwardTable = inputGradient?.forward.storage ?? []
  let reciprocalCount = inputGradient?.reciprocalCount ?? 0
  /// Fills dγ and dβ, and the coefficient table when there is one.
  func compute(into table: UnsafeMutablePointer<Scalar>?) -> (scale: [Double], shift: [Double]) {
    var shift: [Double] = []
    let scale = [Double](unsafeUninitializedCapacity: channels) { scale, initialized in
      shift = [Double](unsafeUninitializedCapacity: channels) { shift, initialized in
        sums.withUnsafeBufferPointer { sums in
          inverseStandardDeviation.withUnsafeBufferPointer { inverse in
            r.withUnsafeBufferPointer { r in
              d.withUnsafeBufferPointer { d in
                forwardTable.withUnsafeBufferPointer { forwardTable in
                  let sums = sums.baseAddress!, inverse = inverse.baseAddress!
                  let scale = scale.baseAddress!, shift = shift.baseAddress!
                  // (An empty array's buffer may still have a base address: test the count.)
                  let factors = r.isEmpty ? nil : (r: r.baseAddress!, d: d.baseAddress!)
                  let forwardScale = forwardTable.isEmpty ? nil : forwardTable.baseAddress! + channels
                  parallelForChannels(channels, costPerChannel: 8) { range in
                    for channel in range { shift[channel] = sums[channel].sum }
                    if let (r, d) = factors {
                      for channel in range {
                        scale[channel] =
                          Double(r[channel]) * Double(inverse[channel]) * sums[channel].dot + Double(d[channel]) * sums[channel].sum
                      }
                    } else {
                      for channel in range { scale[channel] = Double(inverse[channel]) * sums[channel].dot }
                    }
                    guard let table, let forwardScale else { return }
                    let gradScale = table, gradCenterScale = table + channels, gradShift = table + 2 * channels
                    for channel in range {
                      (gradScale[channel], gradCenterScale[channel], gradShift[channel]) = inputGradientCoefficients(
                        scale: forwardScale[channel], inverse: Double(inverse[channel]), sums: sums[channel],
                        reciprocalCount: reciprocalCount)
                    }
                  }
                }
              }
            }
          }
        }
        initialized = channels
      }
      initialized = channels
    }
    return (scale, shift)
  }
  guard inputGradient != nil else {
    let (scale, shift) = compute(into: nil)
    return (scale, shift, nil)
  }
  var gradients: (scale: [Double], shift: [Double]) = ([], [])
  let coefficients = InputGradientCoefficients<Scalar>(channels: channels) { table in gradients = compute(into: table) }
  return (gradients.scale, gradients.shift, coefficients)
}

/// One channel's (gradScale, gradCenterScale, gradShift) = (a, −a·P·σ⁻²/m, −a·S/m).
@inline(__always)
private func inputGradientCoefficients<Scalar: BatchNormScalar>(
  scale a: Scalar, inverse: Double, sums: GradientSums, reciprocalCount: Double
) -> (Scalar, Scalar, Scalar) {
  (a, Scalar(-Double(a) * inverse * inverse * sums.dot * reciprocalCount), Scalar(-Double(a) * sums.sum * reciprocalCount))
}

/// Channels-first backward with batch statistics, one channel per work item: its sums,
/// its coefficients, then its dx while its planes are still in cache (x and dy are read
/// from memory once instead of twice when a channel's N·S values fit the cache).
/// The same arithmetic as the separate passes, so the same results.
func channelBlockedBackward<Element: KernelElement>(
  input: BatchElements<Element>, gradOutput: BatchElements<Element>, shape: BatchNormShape,
  forward: ChannelCoefficients<Element.Value>, inverseStandardDeviation: ArraySlice<Element.Value>,
  activation: FusedActivation, gradInput: MutableBatchElements<Element>
) -> [GradientSums] {
  let channels = shape.channels
  precondition(forward.channels == channels && inverseStandardDeviation.count == channels)
  let reciprocalCount = 1 / Double(shape.valuesPerChannel)
  return inverseStandardDeviation.withUnsafeBufferPointer { inverse in
    forward.withTable { table in
      [GradientSums](unsafeUninitializedCapacity: channels) { sums, initialized in
        // This is safe: `inverse` holds C values and the table 3·C (checked above); the
        // kernel has assigned sums[channel] when it calls back.
        let totals = sums.baseAddress!
        computeGradientSums(
          input: input.buffer, gradOutput: gradOutput.buffer, shape: shape, coefficients: forward, activation: activation,
          into: sums
        ) { channel in
          let (gradScale, gradCenterScale, gradShift) = inputGradientCoefficients(
            scale: table[channels + channel], inverse: Double(inverse[channel]), sums: totals[channel],
            reciprocalCount: reciprocalCount)
          computeChannelInputGradient(
            channel: channel, input: input.buffer.baseAddress!, gradOutput: gradOutput.buffer.baseAddress!, shape: shape,
            coefficients: (
              table[channel], table[channels + channel], table[2 * channels + channel], gradScale, gradCenterScale,
              gradShift
            ),
            activation: activation, gradInput: gradInput.buffer.baseAddress!)
        }
        initialized = channels
      }
    }
  }
}
