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
  ///   `gradOutput`, `input` and `gradInput` hold the same N·C·S values as forward's input.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func backward(
    _ gradOutput: [Scalar], input: [Scalar], context: BatchNormContext<Scalar>, into gradInput: inout [Scalar]
  ) throws(BatchNormError) -> ParameterGradients<Scalar> {
    try withElements(of: gradOutput, input, writingInto: &gradInput) { gradOutput, input, gradInput throws(BatchNormError) in
      try backward(gradOutput, input: input, context: context, into: gradInput)
    }
  }

  /// `backward(_:input:context:into:)` on the elements of the caller's memory: Float or
  /// Double, or 16-bit storage with a Float layer (``isKernelElement(_:)`` must hold).
  func backward<Stored>(
    _ gradOutput: BatchElements<Stored>, input: BatchElements<Stored>, context: BatchNormContext<Scalar>,
    into gradInput: MutableBatchElements<Stored>
  ) throws(BatchNormError) -> ParameterGradients<Scalar> {
    try BackwardCall(layer: self, gradOutput: gradOutput, input: input, context: context, gradInput: gradInput)
      .runAsKnownElement()
  }

  /// Backward on elements the kernels read and write in place, computing in `Scalar`.
  func backward<Element: KernelElement>(
    elements gradOutput: BatchElements<Element>, input: BatchElements<Element>, context: BatchNormContext<Scalar>,
    into gradInput: MutableBatchElements<Element>
  ) throws(BatchNormError) -> ParameterGradients<Scalar> where Element.Value == Scalar {
    if let synchronization = context.synchronization {
      return try synchronizedBackward(
        gradOutput, input: input, context: context, into: gradInput, synchronization: synchronization)
    }
    let shape = context.shape
    try validateBackward(gradOutput, input: input, context: context, into: gradInput)

    let sampleSize = shape.channels * shape.spatial
    var scaleGradient: [Double] = []
    var shiftGradient: [Double] = []
    let needsSums = context.usesBatchStatistics || configuration.isAffine
    for (index, group) in context.groups.enumerated() {
      let groupShape = shape.samples(count: group.count)
      let groupInput = input.samples(group, sampleSize: sampleSize)
      let groupGradOutput = gradOutput.samples(group, sampleSize: sampleSize)
      let groupGradInput = gradInput.samples(group, sampleSize: sampleSize)
      let forward = context.coefficients[index]
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
        ? gradientSums(
          input: groupInput, gradOutput: groupGradOutput, shape: groupShape, coefficients: forward,
          activation: context.activation, frozenGradInput: fusesInputGradient ? groupGradInput : nil)
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
  func validateBackward<Stored>(
    _ gradOutput: BatchElements<Stored>, input: BatchElements<Stored>, context: BatchNormContext<Scalar>,
    into gradInput: MutableBatchElements<Stored>
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

  /// `backward(_:input:context:into:)` into a new array.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func backward(
    _ gradOutput: [Scalar], input: [Scalar], context: BatchNormContext<Scalar>
  ) throws(BatchNormError) -> (gradInput: [Scalar], parameters: ParameterGradients<Scalar>) {
    var gradInput = [Scalar](repeating: 0, count: gradOutput.count)
    let parameters = try backward(gradOutput, input: input, context: context, into: &gradInput)
    return (gradInput, parameters)
  }
}

/// ``BatchNorm/backward(elements:input:context:into:)`` for the kernel element that
/// `Stored` is: the layer and context are of its computing type (Float for 16-bit storage).
private struct BackwardCall<Stored, Scalar: BatchNormScalar>: KernelCall {
  typealias Failure = BatchNormError
  let layer: BatchNorm<Scalar>
  let gradOutput: BatchElements<Stored>
  let input: BatchElements<Stored>
  let context: BatchNormContext<Scalar>
  let gradInput: MutableBatchElements<Stored>

  func run<Element: KernelElement>(as element: Element.Type) throws(BatchNormError) -> ParameterGradients<Scalar> {
    let layer = layer as! BatchNorm<Element.Value>
    let gradients = try layer.backward(
      elements: gradOutput.viewed(as: element), input: input.viewed(as: element),
      context: context as! BatchNormContext<Element.Value>, into: gradInput.viewed(as: element))
    return gradients as! ParameterGradients<Scalar>
  }
}
