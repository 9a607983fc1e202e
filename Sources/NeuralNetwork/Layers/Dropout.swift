/// Inverted dropout (Srivastava et al. 2014), as `torch.nn.Dropout(p)`: in training
/// each element is zeroed with probability p and the survivors are scaled by 1/(1 − p),
/// so the expected output equals the input and inference is the identity:
/// ```
/// training:  y = x · m,  m = 0 with probability p, else 1/(1 − p)     backward: ∂L/∂x = ∂L/∂y · m
/// inference, recalibration:  y = x
/// ```
/// The layer owns its seeded generator, so the same seed gives the same masks on every
/// run. With p = 1 every element is zeroed.
public struct Dropout<Scalar: NetworkScalar>: ParameterlessLayer {
  /// p, the probability that an element is zeroed.
  public let probability: Double
  /// Draws the masks; one uniform value per element per training call.
  public var generator: SeededGenerator
  /// The mask of the last training-mode forward call, in the input's shape.
  private var savedMask: Tensor<Scalar>?

  /// - Throws: ``NetworkError/invalidParameter(layer:name:value:allowed:)`` for p
  ///   outside [0, 1].
  public init(probability: Double = 0.5, seed: UInt64 = 0) throws {
    guard (0...1).contains(probability) else {
      throw NetworkError.invalidParameter(layer: "Dropout", name: "probability", value: probability, allowed: "0 … 1")
    }
    self.probability = probability
    self.generator = SeededGenerator(seed: seed)
  }

  public var description: String { "Dropout(\(probability))" }

  public func outputShape(forInputShape inputShape: [Int]) throws -> [Int] { inputShape }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func forward(_ input: Tensor<Scalar>, mode: ExecutionMode) throws -> Tensor<Scalar> {
    guard mode == .training else {
      savedMask = nil
      return input
    }
    let keptScale: Scalar = probability < 1 ? Scalar(1 / (1 - probability)) : 0
    var mask = [Scalar](repeating: 0, count: input.scalars.count)
    for index in mask.indices where generator.nextUniform() >= probability {
      mask[index] = keptScale
    }
    savedMask = Tensor(shape: input.shape, scalars: mask)
    return Tensor(shape: input.shape, scalars: combined(input.scalars, mask, *))
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func backward(_ gradOutput: Tensor<Scalar>) throws -> Tensor<Scalar> {
    guard let mask = savedMask else { throw NetworkError.missingTrainingForward(layer: description) }
    try checkGradient(gradOutput, outputShape: mask.shape)
    return Tensor(shape: mask.shape, scalars: combined(gradOutput.scalars, mask.scalars, *))
  }
}
