import BatchNormalization
import NeuralNetwork
import Testing

/// Finite-difference checks (Float64, relative error ≤ 1e-6) of every layer's backward,
/// for its input and every parameter.
@Suite struct LayerGradientTests {
  @Test(arguments: [true, false])
  func linear(hasBias: Bool) throws {
    var generator = SeededGenerator(seed: 1)
    let layer = try Linear<Double>(inputFeatures: 5, outputFeatures: 3, hasBias: hasBias, using: &generator)
    try GradientCheck.check(layer, input: generator.gaussianTensor([4, 5]))
  }

  @Test func linearFlattensImages() throws {
    var generator = SeededGenerator(seed: 2)
    let layer = try Linear<Double>(inputFeatures: 2 * 3 * 2, outputFeatures: 4, using: &generator)
    try GradientCheck.check(layer, input: generator.gaussianTensor([3, 2, 3, 2]))
  }

  /// (input [N, C, H, W], out, kernel, stride, padding, bias)
  static let convolutions: [([Int], Int, Int, Int, Int, Bool)] = [
    ([2, 3, 5, 5], 4, 3, 1, 1, true),
    ([2, 2, 6, 5], 3, 3, 2, 0, true),
    ([1, 2, 4, 4], 2, 2, 1, 2, false),
    ([3, 1, 7, 6], 2, 5, 3, 2, true),
  ]

  @Test(arguments: convolutions.indices)
  func conv2d(caseIndex: Int) throws {
    let (shape, outputChannels, kernel, stride, padding, hasBias) = Self.convolutions[caseIndex]
    var generator = SeededGenerator(seed: 3 + UInt64(caseIndex))
    let layer = try Conv2d<Double>(
      inputChannels: shape[1], outputChannels: outputChannels, kernelSize: kernel, stride: stride, padding: padding,
      hasBias: hasBias, using: &generator)
    try GradientCheck.check(layer, input: generator.gaussianTensor(shape))
  }

  @Test func conv2dRectangularKernel() throws {
    var generator = SeededGenerator(seed: 9)
    let weight: Tensor<Double> = generator.gaussianTensor([3, 2, 2, 3])
    let bias: Tensor<Double> = generator.gaussianTensor([3])
    let layer = try Conv2d(weight: weight, bias: bias, stride: 1, padding: 1)
    try GradientCheck.check(layer, input: generator.gaussianTensor([2, 2, 4, 5]))
  }

  @Test(arguments: [2, 3])
  func maxPool(kernelSize: Int) throws {
    var generator = SeededGenerator(seed: 10)
    // Distinct values 4/216 apart, far beyond the step 1e-6: no ties inside a window.
    try GradientCheck.check(MaxPool2d<Double>(kernelSize: kernelSize), input: generator.distinctTensor([2, 3, 6, 7]))
  }

  @Test(arguments: [2, 3])
  func averagePool(kernelSize: Int) throws {
    var generator = SeededGenerator(seed: 11)
    try GradientCheck.check(AvgPool2d<Double>(kernelSize: kernelSize), input: generator.gaussianTensor([2, 3, 6, 7]))
  }

  @Test func flatten() throws {
    var generator = SeededGenerator(seed: 12)
    try GradientCheck.check(Flatten<Double>(), input: generator.gaussianTensor([2, 3, 2, 2]))
  }

  @Test func sigmoid() throws {
    var generator = SeededGenerator(seed: 13)
    try GradientCheck.check(Sigmoid<Double>(), input: generator.gaussianTensor([4, 6], standardDeviation: 3))
  }

  @Test func tanh() throws {
    var generator = SeededGenerator(seed: 14)
    try GradientCheck.check(Tanh<Double>(), input: generator.gaussianTensor([4, 6], standardDeviation: 2))
  }

  @Test func relu() throws {
    var generator = SeededGenerator(seed: 15)
    // An even count of evenly spaced values: none at the kink x = 0.
    try GradientCheck.check(ReLU<Double>(), input: generator.distinctTensor([3, 2, 2, 2]))
  }

