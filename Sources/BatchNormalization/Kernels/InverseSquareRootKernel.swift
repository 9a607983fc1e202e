/// 1/√(v + ε) for every channel, eight lanes at a time.
///
/// Why not `1 / (v + ε).squareRoot()` in a loop: Swift's `squareRoot()` becomes C's
/// `sqrt`, which may set `errno`, so the compiler keeps one scalar square root and one
/// scalar division per channel (about 9 cycles). With thousands of channels and a few
/// samples (2x8192) that was most of a forward call. Here the root comes from Newton's
/// iteration for 1/√d, y ← y·(3 − d·y²)/2, which is only multiplications and so runs in
/// vector registers: a seed from the exponent bits (relative error below 3.5 %) and four
/// steps, each squaring the error, reach Double's precision (within 2 units in the last
/// place of the scalar formula, which the tests check). A d outside [2⁻¹⁰⁰⁰, 2¹⁰⁰⁰] (0,
/// subnormal, huge, infinite, NaN, negative) takes the scalar formula instead, so every
/// convention of ``inverseStandardDeviation(variance:epsilon:)`` holds; every other d
/// takes Newton's, wherever it sits in the buffer.
func invertStandardDeviations(_ variances: UnsafeMutableBufferPointer<Double>, epsilon: Double) {
  guard let values = variances.baseAddress else { return }
  let count = variances.count
  var index = 0
  while index + 8 <= count {
    values.storeVector(inverseSquareRoots(values.loadVector(at: index) + epsilon), at: index)
    index += 8
  }
  guard index < count else { return }
  // The tail, padded with 1s: every value takes the same path wherever it sits.
  var tail = SIMD8<Double>(repeating: 1)
  for lane in 0..<count - index { tail[lane] = values[index + lane] + epsilon }
  let inverse = inverseSquareRoots(tail)
  for lane in 0..<count - index { values[index + lane] = inverse[lane] }
}

/// 1/√d per lane by Newton's iteration, in registers when every lane is in
/// [2⁻¹⁰⁰⁰, 2¹⁰⁰⁰]; otherwise ``patchedInverseSquareRoots(_:)``.
@inline(__always)
private func inverseSquareRoots(_ denominator: SIMD8<Double>) -> SIMD8<Double> {
  all(denominator .>= 0x1p-1000 .& denominator .<= 0x1p1000)
    ? newtonInverseSquareRoot(denominator) : patchedInverseSquareRoots(denominator)
}

/// Newton's iteration, with the scalar formula for the lanes outside [2⁻¹⁰⁰⁰, 2¹⁰⁰⁰]
/// (kept out of line: mixed into the common path it sent every block through memory).
@inline(never)
private func patchedInverseSquareRoots(_ denominator: SIMD8<Double>) -> SIMD8<Double> {
  var inverse = newtonInverseSquareRoot(denominator)
  for lane in 0..<8 where !(denominator[lane] >= 0x1p-1000 && denominator[lane] <= 0x1p1000) {
    inverse[lane] = inverseStandardDeviation(variance: denominator[lane], epsilon: 0)
  }
  return inverse
}

/// 1/√d for normal, positive d: a bit-level seed, then four Newton steps.
@inline(__always)
private func newtonInverseSquareRoot(_ d: SIMD8<Double>) -> SIMD8<Double> {
  // Halving the exponent bits and subtracting from a tuned constant approximates
  // d^(−1/2) within 3.5 % (Lomont's constant for Double).
  let bits = unsafeBitCast(d, to: SIMD8<UInt64>.self)
  var y = unsafeBitCast(SIMD8<UInt64>(repeating: 0x5FE6_EB50_C7B5_37A9) &- (bits &>> 1), to: SIMD8<Double>.self)
  let half = 0.5 * d
  y = y * (1.5 - half * y * y)
  y = y * (1.5 - half * y * y)
  y = y * (1.5 - half * y * y)
  // The last step as a small correction added to y rounds better (≤ 2 ulp, not 3).
  return y + y * (0.5 - half * y * y)
}

/// ``invertStandardDeviations(_:epsilon:)`` for the values of an array.
func invertStandardDeviations(_ variances: inout [Double], epsilon: Double) {
  variances.withUnsafeMutableBufferPointer { invertStandardDeviations($0, epsilon: epsilon) }
}
