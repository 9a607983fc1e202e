/// Flattens every sample to a vector, as `torch.nn.Flatten()`: [N, d₁, …, d_k] →
/// [N, d₁·…·d_k]. The scalars are not copied; backward restores the input's shape.
public struct Flatten<Scalar: NetworkScalar>: ParameterlessLayer {
  /// The input shape of the last training-mode forward call.
  private var savedInputShape: [Int]?

  /// A flattening layer.
  public init() {}

  public var description: String { "Flatten" }

  public func outputShape(forInputShape inputShape: [Int]) throws -> [Int] {
    guard inputShape.count >= 2, inputShape.allSatisfy({ $0 > 0 }) else {
      throw shapeMismatch(expected: "[N, …] with rank ≥ 2", actual: inputShape)
    }
    return [inputShape[0], inputShape.dropFirst().reduce(1, *)]
  }

  public mutating func forward(_ input: Tensor<Scalar>, mode: ExecutionMode) throws -> Tensor<Scalar> {
    let shape = try outputShape(forInputShape: input.shape)
    savedInputShape = mode == .training ? input.shape : nil
    return input.reshaped(shape)
  }

  public mutating func backward(_ gradOutput: Tensor<Scalar>) throws -> Tensor<Scalar> {
    guard let inputShape = savedInputShape else { throw NetworkError.missingTrainingForward(layer: description) }
    try checkGradient(gradOutput, outputShape: try outputShape(forInputShape: inputShape))
    return gradOutput.reshaped(inputShape)
  }
}
