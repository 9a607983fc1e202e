import BatchNormalization

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

/// The largest |a_i − b_i| / max(|b_i|, floor).
func maximumRelativeDifference<A: BinaryFloatingPoint, B: BinaryFloatingPoint>(_ a: [A], _ b: [B], floor: Double = 1e-12) -> Double {
  guard a.count == b.count else { return .infinity }
  var worst = 0.0
  for (x, y) in zip(a, b) {
    let difference = abs(Double(x) - Double(y)) / max(abs(Double(y)), floor)
    guard !difference.isNaN else { return .infinity }
    worst = max(worst, difference)
  }
  return worst
}

func doubles<Scalar: BinaryFloatingPoint>(_ values: [Scalar]) -> [Double] { values.map { Double($0) } }

/// How many positions hold different bits (the sign of zero and NaN payloads count), plus
/// the values one side has beyond the other. A count rather than an array comparison, so
/// that a failure on millions of values prints one number.
func bitDifferences<A: Collection<Float>, B: Collection<Float>>(_ a: A, _ b: B) -> Int {
  zip(a, b).count { $0.bitPattern != $1.bitPattern } + abs(a.count - b.count)
}

/// The element types every kernel test runs for.
enum ScalarKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
  case float, double
  var testDescription: String { rawValue }
  /// Tolerance for outputs of unit scale.
  var tolerance: Double { self == .float ? 1e-5 : 1e-12 }
}

import Testing
