import BatchNormalization
import NeuralNetwork
import Testing

/// The training loop on small synthetic data: reproducibility, batches, metrics,
/// evaluation, a loss that blows up, Batch Renormalization's schedule.
@Suite struct TrainerTests {
  /// `perClass` samples of each of 3 classes, 6 features, clusters 3σ apart, interleaved.
  static func clusters(perClass: Int, seed: UInt64) throws -> LabeledSamples<Float> {
    var generator = SeededGenerator(seed: 99)
    let centers = (0..<3).map { _ in (0..<6).map { _ in 3 * generator.nextGaussian() } }
    generator = SeededGenerator(seed: seed)
    var scalars: [Float] = []
    var labels: [Int] = []
    for sample in 0..<(3 * perClass) {
      labels.append(sample % 3)
      scalars += centers[sample % 3].map { Float($0 + generator.nextGaussian()) }
    }
    return try LabeledSamples(samples: Tensor(shape: [labels.count, 6], scalars: scalars), labels: labels)
  }

  static func trainer(
    _ architecture: String = "linear:16,bn,relu,linear:3", seed: UInt64 = 1, rate: Double = 0.1, batchSize: Int = 16,
    lastBatch: LastBatchPolicy = .merge, metricsInterval: Int = 100
  ) throws -> Trainer<Float> {
    var generator = SeededGenerator(seed: seed)
    let model: Sequential<Float> = try Architecture(parsing: architecture).makeNetwork(sampleShape: [6], using: &generator)
    return Trainer(
      model: model, optimizer: SGD(schedule: .constant(rate), momentum: 0.9),
      configuration: TrainingConfiguration(
        batchSize: batchSize, lastBatch: lastBatch, seed: seed, metricsInterval: metricsInterval))
  }

  @Test func learnsSeparableClusters() throws {
    let train = try Self.clusters(perClass: 100, seed: 1)
    let test = try Self.clusters(perClass: 50, seed: 2)
    var trainer = try Self.trainer()
    let before = try trainer.evaluate(test)
    for _ in 0..<3 { try trainer.trainEpoch(on: train) }
    let after = try trainer.evaluate(test)
    #expect(after.accuracy > 0.95, "accuracy \(after.accuracy)")
    #expect(after.loss < before.loss / 4, "loss \(before.loss) → \(after.loss)")
    #expect(after.confusionMatrix.total == 150)
    #expect(trainer.epochCount == 3)
    #expect(trainer.stepCount == 3 * (300 / 16))
  }

  @Test func sameSeedSameRunBitForBit() throws {
    let train = try Self.clusters(perClass: 40, seed: 1)
    func run(seed: UInt64) throws -> Sequential<Float> {
      var trainer = try Self.trainer("linear:8,bn,sigmoid,dropout:0.2,linear:3", seed: seed)
      for _ in 0..<2 { try trainer.trainEpoch(on: train) }
      return trainer.model
    }
    let first = try run(seed: 5)
    let second = try run(seed: 5)
    #expect(first.parameters == second.parameters)
    #expect(first.buffers == second.buffers)
    #expect(try run(seed: 6).parameters != first.parameters)
  }

  @Test(arguments: [(LastBatchPolicy.drop, [4, 4]), (.keep, [4, 4, 2]), (.merge, [4, 6])])
  func lastPartialBatch(policy: LastBatchPolicy, sizes: [Int]) throws {
    let data = try LabeledSamples(
      samples: Tensor(shape: [10, 6], scalars: (0..<60).map { Float($0 % 7) }), labels: (0..<10).map { $0 % 3 })
    var trainer = try Self.trainer(batchSize: 4, lastBatch: policy)
    var seen: [Int] = []
    try trainer.trainEpoch(on: data, onStep: { seen.append($0.batchSize) })
    #expect(seen == sizes)
  }

  @Test func dropWithFewerSamplesThanABatchIsAnError() throws {
    let data = try Self.clusters(perClass: 1, seed: 1)
    var trainer = try Self.trainer(batchSize: 4, lastBatch: .drop)
    #expect(throws: TrainingError.noBatches(sampleCount: 3, batchSize: 4)) { try trainer.trainEpoch(on: data) }
  }

  @Test func metricsEveryKStepsAndAtTheEndOfTheEpoch() throws {
    let data = try Self.clusters(perClass: 10, seed: 1)
    var trainer = try Self.trainer(batchSize: 3, metricsInterval: 4)
    var steps: [StepReport<Float>] = []
    var metrics: [TrainingMetrics] = []
    try trainer.trainEpoch(on: data, onStep: { steps.append($0) }, onMetrics: { metrics.append($0) })
    #expect(steps.map(\.step) == Array(0..<10))
    #expect(metrics.map(\.step) == [3, 7, 9])
    #expect(metrics.map(\.examples) == [12, 12, 6])
    let meanLoss = steps[8...].map(\.loss).reduce(0, +) / 2
    #expect(abs(metrics[2].loss - meanLoss) < 1e-12)
    #expect(metrics.allSatisfy { $0.examplesPerSecond > 0 && (0...1).contains($0.accuracy) })
  }

