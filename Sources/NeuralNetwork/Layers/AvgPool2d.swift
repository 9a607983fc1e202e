/// Average pooling over non-overlapping k×k windows (kernel = stride), as
/// `torch.nn.AvgPool2d(k)`:
/// ```
/// y[n, c, oy, ox] = 1/k² · Σ_{0 ≤ i, j < k} x[n, c, oy·k + i, ox·k + j]      [N, C, H, W] → [N, C, H/k, W/k]
/// backward: ∂L/∂x = ∂L/∂y/k² at every position of the window
/// ```
/// Rows and columns past the last whole window are dropped (H/k rounds down).
public struct AvgPool2d<Scalar: NetworkScalar>: ParameterlessLayer {
  /// k, the window's side and the stride.
  public let kernelSize: Int
  /// The input shape of the last training-mode forward call.
  private var savedInputShape: [Int]?

  /// - Throws: ``NetworkError/invalidParameter(layer:name:value:allowed:)`` for a
  ///   kernel size below 1.
  public init(kernelSize: Int) throws {
    guard kernelSize >= 1 else {
      throw NetworkError.invalidParameter(layer: "AvgPool2d", name: "kernel size", value: Double(kernelSize), allowed: "≥ 1")
    }
    self.kernelSize = kernelSize
  }

  public var description: String { "AvgPool2d(\(kernelSize))" }

  public func outputShape(forInputShape inputShape: [Int]) throws -> [Int] {
    try poolingGeometry(forInputShape: inputShape, kernelSize: kernelSize, layer: self).outputShape
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func forward(_ input: Tensor<Scalar>, mode: ExecutionMode) throws -> Tensor<Scalar> {
    let (geometry, shape) = try poolingGeometry(forInputShape: input.shape, kernelSize: kernelSize, layer: self)
    savedInputShape = mode == .training ? input.shape : nil
    return Tensor(shape: shape, scalars: averagePool(input.scalars, geometry: geometry))
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func backward(_ gradOutput: Tensor<Scalar>) throws -> Tensor<Scalar> {
    guard let inputShape = savedInputShape else { throw NetworkError.missingTrainingForward(layer: description) }
    let (geometry, shape) = try poolingGeometry(forInputShape: inputShape, kernelSize: kernelSize, layer: self)
    try checkGradient(gradOutput, outputShape: shape)
    return Tensor(shape: inputShape, scalars: averagePoolGradient(gradOutput.scalars, geometry: geometry))
  }
}
