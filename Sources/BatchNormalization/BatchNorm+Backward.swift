extension BatchNorm {
  /// The gradients of the loss with respect to the input, γ and β, given the gradient
  /// with respect to the output of the forward call that returned `context`.
  ///
  /// With batch statistics (x̂ = (x − µ_B)/σ_B, m values per channel and group):
  /// ```
  /// dβ = Σ dy,   dγ = Σ dy·x̂,   dx = γ/σ_B · (dy − dβ/m − x̂·dγ/m)
  /// ```
  /// With running statistics they are constants: dx = dy·γ/√(Var[x] + ε). Batch
  /// Renormalization's r and d are constants too; a fused ReLU masks dy where its output
  /// was 0.
  ///
  /// - Parameters:
  ///   - gradOutput: ∂loss/∂y, in the input's layout.
  ///   - input: the same x the forward call saw.
  ///   - context: what that forward call returned.
  ///   - gradInput: receives ∂loss/∂x.
  /// - Returns: ∂loss/∂γ and ∂loss/∂β (empty when the layer is not affine).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func backward(
    _ gradOutput: UnsafeBufferPointer<Scalar>, input: UnsafeBufferPointer<Scalar>, context: BatchNormContext<Scalar>,
    into gradInput: UnsafeMutableBufferPointer<Scalar>
  ) throws(BatchNormError) -> ParameterGradients<Scalar> {
    if let synchronization = context.synchronization {
      return try synchronizedBackward(
        gradOutput, input: input, context: context, into: gradInput, synchronization: synchronization)
    }
    let shape = context.shape
    try validateBackward(gradOutput, input: input, context: context, into: gradInput)

    let planeSize = shape.channels * shape.spatial
    var scaleGradient: [Double] = []
    var shiftGradient: [Double] = []
    let needsSums = context.usesBatchStatistics || configuration.isAffine
    for (index, group) in context.groups.enumerated() {
      let groupShape = shape.samples(count: group.count)
      let range = group.lowerBound * planeSize..<group.upperBound * planeSize
      let groupInput = UnsafeBufferPointer(rebasing: input[range])
      let groupGradOutput = UnsafeBufferPointer(rebasing: gradOutput[range])
      let forward = context.coefficients[index]
      let groupGradInput = UnsafeMutableBufferPointer(rebasing: gradInput[range])
      // Frozen statistics: dx = dy′·scale is known before the pass, so the sums' pass writes it.
      let fusesInputGradient = needsSums && !context.usesBatchStatistics
      let channelBlocked =
        context.usesBatchStatistics && groupShape.kernelLayout == .channelsFirst && backwardBlocksChannels(groupShape)
      let sums =
        channelBlocked
        ? channelBlockedBackward(
          input: groupInput, gradOutput: groupGradOutput, shape: groupShape, forward: forward,
          inverseStandardDeviation: context.inverseStandardDeviation[index * channels..<(index + 1) * channels],
          activation: context.activation, gradInput: groupGradInput)
        : needsSums
        ? [GradientSums](unsafeUninitializedCapacity: channels) { sums, initialized in
          // The kernel assigns every channel's sums (a trivial type, so no prior initialization).
          computeGradientSums(
            input: groupInput, gradOutput: groupGradOutput, shape: groupShape, coefficients: forward,
            activation: context.activation, into: sums, frozenGradInput: fusesInputGradient ? groupGradInput : nil)
          initialized = channels
        }
        : [GradientSums](repeating: GradientSums(), count: channels)
      let channelRange = index * channels..<(index + 1) * channels
      let needsInputCoefficients = !fusesInputGradient && !channelBlocked
      let groupGradients = channelGradients(
        sums, inverseStandardDeviation: context.inverseStandardDeviation[channelRange],
        renormalization: context.renormalization.map { ($0.r[channelRange], $0.d[channelRange]) },
        inputGradient: needsInputCoefficients
          ? (forward, context.usesBatchStatistics ? 1 / Double(groupShape.valuesPerChannel) : 0) : nil)
      if index == 0 {
        (scaleGradient, shiftGradient) = (groupGradients.scale, groupGradients.shift)
      } else {
        for channel in 0..<channels {
          scaleGradient[channel] += groupGradients.scale[channel]
          shiftGradient[channel] += groupGradients.shift[channel]
        }
      }
      if let coefficients = groupGradients.inputCoefficients {
        computeInputGradient(
          input: groupInput, gradOutput: groupGradOutput, shape: groupShape, forward: forward,
          activation: context.activation, coefficients: coefficients,
          usesBatchStatistics: context.usesBatchStatistics, gradInput: groupGradInput)
      }
    }
    guard configuration.isAffine else { return ParameterGradients(scale: [], shift: []) }
    return ParameterGradients(
      scale: perChannel(channels) { Scalar(scaleGradient[$0]) }, shift: perChannel(channels) { Scalar(shiftGradient[$0]) })
  }

  /// Checks backward's buffers against the context's shape, and the context against the
  /// layer.
  func validateBackward(
    _ gradOutput: UnsafeBufferPointer<Scalar>, input: UnsafeBufferPointer<Scalar>, context: BatchNormContext<Scalar>,
    into gradInput: UnsafeMutableBufferPointer<Scalar>
  ) throws(BatchNormError) {
    try validate(
      shape: context.shape,
      buffers: [("gradient of the output", gradOutput.count), ("input", input.count), ("gradient of the input", gradInput.count)])
    guard context.coefficients.count == context.groups.count,
      context.coefficients.allSatisfy({ $0.channels == channels }),
      context.inverseStandardDeviation.count == context.groups.count * channels,
      context.renormalization.map({ $0.r.count == context.groups.count * channels && $0.d.count == $0.r.count }) ?? true
    else { throw .contextMismatch(reason: "the context was not made by forward for \(channels) channels") }
  }

  /// One group's per-channel results from its sums S = Σdy′ and P = Σdy′·(x − µ_B), in one
  /// pass over the channels, split over threads for wide layers: dβ = S and
  /// dγ = r·P/σ_B + d·S (r = 1, d = 0 without Batch Renormalization), and, when
  /// `inputGradient` gives the forward coefficients and 1/m (0 when frozen), the input
  /// gradient's coefficients (``inputGradientCoefficients(scale:inverse:sums:reciprocalCount:)``;
  /// frozen: gradCenterScale and gradShift are ±0, or NaN from non-finite sums, and never
  /// read, as the frozen kernel uses gradScale only).
  func channelGradients(
    _ sums: [GradientSums], inverseStandardDeviation: ArraySlice<Scalar>,
    renormalization: (r: ArraySlice<Scalar>, d: ArraySlice<Scalar>)?,
    inputGradient: (forward: ChannelCoefficients<Scalar>, reciprocalCount: Double)?
  ) -> (scale: [Double], shift: [Double], inputCoefficients: InputGradientCoefficients<Scalar>?) {
    // Buffer pointers, not array subscripts: no bounds checks, so the loops vectorize. This
    // is safe: every array and row holds `channels` values (backward's guard checked the
    // context, the kernels made `channels` sums), and each range writes only its own channels.
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
  private func inputGradientCoefficients(
    scale a: Scalar, inverse: Double, sums: GradientSums, reciprocalCount: Double
  ) -> (Scalar, Scalar, Scalar) {
    (a, Scalar(-Double(a) * inverse * inverse * sums.dot * reciprocalCount), Scalar(-Double(a) * sums.sum * reciprocalCount))
  }

  /// Channels-first backward with batch statistics, one channel per work item: its sums,
  /// its coefficients, then its dx while its planes are still in cache (x and dy are read
  /// from memory once instead of twice when a channel's N·S values fit the cache).
  /// The same arithmetic as the separate passes, so the same results.
  private func channelBlockedBackward(
    input: UnsafeBufferPointer<Scalar>, gradOutput: UnsafeBufferPointer<Scalar>, shape: BatchNormShape,
    forward: ChannelCoefficients<Scalar>, inverseStandardDeviation: ArraySlice<Scalar>, activation: FusedActivation,
    gradInput: UnsafeMutableBufferPointer<Scalar>
  ) -> [GradientSums] {
    let reciprocalCount = 1 / Double(shape.valuesPerChannel)
    return inverseStandardDeviation.withUnsafeBufferPointer { inverse in
      forward.withTable { table in
        [GradientSums](unsafeUninitializedCapacity: channels) { sums, initialized in
          // This is safe: `inverse` holds C values and the table 3·C; the kernel has
          // assigned sums[channel] when it calls back.
          let totals = sums.baseAddress!
          computeGradientSums(
            input: input, gradOutput: gradOutput, shape: shape, coefficients: forward, activation: activation,
            into: sums
          ) { channel in
            let (gradScale, gradCenterScale, gradShift) = inputGradientCoefficients(
              scale: table[channels + channel], inverse: Double(inverse[channel]), sums: totals[channel],
              reciprocalCount: reciprocalCount)
            computeChannelInputGradient(
              channel: channel, input: input.baseAddress!, gradOutput: gradOutput.baseAddress!, shape: shape,
              coefficients: (
                table[channel], table[channels + channel], table[2 * channels + channel], gradScale, gradCenterScale,
                gradShift
              ),
              activation: activation, gradInput: gradInput.baseAddress!)
          }
          initialized = channels
        }
      }
    }
  }

  /// The array form of ``backward(_:input:context:into:)``.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func backward(
    _ gradOutput: [Scalar], input: [Scalar], context: BatchNormContext<Scalar>
  ) throws(BatchNormError) -> (gradInput: [Scalar], parameters: ParameterGradients<Scalar>) {
    var gradInput = [Scalar](repeating: 0, count: gradOutput.count)
    let parameters = try gradOutput.withUnsafeBufferPointer { gradOutput throws(BatchNormError) in
      try input.withUnsafeBufferPointer { input throws(BatchNormError) in
        try gradInput.withUnsafeMutableBufferPointer { gradInput throws(BatchNormError) in
          try backward(gradOutput, input: input, context: context, into: gradInput)
        }
      }
    }
    return (gradInput, parameters)
  }
}
