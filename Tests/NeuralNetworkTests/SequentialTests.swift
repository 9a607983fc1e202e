import BatchNormalization
import NeuralNetwork
import Testing

@Suite struct SequentialTests {
  static func mlp(seed: UInt64) throws -> Sequential<Double> {
    var generator = SeededGenerator(seed: seed)
    return Sequential<Double>([
      try Linear(inputFeatures: 4, outputFeatures: 3, using: &generator),
      try BatchNormLayer(.batchNorm1d, channels: 3),
      Sigmoid(),
      try Dropout(probability: 0.2, seed: 1),
      try Linear(inputFeatures: 3, outputFeatures: 2, hasBias: false, using: &generator),
    ])
  }

  @Test func stateDictionaryNames() throws {
    let model = try Self.mlp(seed: 100)
    #expect(model.parameterNames == ["0.weight", "0.bias", "1.weight", "1.bias", "4.weight"])
    #expect(model.parameters.map(\.shape) == [[3, 4], [3], [3], [3], [2, 3]])
    #expect(model.gradients.map(\.shape) == model.parameters.map(\.shape))
    #expect(model.bufferNames == ["1.running_mean", "1.running_var", "1.num_batches_tracked"])
    #expect(model.buffers.map(\.shape) == [[3], [3], []])
    #expect(
      model.description == """
        Sequential(
          (0): Linear(4, 3)
          (1): BatchNorm1d(3)
          (2): Sigmoid
          (3): Dropout(0.2)
          (4): Linear(3, 2, bias: false)
        )
        """)
  }

  @Test func gradientsAccumulateUntilZeroed() throws {
    var generator = SeededGenerator(seed: 101)
    let model = Sequential<Double>([
      try Conv2d(inputChannels: 1, outputChannels: 2, kernelSize: 3, padding: 1, using: &generator),
      try BatchNormLayer(.batchNorm2d, channels: 2),
      Flatten(),
      try Linear(inputFeatures: 2 * 4 * 4, outputFeatures: 3, using: &generator),
    ])
    let input: Tensor<Double> = generator.gaussianTensor([5, 1, 4, 4])
    let gradOutput: Tensor<Double> = generator.gaussianTensor([5, 3])
    var once = model
    _ = try once.forward(input, mode: .training)
    _ = try once.backward(gradOutput)
    var twice = model
    for _ in 0..<2 {
      _ = try twice.forward(input, mode: .training)
      _ = try twice.backward(gradOutput)
    }
    let singles = once.gradients.flatMap(\.scalars)
    #expect(maximumDifference(twice.gradients.flatMap(\.scalars), singles.map { 2 * $0 }) <= 1e-12)
    twice.zeroGradients()
    #expect(twice.gradients.allSatisfy { $0.scalars.allSatisfy { $0 == 0 } })
  }

  /// A training step's backward (no ∂L/∂input) adds exactly the gradients backward adds,
  /// for a first layer that is Linear, Conv2d, or parameterless before a Linear.
  @Test func parameterGradientsOnlyMatchBackward() throws {
    var generator = SeededGenerator(seed: 102)
    let models = [
      try Self.mlp(seed: 103),
      Sequential<Double>([
        try Conv2d(inputChannels: 1, outputChannels: 2, kernelSize: 3, padding: 1, using: &generator),
        try BatchNormLayer(.batchNorm2d, channels: 2), ReLU(), Flatten(),
        try Linear(inputFeatures: 2 * 4 * 4, outputFeatures: 2, using: &generator),
      ]),
      Sequential<Double>([Flatten(), try Linear(inputFeatures: 16, outputFeatures: 2, using: &generator)]),
    ]
    let inputs: [Tensor<Double>] = [
      generator.gaussianTensor([5, 4]), generator.gaussianTensor([5, 1, 4, 4]), generator.gaussianTensor([5, 1, 4, 4]),
    ]
    let gradOutput: Tensor<Double> = generator.gaussianTensor([5, 2])
    for (model, input) in zip(models, inputs) {
      var full = model
      _ = try full.forward(input, mode: .training)
      _ = try full.backward(gradOutput)
      var parametersOnly = model
      _ = try parametersOnly.forward(input, mode: .training)
      try parametersOnly.accumulateParameterGradients(gradOutput)
      #expect(parametersOnly.gradients == full.gradients)
    }
  }

  @Test func updateParametersUsesFlatIndices() throws {
    var model = try Self.mlp(seed: 103)
    var seen: [Int] = []
    model.updateParameters { index, parameter, gradient in
      seen.append(index)
      #expect(parameter.shape == gradient.shape)
      parameter.scalars = parameter.scalars.map { _ in Double(index) }
    }
    #expect(seen == [0, 1, 2, 3, 4])
    #expect(model.parameters.enumerated().allSatisfy { index, tensor in tensor.scalars.allSatisfy { $0 == Double(index) } })
  }

  @Test func loadingIsAllOrNothing() throws {
    var model = try Self.mlp(seed: 104)
    let parameters = model.parameters
    let buffers = model.buffers
    var wrong = parameters
    wrong[4] = Tensor(zeros: [3, 2])
    #expect(throws: NetworkError.stateShapeMismatch(layer: model.description, name: "4.weight", expected: [2, 3], actual: [3, 2])) {
      try model.loadParameters(wrong)
    }
    #expect(model.parameters == parameters)
    var badCount = buffers
    badCount[2] = Tensor(shape: [], scalars: [-1])
    #expect(throws: NetworkError.self) { try model.loadBuffers(badCount) }
    #expect(model.buffers == buffers)
    var loaded = buffers
    loaded[0] = Tensor(shape: [3], scalars: [1, 2, 3])
    loaded[2] = Tensor(shape: [], scalars: [7])
    try model.loadBuffers(loaded)
    #expect(model.buffers == loaded)
  }

  @Test func observerSeesEveryLayerInput() throws {
    var model = try Self.mlp(seed: 105)
    var generator = SeededGenerator(seed: 106)
    let input: Tensor<Double> = generator.gaussianTensor([6, 4])
    var recorded: [Int: Tensor<Double>] = [:]
    let output = try model.forward(input, mode: .inference) { index, layerInput in recorded[index] = layerInput }
    #expect(recorded.keys.sorted() == [0, 1, 2, 3, 4])
    #expect(recorded[0] == input)
    var sigmoid = Sigmoid<Double>()
    #expect(recorded[3] == (try sigmoid.forward(recorded[2]!, mode: .inference)))
    var last = model.layers[4]
    #expect(output == (try last.forward(recorded[4]!, mode: .inference)))
  }

  @Test func modesReachBatchNormalization() throws {
    var model = try Self.mlp(seed: 107)
    var generator = SeededGenerator(seed: 108)
    let batches: [Tensor<Double>] = (0..<3).map { _ in generator.gaussianTensor([8, 4]) }
    _ = try model.forward(batches[0], mode: .training)
    #expect(model.buffers[2].scalars == [1])
    let trained = model.buffers
    _ = try model.forward(batches[1], mode: .inference)
    #expect(model.buffers == trained)

    // Recalibration: the running statistics become the exact average over the pass.
    model.beginRecalibration()
    var reference = try BatchNorm<Double>(channels: 3)
    reference.runningStatistics.beginRecalibration()
    for batch in batches {
      var recorded: Tensor<Double>?
      _ = try model.forward(batch, mode: .recalibration) { index, input in if index == 1 { recorded = input } }
      _ = try reference.forward(recorded!.scalars, shape: BatchNormShape(dimensions: [8, 3]), mode: .recalibration)
    }
    #expect(model.buffers[0].scalars == reference.runningStatistics.mean)
    #expect(model.buffers[1].scalars == reference.runningStatistics.variance)

    // Freezing through updateLayers: training leaves the statistics alone.
    model.updateLayers(ofType: BatchNormLayer<Double>.self) { $0.modeOverride = .inference }
    let frozen = model.buffers
    _ = try model.forward(batches[2], mode: .training)
    #expect(model.buffers == frozen)
    // Backward through frozen statistics: a zero output gradient gives zero everywhere.
    model.zeroGradients()
    let gradInput = try model.backward(Tensor(zeros: [8, 2]))
    #expect(gradInput.shape == batches[2].shape && gradInput.scalars.allSatisfy { $0 == 0 })
    #expect(model.gradients.allSatisfy { $0.scalars.allSatisfy { $0 == 0 } })
    #expect(model.buffers == frozen)
  }

  @Test func nestedSequentialNamesAndUpdates() throws {
    var generator = SeededGenerator(seed: 109)
    var model = Sequential<Float>([
      Sequential<Float>([try Linear(inputFeatures: 2, outputFeatures: 2, using: &generator), try BatchNormLayer(.batchNorm1d, channels: 2)]),
      ReLU(),
    ])
    #expect(model.parameterNames == ["0.0.weight", "0.0.bias", "0.1.weight", "0.1.bias"])
    model.updateLayers(ofType: BatchNormLayer<Float>.self) { $0.configuration.momentum = .cumulative }
    let nested = model.layers[0] as! Sequential<Float>
    #expect((nested.layers[1] as! BatchNormLayer<Float>).configuration.momentum == .cumulative)
  }
}

