/// The hyperbolic tangent, elementwise on any shape:
/// ```
/// y = tanh x          backward: ∂L/∂x = ∂L/∂y · (1 − y²)
/// ```
public struct Tanh<Scalar: NetworkScalar>: ParameterlessLayer {
  private var saved = SavedActivationOutput<Scalar>()

  /// A tanh layer.
  public init() {}

  public var description: String { "Tanh" }

  public func outputShape(forInputShape inputShape: [Int]) throws -> [Int] { inputShape }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func forward(_ input: Tensor<Scalar>, mode: ExecutionMode) throws -> Tensor<Scalar> {
    try saved.forward(input, mode: mode, costPerElement: 8, Scalar.hyperbolicTangent)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func backward(_ gradOutput: Tensor<Scalar>) throws -> Tensor<Scalar> {
    try saved.backward(gradOutput, of: self) { $0 * (1 - $1 * $1) }
  }
}
