/// The bookkeeping every elementwise activation shares: y = f(x) on any shape, the output
/// kept in training mode, and a backward whose derivative is a function of that output
/// (σ: y(1 − y), tanh: 1 − y², ReLU: y > 0). The layers pass their own f and f′.
struct SavedActivationOutput<Scalar: NetworkScalar>: Sendable {
  /// The output of the last training-mode forward call.
  private var output: Tensor<Scalar>?

  /// f(input), remembered in training mode, forgotten otherwise: `function` per element.
  /// `costPerElement` is f's cost relative to a copy (see `parallelFor`).
  @inline(__always)
  mutating func forward(
    _ input: Tensor<Scalar>, mode: ExecutionMode, costPerElement: Int, _ function: (Scalar) -> Scalar
  ) throws -> Tensor<Scalar> {
    return remember(Tensor(shape: input.shape, scalars: mapElements(input.scalars, costPerElement: costPerElement, function)), mode: mode)
  }

  /// f(input), remembered in training mode, forgotten otherwise: `kernel` maps part of
  /// the input to the same part of the output (every element, independently), so large
  /// tensors are split between the compute threads.
  @inline(__always)
  mutating func forward(
    _ input: Tensor<Scalar>, mode: ExecutionMode, costPerElement: Int, kernel: ElementwiseKernel<Scalar>
  ) throws -> Tensor<Scalar> {
    return remember(Tensor(shape: input.shape, scalars: mapElements(input.scalars, costPerElement: costPerElement, kernel: kernel)), mode: mode)
  }

  /// Keeps `result` in training mode, forgets the last output otherwise; returns `result`.
  private mutating func remember(_ result: Tensor<Scalar>, mode: ExecutionMode) -> Tensor<Scalar> {
    output = mode == .training ? result : nil
    return result
  }

  /// ∂L/∂x = `gradient(∂L/∂y, y)` elementwise, for the last training-mode output.
  /// - Throws: ``NetworkError/missingTrainingForward(layer:)`` naming `layer` without one,
  ///   and ``NetworkError/shapeMismatch(layer:expected:actual:)`` for another shape.
  @inline(__always)
  func backward<Layer: NeuralNetwork.Layer>(
    _ gradOutput: Tensor<Scalar>, of layer: Layer, _ gradient: (_ gradOutput: Scalar, _ output: Scalar) -> Scalar
  ) throws -> Tensor<Scalar> where Layer.Scalar == Scalar {
    guard let output else { throw NetworkError.missingTrainingForward(layer: layer.description) }
    try layer.checkGradient(gradOutput, outputShape: output.shape)
    return Tensor(shape: output.shape, scalars: combined(gradOutput.scalars, output.scalars, gradient))
  }
}
