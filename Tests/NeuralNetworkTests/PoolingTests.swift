import NeuralNetwork
import Testing

@Suite struct PoolingTests {
  /// A [1, 1, 5, 5] input counting 0…24 row by row.
  static let counting = Tensor<Float>(shape: [1, 1, 5, 5], scalars: (0..<25).map(Float.init))

  @Test func maxPoolDropsTheRemainder() throws {
    var layer = try MaxPool2d<Float>(kernelSize: 2)
    let output = try layer.forward(Self.counting, mode: .training)
    #expect(output.shape == [1, 1, 2, 2])
    #expect(output.scalars == [6, 8, 16, 18])
    let gradInput = try layer.backward(Tensor(shape: [1, 1, 2, 2], scalars: [1, 2, 3, 4]))
    var expected = [Float](repeating: 0, count: 25)
    (expected[6], expected[8], expected[16], expected[18]) = (1, 2, 3, 4)
    #expect(gradInput.scalars == expected)
  }

  @Test func maxPoolPropagatesNaNAndPicksTheFirstTie() throws {
    var layer = try MaxPool2d<Double>(kernelSize: 2)
    let input = Tensor<Double>(shape: [1, 2, 2, 2], scalars: [1, .nan, 3, 2, 5, 5, 5, 5])
    let output = try layer.forward(input, mode: .training)
    #expect(output.scalars[0].isNaN)
    #expect(output.scalars[1] == 5)
    let gradInput = try layer.backward(Tensor(shape: [1, 2, 1, 1], scalars: [1, 1]))
    #expect(gradInput.scalars == [0, 1, 0, 0, 1, 0, 0, 0])
  }

  @Test func averagePool() throws {
    var layer = try AvgPool2d<Float>(kernelSize: 2)
    let output = try layer.forward(Self.counting, mode: .training)
    #expect(output.scalars == [3, 5, 13, 15])
    let gradInput = try layer.backward(Tensor(shape: [1, 1, 2, 2], scalars: [4, 8, 12, 16]))
    #expect(gradInput.scalars[0] == 1 && gradInput.scalars[6] == 1 && gradInput.scalars[8] == 2)
    #expect(gradInput.scalars[4] == 0 && gradInput.scalars[24] == 0)
  }
}
