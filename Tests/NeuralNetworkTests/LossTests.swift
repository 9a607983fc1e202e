import Foundation
import NeuralNetwork
import Testing

@Suite struct LossTests {
  @Test func crossEntropyMatchesTheDefinition() throws {
    var generator = SeededGenerator(seed: 90)
    let logits: Tensor<Double> = generator.gaussianTensor([6, 5], standardDeviation: 3)
    let labels = generator.labels(6, classCount: 5)
    let (loss, gradient) = try SoftmaxCrossEntropy().evaluate(logits: logits, labels: labels)
    var expectedLoss = 0.0
    var expectedGradient = [Double]()
    for (sample, label) in labels.enumerated() {
      let row = Array(logits.scalars[sample * 5..<(sample + 1) * 5])
      let exponentials = row.map { Foundation.exp($0) }
      let sum = exponentials.reduce(0, +)
      expectedLoss -= Foundation.log(exponentials[label] / sum) / 6
      expectedGradient += exponentials.enumerated().map { ($1 / sum - ($0 == label ? 1 : 0)) / 6 }
    }
    #expect(abs(loss - expectedLoss) <= 1e-14 * expectedLoss)
    #expect(maximumDifference(gradient.scalars, expectedGradient) <= 1e-16)
    for sample in 0..<6 {
      #expect(abs(gradient.scalars[sample * 5..<(sample + 1) * 5].reduce(0, +)) <= 1e-16)
    }
  }

  @Test func crossEntropyGradientMatchesFiniteDifferences() throws {
    var generator = SeededGenerator(seed: 91)
    let logits: Tensor<Double> = generator.gaussianTensor([4, 3])
    let labels = generator.labels(4, classCount: 3)
    let gradient = try SoftmaxCrossEntropy().evaluate(logits: logits, labels: labels).gradient
    var numeric = [Double]()
    for index in logits.scalars.indices {
      var plus = logits, minus = logits
      plus.scalars[index] += 1e-6
      minus.scalars[index] -= 1e-6
      numeric.append(
        (try SoftmaxCrossEntropy().evaluate(logits: plus, labels: labels).loss
          - SoftmaxCrossEntropy().evaluate(logits: minus, labels: labels).loss) / 2e-6)
    }
    #expect(relativeError(gradient.scalars, numeric) <= 1e-6)
  }

  /// Logits of ±1e4 would overflow exp in any precision; the shifted form gives the
  /// exact loss: 0 when the label holds the maximum, else the margin to it.
  @Test(arguments: ScalarKind.allCases)
  func hugeLogits(kind: ScalarKind) throws {
    switch kind {
    case .float: try checkHugeLogits(Float.self)
    case .double: try checkHugeLogits(Double.self)
    }
  }

  func checkHugeLogits<Scalar: NetworkScalar>(_: Scalar.Type) throws {
    let logits = Tensor<Scalar>(shape: [2, 3], scalars: [10_000, 0, -10_000, -10_000, 10_000, 10_000])
    let (loss, gradient) = try SoftmaxCrossEntropy().evaluate(logits: logits, labels: [0, 0])
    // Sample 0: −log softmax = 0. Sample 1: 2e4 + log 2. Mean: 1e4 + log(2)/2.
    #expect(abs(Double(loss) - (10_000 + Foundation.log(2.0) / 2)) <= Double(Scalar.ulpOfOne) * 20_000)
    #expect(gradient.scalars.allSatisfy { $0.isFinite })
    #expect(maximumDifference(gradient.scalars, [0, 0, 0, -0.5, 0.25, 0.25]) <= Double(Scalar.ulpOfOne))
  }

  @Test func rejectsBadLabelsAndShapes() {
    let logits = Tensor<Float>(zeros: [2, 3])
    #expect(throws: NetworkError.invalidLabel(sample: 1, label: 3, classCount: 3)) {
      try SoftmaxCrossEntropy().evaluate(logits: logits, labels: [0, 3])
    }
    #expect(throws: NetworkError.self) { try SoftmaxCrossEntropy().evaluate(logits: logits, labels: [0]) }
    #expect(throws: NetworkError.self) { try accuracy(logits: logits, labels: [0, -1]) }
  }

  @Test func accuracyAndPredictions() throws {
    let logits = Tensor<Float>(shape: [4, 3], scalars: [1, 2, 3, 3, 2, 1, 5, 5, 0, 0, 1, 0])
    #expect(predictedClasses(logits: logits) == [2, 0, 0, 1])
    #expect(try accuracy(logits: logits, labels: [2, 0, 1, 1]) == 0.75)
  }

  @Test func confusionMatrix() throws {
    var confusion = ConfusionMatrix(classCount: 3, classNames: ["cat", "dog", "fox"])
    let logits = Tensor<Float>(shape: [5, 3], scalars: [9, 0, 0, 0, 9, 0, 9, 0, 0, 0, 0, 9, 0, 0, 9])
    try confusion.record(logits: logits, labels: [0, 1, 1, 2, 2])
    try confusion.record(label: 0, predicted: 0)
    #expect(confusion.total == 6)
    #expect(confusion[1, 0] == 1 && confusion[1, 1] == 1 && confusion[2, 2] == 2 && confusion[0, 0] == 2)
    #expect(confusion.accuracy == 5.0 / 6)
    #expect(confusion.perClassAccuracy == [1, 0.5, 1])
    #expect(throws: NetworkError.self) { try confusion.record(label: 3, predicted: 0) }
    #expect(throws: NetworkError.self) { try confusion.record(logits: Tensor<Float>(zeros: [1, 4]), labels: [0]) }
    #expect(confusion.total == 6)
    let text = confusion.description
    #expect(text.contains("true \\ predicted cat dog fox  accuracy"))
    #expect(text.contains("dog   1   1   0     50.0%"))
    #expect(text.hasSuffix("overall accuracy 83.3% of 6"))
    #expect(ConfusionMatrix(classCount: 2).perClassAccuracy.allSatisfy { $0.isNaN })
  }
}
