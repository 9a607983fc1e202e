import BatchNormalization
import NeuralNetwork
import Testing
import ThreadProcessGroups

/// Data-parallel training on ranks that are threads: with synchronized batch
/// normalization, P processes sharing each batch must train the network one process
/// trains on the whole batch; with each shard's own statistics they must not.
@Suite struct DataParallelTests {
  /// A network with batch normalization in both of its forms and an MLP, and a CNN.
  static let architectures = [
    "linear:16,bn,sigmoid,linear:12,bn,relu,linear:3",
    "conv:4:3:1:1,bn,relu,maxpool:2,flatten,linear:3",
  ]

  /// 3 classes of 6 features (or 1×6×6 images), clusters 2σ apart.
  static func data(sampleShape: [Int], count: Int, seed: UInt64) throws -> LabeledSamples<Float> {
    var generator = SeededGenerator(seed: seed)
    let size = sampleShape.reduce(1, *)
    let centers = (0..<3).map { _ in (0..<size).map { _ in 2 * generator.nextGaussian() } }
    var scalars: [Float] = []
    var labels: [Int] = []
    for sample in 0..<count {
      labels.append(sample % 3)
      scalars += centers[sample % 3].map { Float($0 + generator.nextGaussian()) }
    }
    return try LabeledSamples(samples: Tensor(shape: [count] + sampleShape, scalars: scalars), labels: labels)
  }

  static func trainer(_ architecture: String, sampleShape: [Int], dataParallelism: DataParallelism?) throws -> Trainer<Float> {
    var generator = SeededGenerator(seed: 3)
    let model: Sequential<Float> = try Architecture(parsing: architecture).makeNetwork(sampleShape: sampleShape, using: &generator)
    return Trainer(
      model: model, optimizer: SGD(schedule: .constant(0.05), momentum: 0.9),
      configuration: TrainingConfiguration(batchSize: 61, seed: 7), dataParallelism: dataParallelism)
  }

  /// The largest |a − b| / max|b| over each tensor.
  static func relativeDifference(_ a: [Tensor<Float>], _ b: [Tensor<Float>]) -> Double {
    zip(a, b).map { maximumDifference($0.scalars, $1.scalars) / max(1e-30, $1.scalars.map { abs(Double($0)) }.max() ?? 0) }
      .max() ?? .infinity
  }

  /// `steps` steps on `processes` thread-ranks; each rank's parameters and buffers.
  static func train(
    _ architecture: String, processes: Int, synchronized: Bool, steps: Int
  ) throws -> [(parameters: [Tensor<Float>], buffers: [Tensor<Float>])] {
    let sampleShape = architecture.hasPrefix("conv") ? [1, 6, 6] : [6]
    let samples = try data(sampleShape: sampleShape, count: 400, seed: 1)
    let group = ThreadProcessGroup(size: processes)
    return try group.run { rank in
      Result {
        var trainer = try trainer(
          architecture, sampleShape: sampleShape,
          dataParallelism: DataParallelism(group: rank, synchronizesBatchNormalization: synchronized))
        try trainer.train(steps: steps, on: samples)
        try trainer.checkReplicasAgree()
        return (trainer.model.parameters, trainer.model.buffers)
      }
    }.map { try $0.get() }
  }

  @Test(arguments: architectures, [2, 3])
  func synchronizedProcessesTrainTheOneProcessNetwork(architecture: String, processes: Int) throws {
    let sampleShape = architecture.hasPrefix("conv") ? [1, 6, 6] : [6]
    var single = try Self.trainer(architecture, sampleShape: sampleShape, dataParallelism: nil)
    try single.train(steps: 30, on: Self.data(sampleShape: sampleShape, count: 400, seed: 1))
    let ranks = try Self.train(architecture, processes: processes, synchronized: true, steps: 30)
    for rank in ranks.dropFirst() {
      #expect(rank.parameters == ranks[0].parameters, "every rank holds the same parameters, bit for bit")
      #expect(rank.buffers == ranks[0].buffers)
    }
    let parameterError = Self.relativeDifference(ranks[0].parameters, single.model.parameters)
    let bufferError = Self.relativeDifference(ranks[0].buffers, single.model.buffers)
    #expect(parameterError <= 1e-5, "parameters differ from one process by \(parameterError)")
    #expect(bufferError <= 1e-5, "running statistics differ from one process by \(bufferError)")
    // The same bits from run to run.
    let again = try Self.train(architecture, processes: processes, synchronized: true, steps: 30)
    #expect(again[0].parameters == ranks[0].parameters)
  }

  @Test func localStatisticsTrainADifferentNetwork() throws {
    let architecture = Self.architectures[0]
    var single = try Self.trainer(architecture, sampleShape: [6], dataParallelism: nil)
    try single.train(steps: 30, on: Self.data(sampleShape: [6], count: 400, seed: 1))
    let ranks = try Self.train(architecture, processes: 3, synchronized: false, steps: 30)
    #expect(ranks[1].parameters == ranks[0].parameters, "the gradients are still summed: one network on every rank")
    #expect(Self.relativeDifference(ranks[0].parameters, single.model.parameters) > 1e-3)
  }

  @Test func aBatchSmallerThanTheGroupLeavesRanksEmpty() throws {
    // 4 samples over 3 ranks of batch 2: shards of 1, 1 and 0.
    let samples = try Self.data(sampleShape: [6], count: 4, seed: 2)
    var generator = SeededGenerator(seed: 3)
    let model: Sequential<Float> = try Architecture(parsing: "linear:5,bn,sigmoid,linear:3").makeNetwork(sampleShape: [6], using: &generator)
    let configuration = TrainingConfiguration(batchSize: 2, seed: 7)
    var single = Trainer(model: model, optimizer: SGD(schedule: .constant(0.1)), configuration: configuration)
    try single.train(steps: 4, on: samples)
    let ranks = try ThreadProcessGroup(size: 3).run { rank in
      Result {
        var trainer = Trainer(
          model: model, optimizer: SGD(schedule: .constant(0.1)), configuration: configuration,
          dataParallelism: DataParallelism(group: rank, synchronizesBatchNormalization: true))
        try trainer.train(steps: 4, on: samples)
        return trainer.model.parameters + trainer.model.buffers
      }
    }.map { try $0.get() }
    #expect(ranks[2] == ranks[0])
    #expect(Self.relativeDifference(ranks[0], single.model.parameters + single.model.buffers) <= 1e-5)
  }

  @Test func shardsCoverTheBatchContiguously() {
    let group = ThreadProcessGroup(size: 3)
    let shards = (0..<3).map { DataParallelism(group: ThreadRank(rank: $0, group: group), synchronizesBatchNormalization: true).shard(ofBatch: 61) }
    #expect(shards == [0..<21, 21..<41, 41..<61])
    let small = (0..<3).map { DataParallelism(group: ThreadRank(rank: $0, group: group), synchronizesBatchNormalization: true).shard(ofBatch: 2) }
    #expect(small == [0..<1, 1..<2, 2..<2])
  }
}
