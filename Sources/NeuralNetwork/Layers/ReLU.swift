/// The rectifier, elementwise on any shape:
/// ```
/// y = max(0, x)          backward: ∂L/∂x = ∂L/∂y where y > 0, else 0
/// ```
/// The gradient at x = 0 is 0, as in PyTorch; a NaN passes through.
public struct ReLU<Scalar: NetworkScalar>: ParameterlessLayer {
  private var saved = SavedActivationOutput<Scalar>()

  /// A ReLU layer.
  public init() {}

  public var description: String { "ReLU" }

  public func outputShape(forInputShape inputShape: [Int]) throws -> [Int] { inputShape }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func forward(_ input: Tensor<Scalar>, mode: ExecutionMode) throws -> Tensor<Scalar> {
    try saved.forward(input, mode: mode, costPerElement: 1) { $0 < 0 ? 0 : $0 }
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func backward(_ gradOutput: Tensor<Scalar>) throws -> Tensor<Scalar> {
    try saved.backward(gradOutput, of: self) { $1 > 0 ? $0 : 0 }
  }
}
