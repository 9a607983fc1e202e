/// Max pooling over non-overlapping k×k windows (kernel = stride), as
/// `torch.nn.MaxPool2d(k)`:
/// ```
/// y[n, c, oy, ox] = max_{0 ≤ i, j < k} x[n, c, oy·k + i, ox·k + j]      [N, C, H, W] → [N, C, H/k, W/k]
/// backward: ∂L/∂x is ∂L/∂y at each window's maximum (the first on ties), 0 elsewhere
/// ```
/// Rows and columns past the last whole window are dropped (H/k rounds down).
public struct MaxPool2d<Scalar: NetworkScalar>: ParameterlessLayer {
  /// k, the window's side and the stride.
  public let kernelSize: Int
  /// What backward needs: the input's shape and each maximum's index in its plane.
  private var saved: (inputShape: [Int], argmax: [Int32])?

  /// - Throws: ``NetworkError/invalidParameter(layer:name:value:allowed:)`` for a
  ///   kernel size below 1.
  public init(kernelSize: Int) throws {
    guard kernelSize >= 1 else {
      throw NetworkError.invalidParameter(layer: "MaxPool2d", name: "kernel size", value: Double(kernelSize), allowed: "≥ 1")
    }
    self.kernelSize = kernelSize
  }

  public var description: String { "MaxPool2d(\(kernelSize))" }

  public func outputShape(forInputShape inputShape: [Int]) throws -> [Int] {
    try poolingGeometry(forInputShape: inputShape, kernelSize: kernelSize, layer: self).outputShape
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func forward(_ input: Tensor<Scalar>, mode: ExecutionMode) throws -> Tensor<Scalar> {
    let (geometry, shape) = try poolingGeometry(forInputShape: input.shape, kernelSize: kernelSize, layer: self)
    let (output, argmax) = maxPool(input.scalars, geometry: geometry)
    saved = mode == .training ? (input.shape, argmax) : nil
    return Tensor(shape: shape, scalars: output)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func backward(_ gradOutput: Tensor<Scalar>) throws -> Tensor<Scalar> {
    guard let (inputShape, argmax) = saved else { throw NetworkError.missingTrainingForward(layer: description) }
    let (geometry, shape) = try poolingGeometry(forInputShape: inputShape, kernelSize: kernelSize, layer: self)
    try checkGradient(gradOutput, outputShape: shape)
    return Tensor(shape: inputShape, scalars: maxPoolGradient(gradOutput.scalars, argmax: argmax, geometry: geometry))
  }
}

/// The pooling sizes for an input [N, C, H, W] and windows of k×k, checked: H and W
/// must hold at least one window.
func poolingGeometry(
  forInputShape shape: [Int], kernelSize k: Int, layer: some Layer
) throws -> (geometry: PoolingGeometry, outputShape: [Int]) {
  guard shape.count == 4, shape.allSatisfy({ $0 > 0 }), shape[2] >= k, shape[3] >= k else {
    throw layer.shapeMismatch(expected: "[N, C, H, W] with H, W ≥ \(k)", actual: shape)
  }
  let geometry = PoolingGeometry(planes: shape[0] * shape[1], height: shape[2], width: shape[3], kernelSize: k)
  return (geometry, [shape[0], shape[1], geometry.outputHeight, geometry.outputWidth])
}
