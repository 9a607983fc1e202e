import NeuralNetwork

extension SeededGenerator {
  /// A tensor of `shape` with N(0, σ²) values.
  mutating func gaussianTensor<Scalar: NetworkScalar>(
    _ shape: [Int], standardDeviation: Double = 1, as: Scalar.Type = Scalar.self
  ) -> Tensor<Scalar> {
    let count = shape.reduce(1, *)
    return Tensor(shape: shape, scalars: (0..<count).map { _ in Scalar(standardDeviation * nextGaussian()) })
  }

  /// A tensor of `shape` holding a random permutation of evenly spaced values
  /// −spread … spread, so no two are within `2·spread/count` of each other (no ties
  /// for max pooling) and none is 0 when `count` is even (no kink for ReLU).
  mutating func distinctTensor(_ shape: [Int], spread: Double = 2) -> Tensor<Double> {
    let count = shape.reduce(1, *)
    let values = (0..<count).map { spread * (2 * (Double($0) + 0.5) / Double(count) - 1) }
    return Tensor(shape: shape, scalars: values.shuffled(using: &self))
  }

  /// `count` labels in 0..<classCount.
  mutating func labels(_ count: Int, classCount: Int) -> [Int] {
    (0..<count).map { _ in Int.random(in: 0..<classCount, using: &self) }
  }
}

/// The largest |a_i − b_i|, or infinity when the counts differ or a value is NaN.
func maximumDifference<A: BinaryFloatingPoint, B: BinaryFloatingPoint>(_ a: [A], _ b: [B]) -> Double {
  guard a.count == b.count else { return .infinity }
  var worst = 0.0
  for (x, y) in zip(a, b) {
    let difference = abs(Double(x) - Double(y))
    guard !difference.isNaN else { return .infinity }
    worst = max(worst, difference)
  }
  return worst
}

/// max |analytic − numeric| / max(max |numeric|, 1e-3): the error relative to the
/// gradient's scale.
func relativeError(_ analytic: [Double], _ numeric: [Double]) -> Double {
  maximumDifference(analytic, numeric) / max(numeric.map(abs).max() ?? 0, 1e-3)
}

/// The element types generic tests run for.
enum ScalarKind: String, CaseIterable, Sendable {
  case float, double
}
