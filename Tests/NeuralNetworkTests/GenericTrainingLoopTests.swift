import Foundation
import NeuralNetwork
import Testing

/// The training loop asks layers, not types: roles for weight decay, a hook before each
/// step, any loss; and `fit` runs epochs with evaluation and checkpoints.
@Suite struct GenericTrainingLoopTests {
  /// A layer of the test's own that declares its one parameter a normalization scale and
  /// counts the steps it was prepared for.
  struct ScaledIdentity: Layer {
    typealias Scalar = Float
    var parameter = Tensor<Float>(shape: [1], scalars: [1])
    var gradient = Tensor<Float>(zeros: [1])
    var preparedSteps: [Int] = []

    var description: String { "ScaledIdentity" }
    var parameterNames: [String] { ["gain"] }
    var parameterRoles: [ParameterRole] { [.normalization] }
    var parameters: [Tensor<Float>] { [parameter] }
    var gradients: [Tensor<Float>] { [gradient] }

    func outputShape(forInputShape inputShape: [Int]) throws -> [Int] { inputShape }
    mutating func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float> { input }
    mutating func backward(_ gradOutput: Tensor<Float>) throws -> Tensor<Float> { gradOutput }
    mutating func updateParameters(_ body: (_ index: Int, _ parameter: inout Tensor<Float>, _ gradient: Tensor<Float>) -> Void) {
      body(0, &parameter, gradient)
    }
    mutating func updateGradients(_ body: (_ index: Int, _ gradient: inout Tensor<Float>) -> Void) { body(0, &gradient) }
    mutating func zeroGradients() { gradient = Tensor(zeros: [1]) }
    mutating func prepareForTrainingStep(_ step: Int, training: TrainingConfiguration) { preparedSteps.append(step) }
  }

  /// Softmax cross-entropy with every gradient doubled: the trainer must use it.
  struct DoubledCrossEntropy: ClassificationLoss {
    func evaluate<Scalar: NetworkScalar>(
      logits: Tensor<Scalar>, labels: [Int], averagedOver batchSize: Int?
    ) throws -> (loss: Scalar, gradient: Tensor<Scalar>) {
      let (loss, gradient) = try SoftmaxCrossEntropy().evaluate(logits: logits, labels: labels, averagedOver: batchSize)
      return (2 * loss, Tensor(shape: gradient.shape, scalars: gradient.scalars.map { 2 * $0 }))
    }
  }

  static func network(seed: UInt64 = 3) throws -> Sequential<Float> {
    var generator = SeededGenerator(seed: seed)
    return Sequential<Float>([try Linear(inputFeatures: 6, outputFeatures: 3, using: &generator), ScaledIdentity()])
  }

  @Test func weightDecayReadsTheRolesALayerDeclares() throws {
    let model = try Self.network()
    #expect(model.parameterRoles == [.weight, .bias, .normalization])
    #expect(WeightDecayPolicy.excludingBiasesAndNormalization.decays(model) == [true, false, false])
  }

  @Test func everyLayerIsPreparedBeforeEveryStep() throws {
    let train = try TrainerTests.clusters(perClass: 10, seed: 1)
    var trainer = Trainer(
      model: try Self.network(), optimizer: SGD(schedule: .constant(0.1)),
      configuration: TrainingConfiguration(batchSize: 10, seed: 1))
    try trainer.trainEpoch(on: train)
    try trainer.train(steps: 2, on: train)
    #expect((trainer.model.layers[1] as? ScaledIdentity)?.preparedSteps == [0, 1, 2, 3, 4])
  }

  @Test func theTrainerMinimizesTheLossItIsGiven() throws {
    let train = try TrainerTests.clusters(perClass: 10, seed: 1)
    func trained(loss: any ClassificationLoss, rate: Double) throws -> Sequential<Float> {
      var trainer = Trainer(
        model: try Self.network(), optimizer: SGD(schedule: .constant(rate)),
        configuration: TrainingConfiguration(batchSize: 10, seed: 1), loss: loss)
      try trainer.train(steps: 3, on: train)
      return trainer.model
    }
    // Plain SGD: doubling the gradient is doubling the rate, to rounding.
    let doubled = try trained(loss: DoubledCrossEntropy(), rate: 0.05)
    let plain = try trained(loss: SoftmaxCrossEntropy(), rate: 0.1)
    let other = try trained(loss: SoftmaxCrossEntropy(), rate: 0.05)
    let difference = zip(doubled.parameters, plain.parameters).map { pair in
      zip(pair.0.scalars, pair.1.scalars).map { abs($0 - $1) }.max()!
    }.max()!
    #expect(difference < 1e-5)
    #expect(doubled.parameters != other.parameters)
  }

  @Test func fitEvaluatesAndCheckpointsEveryEpoch() throws {
    let train = try TrainerTests.clusters(perClass: 20, seed: 1)
    let test = try TrainerTests.clusters(perClass: 10, seed: 2)
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fit-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("model.safetensors")
    let architecture = try Architecture(parsing: "linear:8,bn,relu,linear:3")
    var generator = SeededGenerator(seed: 4)
    let network: Sequential<Float> = try architecture.makeNetwork(sampleShape: [6], using: &generator)
    var trainer = Trainer(
      model: network, optimizer: SGD(schedule: .constant(0.1), momentum: 0.9),
      configuration: TrainingConfiguration(batchSize: 12, seed: 1))
    var reports: [EpochReport] = []
    var checkpointsSeen: [[Tensor<Float>]?] = []
    let last = try trainer.fit(
      train, epochs: 3, test: test,
      checkpoint: CheckpointDestination(architecture: architecture, sampleShape: [6], url: file)
    ) { report in
      reports.append(report)
      // afterEpoch comes before the epoch's checkpoint: the file holds the epoch before.
      checkpointsSeen.append(try? Checkpoint<Float>(contentsOf: file).model.parameters)
    }
    #expect(reports.map(\.epochCount) == [1, 2, 3])
    #expect(reports.map(\.stepCount) == [5, 10, 15])
    #expect(last.evaluation.accuracy == reports[2].evaluation.accuracy)
    // Each epoch's checkpoint is that epoch's network, and the file ends with the last.
    #expect(checkpointsSeen[0] == nil)
    let first = try #require(checkpointsSeen[1])
    #expect(first != checkpointsSeen[2])
    #expect(try Checkpoint<Float>(contentsOf: file).model.parameters == trainer.model.parameters)
    #expect(try trainer.evaluate(test).loss == last.evaluation.loss)
  }
}
