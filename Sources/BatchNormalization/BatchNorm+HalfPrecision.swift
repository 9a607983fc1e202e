import HalfPrecision

/// Batch normalization over 16-bit storage (`Float16`, ``HalfPrecision/BFloat16``) with
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
  /// Everything is checked before anything is written: on a thrown error `output` and
  /// the layer are unchanged.
  public mutating func forward<Half: HalfPrecisionScalar>(
    _ input: [Half], shape: BatchNormShape, mode: BatchNormMode, into output: inout [Half]
  ) throws(BatchNormError) -> BatchNormContext<Float> {
    var wideOutput = [Float](repeating: 0, count: output.count)
    let context = try forward(Half.widened(input), shape: shape, mode: mode, into: &wideOutput)
    output = Half.narrowed(wideOutput)
    return context
  }

  /// ``forward(_:shape:mode:)`` on half-precision input, into a new half array.
  public mutating func forward<Half: HalfPrecisionScalar>(
    _ input: [Half], shape: BatchNormShape, mode: BatchNormMode
  ) throws(BatchNormError) -> (output: [Half], context: BatchNormContext<Float>) {
    let (output, context) = try forward(Half.widened(input), shape: shape, mode: mode)
    return (Half.narrowed(output), context)
  }

  /// ``backward(_:input:context:into:)`` on half-precision ∂loss/∂y, input and ∂loss/∂x;
  /// ∂loss/∂γ and ∂loss/∂β stay Float. On a thrown error `gradInput` is unchanged.
  public func backward<Half: HalfPrecisionScalar>(
    _ gradOutput: [Half], input: [Half], context: BatchNormContext<Float>, into gradInput: inout [Half]
  ) throws(BatchNormError) -> ParameterGradients<Float> {
    var wideGradInput = [Float](repeating: 0, count: gradInput.count)
    let parameters = try backward(
      Half.widened(gradOutput), input: Half.widened(input), context: context, into: &wideGradInput)
    gradInput = Half.narrowed(wideGradInput)
    return parameters
  }

  /// ``backward(_:input:context:)`` on half-precision arrays, into a new half ∂loss/∂x.
  public func backward<Half: HalfPrecisionScalar>(
    _ gradOutput: [Half], input: [Half], context: BatchNormContext<Float>
  ) throws(BatchNormError) -> (gradInput: [Half], parameters: ParameterGradients<Float>) {
    let (gradInput, parameters) = try backward(Half.widened(gradOutput), input: Half.widened(input), context: context)
    return (Half.narrowed(gradInput), parameters)
  }
}