  @Test func dropout() throws {
    var generator = SeededGenerator(seed: 16)
    try GradientCheck.check(Dropout<Double>(probability: 0.4, seed: 99), input: generator.gaussianTensor([5, 8]))
  }

  /// (kind, input shape, configuration, override)
  static let batchNormCases: [(BatchNormKind, [Int], BatchNormConfiguration, BatchNormMode?)] = [
    (.batchNorm1d, [6, 4], .pytorch, nil),
    (.batchNorm1d, [4, 3, 5], .pytorch, nil),
    (.batchNorm2d, [3, 2, 4, 3], .pytorch, nil),
    (.batchNorm2d, [4, 2, 3, 3], BatchNormConfiguration(virtualBatchSize: 2), nil),
    (.batchNorm2d, [3, 2, 3, 3], .pytorch, .inference),
    (.batchNorm1d, [6, 4], BatchNormConfiguration(isAffine: false), nil),
  ]

  @Test(arguments: batchNormCases.indices)
  func batchNorm(caseIndex: Int) throws {
    let (kind, shape, configuration, modeOverride) = Self.batchNormCases[caseIndex]
    var generator = SeededGenerator(seed: 17 + UInt64(caseIndex))
    var layer = try BatchNormLayer<Double>(kind, channels: shape[1], configuration: configuration)
    if configuration.isAffine {
      // γ and β away from 1 and 0, running statistics away from 0 and 1.
      try layer.loadParameters([generator.gaussianTensor([shape[1]]), generator.gaussianTensor([shape[1]])])
      let mean: Tensor<Double> = generator.gaussianTensor([shape[1]])
      let variance = Tensor(shape: [shape[1]], scalars: (0..<shape[1]).map { _ in 0.5 + generator.nextUniform() })
      try layer.loadBuffers([mean, variance, Tensor(shape: [], scalars: [3])])
    }
    layer.modeOverride = modeOverride
    try GradientCheck.check(layer, input: generator.gaussianTensor(shape, standardDeviation: 2))
  }

  @Test func mlpWithBatchNormIntoCrossEntropy() throws {
    var generator = SeededGenerator(seed: 30)
    let model = Sequential<Double>([
      try Linear(inputFeatures: 6, outputFeatures: 5, using: &generator),
      try BatchNormLayer(.batchNorm1d, channels: 5),
      Sigmoid(),
      try Linear(inputFeatures: 5, outputFeatures: 4, using: &generator),
    ])
    let labels = generator.labels(8, classCount: 4)
    try GradientCheck.check(model, input: generator.gaussianTensor([8, 6])) { logits in
      try SoftmaxCrossEntropy().evaluate(logits: logits, labels: labels)
    }
  }

  @Test func cnnWithBatchNormIntoCrossEntropy() throws {
    var generator = SeededGenerator(seed: 31)
    let model = Sequential<Double>([
      try Conv2d(inputChannels: 2, outputChannels: 3, kernelSize: 3, padding: 1, using: &generator),
      try BatchNormLayer(.batchNorm2d, channels: 3),
      ReLU(),
      try MaxPool2d(kernelSize: 2),
      Flatten(),
      try Linear(inputFeatures: 3 * 3 * 3, outputFeatures: 4, using: &generator),
    ])
    let labels = generator.labels(4, classCount: 4)
    let input: Tensor<Double> = generator.gaussianTensor([4, 2, 6, 6])
    // The check is only meaningful away from ReLU kinks and max-pooling ties.
    var probe = model
    _ = try probe.forward(input, mode: .training) { index, layerInput in
      if index == 2 { #expect(layerInput.scalars.map(abs).min()! > 1e-4) }
    }
    try GradientCheck.check(model, input: input) { logits in
      try SoftmaxCrossEntropy().evaluate(logits: logits, labels: labels)
    }
  }
}
