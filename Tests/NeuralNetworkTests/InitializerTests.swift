import NeuralNetwork
import Testing

@Suite struct InitializerTests {
  /// (initializer, expected standard deviation for a [200, 300] weight, uniform bound if any)
  static let cases: [(Initializer, Double, Double?)] = [
    (.gaussian(standardDeviation: 0.05), 0.05, nil),
    (.xavierUniform, (2 / 500.0).squareRoot(), (6 / 500.0).squareRoot()),
    (.xavierNormal, (2 / 500.0).squareRoot(), nil),
    (.heNormal, (2 / 300.0).squareRoot(), nil),
    (.pytorchDefault, 1 / (3 * 300.0).squareRoot(), 1 / (300.0).squareRoot()),
  ]

  /// The sample mean is within 4 standard errors of 0, and the sample standard
  /// deviation within 4 of its own standard errors (σ/√(2n) for a normal, σ·√(0.8/4n)
  /// for a uniform) of the expected one.
  @Test(arguments: cases.indices)
  func statistics(caseIndex: Int) {
    let (initializer, standardDeviation, bound) = Self.cases[caseIndex]
    var generator = SeededGenerator(seed: 70 + UInt64(caseIndex))
    let weight: Tensor<Double> = initializer.weight(shape: [200, 300], using: &generator)
    let count = Double(weight.elementCount)
    let mean = weight.scalars.reduce(0, +) / count
    let sampleDeviation = (weight.scalars.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / (count - 1)).squareRoot()
    #expect(abs(mean) <= 4 * standardDeviation / count.squareRoot())
    let deviationError = bound == nil ? standardDeviation / (2 * count).squareRoot() : standardDeviation * (0.2 / count).squareRoot()
    #expect(abs(sampleDeviation - standardDeviation) <= 4 * deviationError)
    if let bound { #expect(weight.scalars.allSatisfy { abs($0) <= bound }) }
  }

  @Test func fansFollowPyTorch() {
    #expect(Initializer.fans(ofWeightShape: [10, 784]) == (784, 10))
    #expect(Initializer.fans(ofWeightShape: [16, 8, 3, 3]) == (72, 144))
  }

  @Test func biases() {
    var generator = SeededGenerator(seed: 80)
    let zero: Tensor<Float> = Initializer.heNormal.bias(count: 5, fanIn: 10, using: &generator)
    #expect(zero.scalars == [0, 0, 0, 0, 0])
    let pytorch: Tensor<Float> = Initializer.pytorchDefault.bias(count: 1000, fanIn: 100, using: &generator)
    #expect(pytorch.scalars.allSatisfy { abs($0) <= 0.1 })
    #expect(pytorch.scalars.map(abs).max()! > 0.09)
  }

  @Test func seededGeneratorIsReproducible() {
    var first = SeededGenerator(seed: 5)
    var second = SeededGenerator(seed: 5)
    #expect((0..<10).map { _ in first.next() } == (0..<10).map { _ in second.next() })
    var generator = SeededGenerator(seed: 6)
    let values = (0..<20_000).map { _ in generator.nextGaussian() }
    let mean = values.reduce(0, +) / 20_000
    let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 19_999
    #expect(abs(mean) < 4 / (20_000.0).squareRoot())
    #expect(abs(variance - 1) < 4 * (2 / 20_000.0).squareRoot())
    #expect((0..<1000).allSatisfy { _ in (0..<1).contains(generator.nextUniform()) })
  }
}
