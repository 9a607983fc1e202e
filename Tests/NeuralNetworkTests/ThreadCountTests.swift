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
}
