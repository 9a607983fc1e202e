import NeuralNetwork

/// Santurkar et al.'s "noisy BN" perturbation (2018, §2.1): after a batch-normalization
/// layer, every unit c of a training batch becomes
/// ```
/// y = s_c · x + m_c,   m_c ~ U(−meanLimit, meanLimit),   s_c ~ U(1, scaleLimit)
/// ```
/// with m and s drawn anew at every training forward pass (the same for every sample of the
/// batch), so that the next layer's input distribution moves at every step. Backward:
/// ∂L/∂x = s_c · ∂L/∂y. Inference passes x through unchanged: the noise is a perturbation of
/// training only, and it lies after BN, so the running statistics never see it.
struct NonStationaryNoise: ParameterlessLayer {
  typealias Scalar = Float

  let meanLimit: Float
  let scaleLimit: Float
  private var generator: SeededGenerator
  /// The scales of the last training forward pass, for backward.
  private var scales: [Float] = []

  init(meanLimit: Float, scaleLimit: Float, seed: UInt64) {
    precondition(meanLimit >= 0 && scaleLimit >= 1, "noise needs a mean limit ≥ 0 and a scale limit ≥ 1")
    self.meanLimit = meanLimit
    self.scaleLimit = scaleLimit
    generator = SeededGenerator(seed: seed)
  }

  var description: String { "NonStationaryNoise(mean ±\(meanLimit), scale 1…\(scaleLimit))" }

  func outputShape(forInputShape inputShape: [Int]) throws -> [Int] { inputShape }

  mutating func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float> {
    guard mode == .training else { return input }
    guard input.shape.count == 2 else {
      throw NetworkError.shapeMismatch(layer: description, expected: "[N, C]", actual: input.shape)
    }
    let units = input.shape[1]
    scales = (0..<units).map { _ in Float.random(in: 1...scaleLimit, using: &generator) }
    let means = (0..<units).map { _ in Float.random(in: -meanLimit...meanLimit, using: &generator) }
    let values = input.scalars
    return Tensor(
      shape: input.shape, scalars: values.indices.map { values[$0] * scales[$0 % units] + means[$0 % units] })
  }

  mutating func backward(_ gradOutput: Tensor<Float>) throws -> Tensor<Float> {
    guard !scales.isEmpty, gradOutput.shape.count == 2, gradOutput.shape[1] == scales.count else {
      throw NetworkError.shapeMismatch(
        layer: description, expected: "the gradient of the last training forward pass", actual: gradOutput.shape)
    }
    let units = scales.count
    let gradients = gradOutput.scalars
    return Tensor(shape: gradOutput.shape, scalars: gradients.indices.map { gradients[$0] * scales[$0 % units] })
  }
}