  @Test func observerSeesEveryLayerInput() throws {
    let data = try Self.clusters(perClass: 4, seed: 1)
    var trainer = try Self.trainer("linear:5,sigmoid,linear:3", batchSize: 6)
    var sigmoidInputs: [[Int]] = []
    try trainer.trainEpoch(on: data, observer: { index, input in if index == 1 { sigmoidInputs.append(input.shape) } })
    #expect(sigmoidInputs == [[6, 5], [6, 5]])
  }

  @Test func evaluationChangesNothing() throws {
    let data = try Self.clusters(perClass: 20, seed: 1)
    var trainer = try Self.trainer()
    try trainer.trainEpoch(on: data)
    let (parameters, buffers) = (trainer.model.parameters, trainer.model.buffers)
    let evaluation = try trainer.evaluate(data)
    #expect(trainer.model.parameters == parameters)
    #expect(trainer.model.buffers == buffers)
    var network = trainer.model
    let logits = try network.forward(data.samples, mode: .inference)
    #expect(evaluation.accuracy == (try accuracy(logits: logits, labels: data.labels)))
  }

  @Test func nonFiniteLossStopsAndKeepsTheLastGoodParameters() throws {
    let data = try Self.clusters(perClass: 30, seed: 1)
    var trainer = try Self.trainer("linear:8,relu,linear:3", rate: 1e30, batchSize: 10)
    var lastGood: [Tensor<Float>] = trainer.model.parameters
    var completedSteps = 0
    do {
      try trainer.trainEpoch(on: data, onStep: { lastGood = $0.model.parameters; completedSteps += 1 })
      Issue.record("a learning rate of 1e30 trained without a non-finite loss")
    } catch let error as TrainingError {
      guard case .nonFiniteLoss(let epoch, let step, let loss) = error else { Issue.record("\(error)"); return }
      #expect(epoch == 0 && step == completedSteps && !loss.isFinite)
      #expect(error.description.hasPrefix("the loss became \(loss) at epoch 1, step \(step + 1)"))
    }
    #expect(trainer.model.parameters == lastGood)
    #expect(trainer.stepCount == completedSteps)
  }

  @Test func renormalizationLimitsFollowTheSchedule() throws {
    let data = try Self.clusters(perClass: 10, seed: 1)
    var trainer = try Self.trainer("linear:4,bn:renorm,relu,linear:3", batchSize: 5)
    trainer.configuration.renormalizationSchedule = RenormalizationSchedule(
      warmupSteps: 1, finalRMax: 3, rMaxReachedAtStep: 3, finalDMax: 5, dMaxReachedAtStep: 5)
    var limits: [RenormalizationLimits?] = []
    try trainer.trainEpoch(
      on: data,
      onStep: { report in
        limits.append((report.model.layers[1] as? BatchNormLayer<Float>)?.configuration.renormalization)
      })
    let expected = (0..<6).map { trainer.configuration.renormalizationSchedule.limits(atStep: $0) }
    #expect(limits == expected)
    #expect(limits[2] == RenormalizationLimits(rMax: 2, dMax: 1.25))
  }
}

@Suite struct TrainerStepsTests {
  /// Counting steps across epochs gives the same run as whole epochs.
  @Test func stepsAcrossEpochsMatchWholeEpochs() throws {
    var generator = SeededGenerator(seed: 3)
    let samples = try LabeledSamples<Double>(
      samples: Tensor(shape: [10, 2], scalars: (0..<20).map { _ in generator.nextGaussian() }), labels: (0..<10).map { $0 % 2 })
    var networkGenerator = SeededGenerator(seed: 4)
    let network: Sequential<Double> = try Architecture(parsing: "linear:3,relu,linear:2").makeNetwork(
      sampleShape: [2], using: &networkGenerator)
    let configuration = TrainingConfiguration(batchSize: 4, lastBatch: .keep, seed: 5)
    var byEpoch = Trainer(model: network, optimizer: SGD(schedule: .constant(0.1)), configuration: configuration)
    var bySteps = byEpoch
    try byEpoch.trainEpoch(on: samples)
    try byEpoch.trainEpoch(on: samples)
    try bySteps.train(steps: 4, on: samples)
    try bySteps.train(steps: 2, on: samples)
    #expect(bySteps.stepCount == 6 && bySteps.epochCount == 2)
    #expect(bySteps.model.parameters == byEpoch.model.parameters)
  }
}
