import Foundation
import NeuralNetwork
import Testing

/// Each update rule against numbers worked out by hand (or, for Adam, against its
/// formula written out in scalar arithmetic), for three steps.
@Suite struct OptimizerTests {
  /// One parameter p = [1] named "weight" and one b = [1] named "bias", with gradients.
  static func model(weightGradient: Double, biasGradient: Double) -> Sequential<Double> {
    Sequential([
      FixedGradientLayer<Double>(
        parameterNames: ["weight", "bias"], parameters: [Tensor(shape: [1], scalars: [1]), Tensor(shape: [1], scalars: [1])],
        gradients: [Tensor(shape: [1], scalars: [weightGradient]), Tensor(shape: [1], scalars: [biasGradient])])
    ])
  }

  static func values(_ model: Sequential<Double>) -> [Double] { model.parameters.map { $0.scalars[0] } }

  @Test func plainGradientDescent() {
    var model = Self.model(weightGradient: 0.5, biasGradient: -1)
    var optimizer = SGD<Double>(schedule: .constant(0.1))
    for _ in 0..<3 { optimizer.step(&model) }
    // p = 1 − 3·0.1·g
    #expect(abs(Self.values(model)[0] - 0.85) < 1e-15)
    #expect(abs(Self.values(model)[1] - 1.3) < 1e-15)
    #expect(optimizer.stepCount == 3)
  }

  @Test func momentumWithWeightDecay() {
    var model = Self.model(weightGradient: 0.5, biasGradient: 0.5)
    var optimizer = SGD<Double>(
      schedule: .constant(0.1), momentum: 0.9, weightDecay: 0.01, weightDecayPolicy: .excludingBiasesAndNormalization)
    var weights: [Double] = []
    var biases: [Double] = []
    for _ in 0..<3 {
      optimizer.step(&model)
      weights.append(Self.values(model)[0])
      biases.append(Self.values(model)[1])
    }
    // d = 0.5 + 0.01·p; b = 0.9·b + d; p −= 0.1·b:
    // 1: d = 0.51, b = 0.51, p = 0.949
    // 2: d = 0.50949, b = 0.96849, p = 0.852151
    // 3: d = 0.50852151, b = 1.38016251, p = 0.714134749
    #expect(maximumDifference(weights, [0.949, 0.852151, 0.714134749]) < 1e-14)
    // The bias does not decay: b = 0.5, 0.95, 1.355; p = 0.95, 0.855, 0.7195.
    #expect(maximumDifference(biases, [0.95, 0.855, 0.7195]) < 1e-14)
  }

  @Test func nesterovMomentum() {
    var model = Self.model(weightGradient: 0.5, biasGradient: 0.5)
    var optimizer = SGD<Double>(schedule: .constant(0.1), momentum: 0.9, nesterov: true)
    var weights: [Double] = []
    for _ in 0..<3 {
      optimizer.step(&model)
      weights.append(Self.values(model)[0])
    }
    // b = 0.5, 0.95, 1.355; step g + 0.9·b = 0.95, 1.355, 1.7195; p = 0.905, 0.7695, 0.59755.
    #expect(maximumDifference(weights, [0.905, 0.7695, 0.59755]) < 1e-14)
  }

  /// Adam's update for one scalar, written out: the formula of the paper with
  /// PyTorch's placement of ε.
  static func adamReference(
    gradients: [Double], rate: Double, weightDecay: Double, decoupled: Bool
  ) -> [Double] {
    var (p, m, v) = (1.0, 0.0, 0.0)
    var result: [Double] = []
    for (index, gradient) in gradients.enumerated() {
      let t = Double(index + 1)
      if decoupled { p *= 1 - rate * weightDecay }
      let g = decoupled ? gradient : gradient + weightDecay * p
      m = 0.9 * m + 0.1 * g
      v = 0.999 * v + 0.001 * g * g
      let mHat = m / (1 - pow(0.9, t))
      let vHat = v / (1 - pow(0.999, t))
      p -= rate * mHat / (vHat.squareRoot() + 1e-8)
      result.append(p)
    }
    return result
  }

  @Test(arguments: [false, true])
  func adamAndAdamW(decoupled: Bool) {
    let gradients = [0.5, -0.25, 2.0]
    var model = Self.model(weightGradient: 0, biasGradient: 0)
    var optimizer = Adam<Double>(schedule: .constant(0.1), weightDecay: 0.1, decoupledWeightDecay: decoupled)
    var weights: [Double] = []
    for gradient in gradients {
      model.layers[0] = FixedGradientLayer<Double>(
        parameterNames: ["weight", "bias"], parameters: model.parameters,
        gradients: [Tensor(shape: [1], scalars: [gradient]), Tensor(shape: [1], scalars: [gradient])])
      optimizer.step(&model)
      weights.append(Self.values(model)[0])
    }
    // The first step moves by about η whatever the gradient's size: m̂/√v̂ = g/|g|.
    let firstDecay = decoupled ? 0.99 : 1
    let firstGradient = decoupled ? 0.5 : 0.5 + 0.1
    #expect(abs(weights[0] - (firstDecay - 0.1 * firstGradient / (firstGradient + 1e-8))) < 1e-12)
    let expected = Self.adamReference(gradients: gradients, rate: 0.1, weightDecay: 0.1, decoupled: decoupled)
    #expect(maximumDifference(weights, expected) < 1e-12)
  }

  @Test func decayPolicyLeavesOutBiasesAndNormalization() throws {
    var generator = SeededGenerator(seed: 1)
    let model = Sequential<Float>([
      try Linear(inputFeatures: 3, outputFeatures: 2, using: &generator),
      try BatchNormLayer(.batchNorm1d, channels: 2),
      try Linear(inputFeatures: 2, outputFeatures: 2, hasBias: false, using: &generator),
    ])
    #expect(WeightDecayPolicy.excludingBiasesAndNormalization.decays(model) == [true, false, false, false, true])
    #expect(WeightDecayPolicy.allParameters.decays(model) == [true, true, true, true, true])
  }

  @Test func learningRateSchedules() {
    #expect(LearningRateSchedule.constant(0.3).rate(atStep: 1000) == 0.3)
    let step = LearningRateSchedule.step(initial: 0.1, every: 2, factor: 0.5)
    #expect((0..<5).map { step.rate(atStep: $0) } == [0.1, 0.1, 0.05, 0.05, 0.025])
    let cosine = LearningRateSchedule.cosine(initial: 1, minimum: 0.1, steps: 4)
    let rates = [0, 2, 4, 10].map { cosine.rate(atStep: $0) }
    #expect(maximumDifference(rates, [1, 0.55, 0.1, 0.1]) < 1e-15)
    // cos(π/4): 0.1 + 0.9·(1 + √½)/2
    #expect(abs(cosine.rate(atStep: 1) - (0.1 + 0.45 * (1 + 0.5.squareRoot()))) < 1e-15)
  }

  @Test func optimizerUsesTheScheduledRate() {
    var model = Self.model(weightGradient: 1, biasGradient: 1)
    var optimizer = SGD<Double>(schedule: .step(initial: 0.1, every: 1, factor: 0.5))
    for _ in 0..<3 { optimizer.step(&model) }
    // p = 1 − (0.1 + 0.05 + 0.025)
    #expect(abs(Self.values(model)[0] - 0.825) < 1e-15)
    #expect(optimizer.learningRate == 0.0125)
  }
}
