/// The rectifier, elementwise on any shape:
/// ```
/// y = max(0, x)          backward: ∂L/∂x = ∂L/∂y where y > 0, else 0
/// ```
/// The gradient at x = 0 is 0, as in PyTorch; a NaN passes through.
public struct ReLU<Scalar: NetworkScalar>: ParameterlessLayer {
  /// The output of the last training-mode forward call.
  private var savedOutput: Tensor<Scalar>?

  public init() {}

  public var description: String { "ReLU" }

  public func outputShape(forInputShape inputShape: [Int]) throws -> [Int] { inputShape }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func forward(_ input: Tensor<Scalar>, mode: ExecutionMode) throws -> Tensor<Scalar> {
    try checkConsistent(input)
    let output = Tensor(shape: input.shape, scalars: input.scalars.map { $0 < 0 ? 0 : $0 })
    savedOutput = mode == .training ? output : nil
    return output
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func backward(_ gradOutput: Tensor<Scalar>) throws -> Tensor<Scalar> {
    guard let output = savedOutput else { throw NetworkError.missingTrainingForward(layer: description) }
    try checkGradient(gradOutput, outputShape: output.shape)
    return Tensor(shape: output.shape, scalars: combined(gradOutput.scalars, output.scalars) { $1 > 0 ? $0 : 0 })
  }
}
