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
    let shape = context.shape
    try validate(
      shape: shape,
      buffers: [("gradient of the output", gradOutput.count), ("input", input.count), ("gradient of the input", gradInput.count)])
    guard context.coefficients.count == context.groups.count,
      context.inverseStandardDeviation.count == context.groups.count * channels
    else { throw .contextMismatch(reason: "the context was not made by forward for \(channels) channels") }

    let planeSize = shape.channels * shape.spatial
    var scaleGradient = [Double](repeating: 0, count: channels)
    var shiftGradient = [Double](repeating: 0, count: channels)
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
      var sums = [GradientSums](repeating: GradientSums(), count: channels)
      if needsSums {
        sums.withUnsafeMutableBufferPointer { sums in
          computeGradientSums(
            input: groupInput, gradOutput: groupGradOutput, shape: groupShape, coefficients: forward,
            activation: context.activation, into: sums, frozenGradInput: fusesInputGradient ? groupGradInput : nil)
        }
      }
      let reciprocalCount = 1 / Double(groupShape.valuesPerChannel)
      let channelRange = index * channels..<(index + 1) * channels
      let inverse = perChannel(channels) { Double(context.inverseStandardDeviation[channelRange.lowerBound + $0]) }
      let renormalization = context.renormalization.map { factors in
        (
          r: perChannel(channels) { Double(factors.r[channelRange.lowerBound + $0]) },
          d: perChannel(channels) { Double(factors.d[channelRange.lowerBound + $0]) }
        )
      }
      for channel in 0..<channels {
        shiftGradient[channel] += sums[channel].sum
      }
      if let renormalization {
        for channel in 0..<channels {
          scaleGradient[channel] +=
            renormalization.r[channel] * inverse[channel] * sums[channel].dot + renormalization.d[channel] * sums[channel].sum
        }
      } else {
        for channel in 0..<channels { scaleGradient[channel] += inverse[channel] * sums[channel].dot }
      }
      // Batch statistics: gradCenterScale = −a·P/(m·σ²), gradShift = −a·S/m; frozen: both 0.
      let centered = context.usesBatchStatistics
      let gradient = InputGradientCoefficients<Scalar>(
        gradScale: forward.scale,
        gradCenterScale: perChannel(channels) { channel in
          centered ? Scalar(-Double(forward.scale[channel]) * inverse[channel] * inverse[channel] * sums[channel].dot * reciprocalCount) : 0
        },
        gradShift: perChannel(channels) { channel in
          centered ? Scalar(-Double(forward.scale[channel]) * sums[channel].sum * reciprocalCount) : 0
        })
      if !fusesInputGradient {
        computeInputGradient(
          input: groupInput, gradOutput: groupGradOutput, shape: groupShape, forward: forward,
          activation: context.activation, coefficients: gradient, usesBatchStatistics: context.usesBatchStatistics,
          gradInput: groupGradInput)
      }
    }
    guard configuration.isAffine else { return ParameterGradients(scale: [], shift: []) }
    return ParameterGradients(
      scale: perChannel(channels) { Scalar(scaleGradient[$0]) }, shift: perChannel(channels) { Scalar(shiftGradient[$0]) })
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

/// `[value(0), …, value(count − 1)]`, written in place. Backward's per-channel arrays are
/// built this way rather than with `map` or `append`, which store the array's count after
/// every element: a memory dependency of a few cycles per channel that, with 8192
/// channels and two samples, cost more than the element passes (2x8192 backward 54 → 41 µs).
@inline(__always)
func perChannel<Element>(_ count: Int, _ value: (Int) -> Element) -> [Element] {
  [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
    for index in 0..<count { buffer.initializeElement(at: index, to: value(index)) }
    initialized = count
  }
}
