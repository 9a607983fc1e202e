@testable import BatchNormalization
import Testing

/// The vector 1/√(v + ε) of the forward pass against the scalar formula it replaces.
@Suite struct InverseSquareRootTests {
  /// 1/√(v + ε) with the scalar formula, as ``inverseStandardDeviation(variance:epsilon:)``.
  func scalar(_ variances: [Double], epsilon: Double) -> [Double] {
    variances.map { inverseStandardDeviation(variance: $0, epsilon: epsilon) }
  }

  func vector(_ variances: [Double], epsilon: Double) -> [Double] {
    var values = variances
    values.withUnsafeMutableBufferPointer { invertStandardDeviations($0, epsilon: epsilon) }
    return values
  }

  /// Log-uniform values over 2⁻⁹⁹⁰ … 2⁹⁹⁰: every lane takes Newton's iteration and lands
  /// within 2 units in the last place of the scalar formula (itself within 1 of 1/√d).
  @Test(arguments: [0.0, 1e-5])
  func newtonMatchesTheScalarFormulaWithinTwoUlps(epsilon: Double) {
    var generator = SplitMix64(seed: 7)
    let variances = (0..<20_003).map { _ in
      Double(sign: .plus, exponent: Int.random(in: -990...990, using: &generator), significand: Double.random(in: 1..<2, using: &generator))
    }
    let expected = scalar(variances, epsilon: epsilon)
    let actual = vector(variances, epsilon: epsilon)
    var worst = 0.0
    for (value, reference) in zip(actual, expected) { worst = max(worst, abs(value - reference) / reference.ulp) }
    #expect(worst <= 2, "largest error \(worst) ulp")
  }

  /// Zero, subnormal, huge, infinite, NaN and negative denominators follow the scalar
  /// conventions exactly (0 for 0 and ∞, NaN for NaN and negatives); the ordinary values
  /// that share their eight-lane block or fall in the tail still take Newton's iteration.
  @Test func specialValuesFollowTheScalarConventions() {
    let special: [Double] = [0, 0x1p-1060, 0x1p-1001, 0x1p1001, .greatestFiniteMagnitude, .infinity, .nan, -1, -0.0]
    let ordinary: [Double] = [1, 4, 0.25, 3, 1e-3, 7, 2, 9, 5, 6, 0.5]
    let variances = special + ordinary  // 20 values: two blocks and a tail of 4
    let expected = scalar(variances, epsilon: 0)
    let actual = vector(variances, epsilon: 0)
    for index in special.indices {
      #expect(
        actual[index] == expected[index] || (actual[index].isNaN && expected[index].isNaN),
        "variance \(variances[index]): \(actual[index]), expected \(expected[index])")
    }
    #expect(actual[0] == 0 && actual[5] == 0 && actual[6].isNaN && actual[7].isNaN)
    for index in special.count..<variances.count {
      #expect(abs(actual[index] - expected[index]) <= 2 * expected[index].ulp, "variance \(variances[index])")
    }
  }

  /// A value's result does not depend on where it sits (in a full block, next to a
  /// special value, or in the tail), so equal channels get equal coefficients. (For 11
  /// with ε = 1e-5, Newton's result and the scalar formula's differ in the last place.)
  @Test func theResultDependsOnlyOnTheValue() {
    let value = 11.0
    let variances: [Double] = [value, .nan, 1, 1, 1, 1, 1, 1] + [Double](repeating: value, count: 8) + [3, value]
    let actual = vector(variances, epsilon: 1e-5)
    #expect(actual[0] == actual[8] && actual[8] == actual[17], "\(actual[0]), \(actual[8]), \(actual[17])")
  }
}
