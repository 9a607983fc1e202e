import ComputeRuntime

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
    try forward(input, mode: mode, costPerElement: costPerElement) { input, output in
      for index in input.indices { output[index] = function(input[index]) }
    }
  }

  /// f(input), remembered in training mode, forgotten otherwise: `kernel` maps part of
  /// the input to the same part of the output (every element, independently), so large
  /// tensors are split between the compute threads.
  @inline(__always)
  mutating func forward(
    _ input: Tensor<Scalar>, mode: ExecutionMode, costPerElement: Int,
    kernel: (_ input: UnsafeBufferPointer<Scalar>, _ output: UnsafeMutableBufferPointer<Scalar>) -> Void
  ) throws -> Tensor<Scalar> {
    try checkConsistent(input)
    let count = input.scalars.count
    // The kernel writes every element of each range; Scalar is a trivial type.
    let scalars = [Scalar](unsafeUninitializedCapacity: count) { output, initializedCount in
      input.scalars.withUnsafeBufferPointer { input in
        parallelFor(count, costPerItem: costPerElement) { range in
          kernel(UnsafeBufferPointer(rebasing: input[range]), UnsafeMutableBufferPointer(rebasing: output[range]))
        }
      }
      initializedCount = count
    }
    let result = Tensor(shape: input.shape, scalars: scalars)
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