/// The short spellings: `.batchNorm1d(C)` and `.batchNorm2d(C)` make the same layers as
/// the long ones, and a layer called like a function runs its forward pass.
@Suite struct ShorthandTests {
  @Test func batchNormShorthandMakesTheSameLayer() throws {
    let short: BatchNormLayer<Float> = try .batchNorm2d(64)
    let long = try BatchNormLayer<Float>(.batchNorm2d, channels: 64)
    #expect(short.kind == long.kind && short.channels == long.channels && short.configuration == long.configuration)
    let keras: BatchNormLayer<Double> = try .batchNorm1d(8, configuration: .keras)
    #expect(keras.kind == .batchNorm1d && keras.configuration == .keras)
    #expect(throws: BatchNormError.self) { let _: BatchNormLayer<Float> = try .batchNorm1d(0) }
  }

  @Test func aCalledNetworkRunsItsForwardPass() throws {
    var generator = SeededGenerator(seed: 8)
    var model = Sequential<Float>([
      try Linear(inputFeatures: 4, outputFeatures: 3, using: &generator), try .batchNorm1d(3), Sigmoid(),
    ])
    var twin = model
    let input = Tensor<Float>(shape: [5, 4], scalars: (0..<20).map { Float($0) / 7 })
    let called = try model(input, mode: .training)
    #expect(called == (try twin.forward(input, mode: .training)))
    #expect(model.buffers == twin.buffers, "the call updated the running statistics as forward does")
    #expect(model.buffers != Sequential<Float>([try Linear(inputFeatures: 4, outputFeatures: 3, using: &generator), try .batchNorm1d(3)]).buffers)
  }
}
