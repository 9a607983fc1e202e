/// The logistic function, elementwise on any shape:
/// ```
/// y = σ(x) = 1/(1 + e⁻ˣ)          backward: ∂L/∂x = ∂L/∂y · y·(1 − y)
/// ```
/// computed as eˣ/(1 + eˣ) for x < 0, so no exponential overflows
/// (``NetworkScalarKernels/logistic(_:into:)``: a vector kernel for Float).
public struct Sigmoid<Scalar: NetworkScalar>: ParameterlessLayer {
  private var saved = SavedActivationOutput<Scalar>()

  /// A sigmoid layer.
  public init() {}

  public var description: String { "Sigmoid" }

  public func outputShape(forInputShape inputShape: [Int]) throws -> [Int] { inputShape }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func forward(_ input: Tensor<Scalar>, mode: ExecutionMode) throws -> Tensor<Scalar> {
    try saved.forward(input, mode: mode, costPerElement: 4, kernel: Scalar.logistic)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func backward(_ gradOutput: Tensor<Scalar>) throws -> Tensor<Scalar> {
    try saved.backward(gradOutput, of: self) { $0 * $1 * (1 - $1) }
  }
}
