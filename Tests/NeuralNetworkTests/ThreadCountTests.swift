import BatchNormalization
import ComputeRuntime
import NeuralNetwork
import Testing

/// The training stack's results are bit-identical for every thread count: Conv2d splits
/// its batch into blocks of fixed size, and large matrix products split C into blocks of
/// fixed size, whatever the thread count.
@Suite(.serialized) struct ThreadCountTests {
  /// A layer's output and all three gradients for `input` at `threads` threads.
  static func pass<L: Layer>(_ layer: L, input: [Int], threads: Int) throws -> [[Float]] where L.Scalar == Float {
    let before = ComputeThreads.count
    defer { ComputeThreads.setIncludingBLAS(before) }
    ComputeThreads.setIncludingBLAS(threads)
    var layer = layer
    var generator = SeededGenerator(seed: 61)
    let output = try layer.forward(generator.gaussianTensor(input), mode: .training)
    let gradInput = try layer.backward(generator.gaussianTensor(output.shape))
    return [output.scalars, gradInput.scalars] + layer.gradients.map(\.scalars)
  }

  static func check<L: Layer>(_ layer: L, input: [Int]) throws where L.Scalar == Float {
    let serial = try pass(layer, input: input, threads: 1)
    for threads in [2, 3] {
      #expect(try pass(layer, input: input, threads: threads) == serial)
    }
  }

  /// A batch of 21: blocks of 8, 8 and 5 samples.
  @Test func convolution() throws {
    var generator = SeededGenerator(seed: 60)
    try Self.check(
      Conv2d<Float>(inputChannels: 3, outputChannels: 16, kernelSize: 3, padding: 1, using: &generator),
      input: [21, 3, 12, 12])
  }

  /// The paper's first layer at batch 300: products of 23.5M multiply-adds, split into
  /// blocks of rows (forward, ∂x) and of columns (∂W).
  @Test func linear() throws {
    var generator = SeededGenerator(seed: 62)
    try Self.check(Linear<Float>(inputFeatures: 784, outputFeatures: 100, using: &generator), input: [300, 784])
  }

  /// Whole training runs, as `bn train` makes them: a CNN with batch normalization,
  /// pooling, dropout and Adam, and an MLP whose first product is large enough to be
  /// split, for 2 epochs at 1, 2 and 3 threads; every parameter and running statistic
  /// must come out bit for bit the same (the README promises it).
  @Test(arguments: [
    ("conv:6:3:1:1,bn,relu,maxpool:2,dropout:0.2,flatten,linear:10", [1, 12, 12], 30),
    ("linear:300,bn,sigmoid,linear:10", [784], 300),
  ])
  func wholeTrainingRuns(architecture: String, sampleShape: [Int], batchSize: Int) throws {
    var generator = SeededGenerator(seed: 63)
    let count = 2 * batchSize + batchSize / 2
    let samples: Tensor<Float> = generator.gaussianTensor([count] + sampleShape)
    let data = try LabeledSamples(samples: samples, labels: (0..<count).map { $0 % 10 })
    func run(threads: Int) throws -> [[UInt32]] {
      let before = ComputeThreads.count
      defer { ComputeThreads.setIncludingBLAS(before) }
      ComputeThreads.setIncludingBLAS(threads)
      var weights = SeededGenerator(seed: 64)
      let model: Sequential<Float> = try Architecture(parsing: architecture).makeNetwork(sampleShape: sampleShape, using: &weights)
      var trainer = Trainer(
        model: model, optimizer: Adam(schedule: .constant(0.01)), configuration: TrainingConfiguration(batchSize: batchSize, seed: 5))
      for _ in 0..<2 { try trainer.trainEpoch(on: data) }
      return (trainer.model.parameters + trainer.model.buffers).map { $0.scalars.map(\.bitPattern) }
    }
    let serial = try run(threads: 1)
    for threads in [2, 3] {
      #expect(try run(threads: threads) == serial, "\(threads) threads")
    }
  }
}
