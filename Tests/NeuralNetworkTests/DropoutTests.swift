import NeuralNetwork
import Testing

@Suite struct DropoutTests {
  @Test func sameSeedSameMasks() throws {
    let input = Tensor<Float>(shape: [10, 10], scalars: Array(repeating: 1, count: 100))
    var first = try Dropout<Float>(probability: 0.5, seed: 3)
    var second = try Dropout<Float>(probability: 0.5, seed: 3)
    var other = try Dropout<Float>(probability: 0.5, seed: 4)
    let a = try first.forward(input, mode: .training)
    #expect(a == (try second.forward(input, mode: .training)))
    #expect(a != (try other.forward(input, mode: .training)))
    // The generator moves on: the next mask differs.
    #expect(a != (try first.forward(input, mode: .training)))
  }

  /// About p of the elements are zeroed (within 4 standard errors of the binomial), the
  /// survivors are scaled by 1/(1 − p), and backward applies the same mask.
  @Test(arguments: [0.1, 0.5, 0.8])
  func scaling(probability: Double) throws {
    let count = 20_000
    let input = Tensor<Double>(shape: [count / 10, 10], scalars: Array(repeating: 2, count: count))
    var layer = try Dropout<Double>(probability: probability, seed: 11)
    let output = try layer.forward(input, mode: .training)
    let zeroed = Double(output.scalars.count { $0 == 0 }) / Double(count)
    #expect(abs(zeroed - probability) <= 4 * (probability * (1 - probability) / Double(count)).squareRoot())
    #expect(output.scalars.allSatisfy { $0 == 0 || abs($0 - 2 / (1 - probability)) < 1e-12 })
    let gradInput = try layer.backward(Tensor(shape: input.shape, scalars: Array(repeating: 1, count: count)))
    #expect(zip(gradInput.scalars, output.scalars).allSatisfy { $0 * 2 == $1 })
  }

  @Test func inferenceAndRecalibrationAreTheIdentity() throws {
    var layer = try Dropout<Float>(probability: 0.5, seed: 1)
    let input = Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
    #expect(try layer.forward(input, mode: .inference) == input)
    #expect(try layer.forward(input, mode: .recalibration) == input)
  }

  @Test func extremes() throws {
    let input = Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
    var never = try Dropout<Float>(probability: 0)
    #expect(try never.forward(input, mode: .training) == input)
    var always = try Dropout<Float>(probability: 1)
    #expect(try always.forward(input, mode: .training).scalars == [0, 0, 0, 0, 0, 0])
  }
}
