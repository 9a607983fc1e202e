import BatchNormalization
import NeuralNetwork
import Testing

@Suite struct ConvolutionThreadTests {
  /// Conv2d's output and all three gradients for a batch of 21 (blocks of 8, 8 and 5
  /// samples) at `threads` threads.
  static func pass(threads: Int) throws -> [[Float]] {
    let before = ComputeThreads.count
    defer { ComputeThreads.setIncludingBLAS(before) }
    ComputeThreads.setIncludingBLAS(threads)
    var generator = SeededGenerator(seed: 60)
    var layer = try Conv2d<Float>(inputChannels: 3, outputChannels: 16, kernelSize: 3, padding: 1, using: &generator)
    let input: Tensor<Float> = generator.gaussianTensor([21, 3, 12, 12])
    let output = try layer.forward(input, mode: .training)
    let gradInput = try layer.backward(generator.gaussianTensor(output.shape))
    return [output.scalars, gradInput.scalars] + layer.gradients.map(\.scalars)
  }

  @Test func resultsDoNotDependOnTheThreadCount() throws {
    let serial = try Self.pass(threads: 1)
    for threads in [2, 3] {
      #expect(try Self.pass(threads: threads) == serial)
    }
  }
}
