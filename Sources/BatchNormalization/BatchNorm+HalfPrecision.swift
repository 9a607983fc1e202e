import HalfPrecision

/// Batch normalization over 16-bit storage (`Float16`, `BFloat16`) with
/// Float32 everywhere else: PyTorch's CPU "mixed type" and ONNX's T/U rule. The input,
/// output, ∂loss/∂y and ∂loss/∂x are half; γ, β, the running statistics, the context,
/// ∂loss/∂γ and ∂loss/∂β are Float.
///
/// Every value is widened to Float exactly and computed as the Float layer computes it
/// (shifted sums, the numerics contract, the NaN/∞ rule, every layout, mode and variant,
/// determinism across thread counts), so the statistics of a half batch are those of the
/// same values as Float; each output is the Float result rounded once to the storage type,
/// to nearest, ties to even.
extension BatchNorm where Scalar == Float {
  /// ``forward(_:shape:mode:into:)`` on half-precision input and output.
  ///
  /// Both passes read the 16-bit input in place: the statistics (the Float layer's shifted
  /// sums, in its order, on the exactly widened values) and the normalizing pass, which
  /// writes the 16-bit output directly with the Float layer's coefficients and arithmetic
  /// (two bytes each way per value instead of four). Everything is checked before
  /// anything is written: on a thrown error `output` and the layer are unchanged.
  #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
    @_specialize(where Half == Float16)
  #endif
  @_specialize(where Half == BFloat16)
  public mutating func forward<Half: HalfPrecisionScalar>(
    _ input: [Half], shape: BatchNormShape, mode: BatchNormMode, into output: inout [Half]
  ) throws(BatchNormError) -> BatchNormContext<Float> {
    guard isKernelElement(Half.self) else { return try widenedForward(input, shape: shape, mode: mode, into: &output) }
    try validate(shape: shape, buffers: [("input", input.count), ("output", output.count)])
    let (groups, usesBatchStatistics) = try statisticsGroups(shape: shape, mode: mode)
    let sampleSize = shape.channels * shape.spatial
    let activation = configuration.activation
    return withElements(of: input, writingInto: &output) { input, output in
      let groupMoments = usesBatchStatistics ? groups.map { group in
        channelMoments(of: input.samples(group, sampleSize: sampleSize), shape: shape.samples(count: group.count))
      } : nil
      return normalizeGroups(shape: shape, mode: mode, groups: groups, groupMoments: groupMoments) { group, coefficients in
        normalize(
          stored: input.samples(group, sampleSize: sampleSize), shape: shape.samples(count: group.count),
          coefficients: coefficients, activation: activation, output: output.samples(group, sampleSize: sampleSize))
      }
    }
  }

  /// ``forward(_:shape:mode:)`` on half-precision input, into a new half array.
  public mutating func forward<Half: HalfPrecisionScalar>(
    _ input: [Half], shape: BatchNormShape, mode: BatchNormMode
  ) throws(BatchNormError) -> (output: [Half], context: BatchNormContext<Float>) {
    // Zeros, as the Float path allocates: a copy of the input would read it once more.
    var output = [Half](repeating: Half(rounding: 0), count: input.count)
    let context = try forward(input, shape: shape, mode: mode, into: &output)
    return (output, context)
  }

  /// ``backward(_:input:context:into:)`` on half-precision ∂loss/∂y, input and ∂loss/∂x;
  /// ∂loss/∂γ and ∂loss/∂β stay Float. Reads the 16-bit x and dy in place and writes the
  /// 16-bit dx directly, with the Float layer's sums, coefficients and arithmetic. On a
  /// thrown error `gradInput` is unchanged.
  #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
    @_specialize(where Half == Float16)
  #endif
  @_specialize(where Half == BFloat16)
  public func backward<Half: HalfPrecisionScalar>(
    _ gradOutput: [Half], input: [Half], context: BatchNormContext<Float>, into gradInput: inout [Half]
  ) throws(BatchNormError) -> ParameterGradients<Float> {
    guard isKernelElement(Half.self) else {
      var wideGradInput = [Float](repeating: 0, count: gradInput.count)
      let parameters = try backward(
        Half.widened(gradOutput), input: Half.widened(input), context: context, into: &wideGradInput)
      gradInput = Half.narrowed(wideGradInput)
      return parameters
    }
    return try withElements(of: gradOutput, input, writingInto: &gradInput) {
      gradOutput, input, gradInput throws(BatchNormError) in
      try backward(gradOutput, input: input, context: context, into: gradInput)
    }
  }

  /// ``backward(_:input:context:)`` on half-precision arrays, into a new half ∂loss/∂x.
  public func backward<Half: HalfPrecisionScalar>(
    _ gradOutput: [Half], input: [Half], context: BatchNormContext<Float>
  ) throws(BatchNormError) -> (gradInput: [Half], parameters: ParameterGradients<Float>) {
    var gradInput = [Half](repeating: Half(rounding: 0), count: gradOutput.count)
    let parameters = try backward(gradOutput, input: input, context: context, into: &gradInput)
    return (gradInput, parameters)
  }

  /// Forward for a 16-bit type of someone else's, which the kernels do not read in place:
  /// through Float arrays, with the same results.
  private mutating func widenedForward<Half: HalfPrecisionScalar>(
    _ input: [Half], shape: BatchNormShape, mode: BatchNormMode, into output: inout [Half]
  ) throws(BatchNormError) -> BatchNormContext<Float> {
    var wideOutput = [Float](repeating: 0, count: output.count)
    let context = try forward(Half.widened(input), shape: shape, mode: mode, into: &wideOutput)
    output = Half.narrowed(wideOutput)
    return context
  }
}
