/// The logistic function σ(x) = 1/(1 + e⁻ˣ) on a buffer, 16 floats at a time:
/// ```
/// e = exp(−|x|)        (never overflows)
/// σ(x) = 1/(1 + e)     for x ≥ 0
/// σ(x) = e/(1 + e)     for x < 0
/// ```
/// within 2 units in the last place of the exact value (as the `expf` path of
/// ``Sigmoid`` was), subnormal outputs included; NaN gives NaN. Every element goes through
/// the same vector arithmetic (the tail in a zero-padded vector), so a split of the buffer
/// between threads never changes a result.
func logisticKernel(_ input: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) {
  precondition(input.count == output.count, "logistic: input and output differ in length")
  guard let source = input.baseAddress, let destination = output.baseAddress else { return }
  // This is safe: blocks of 16 below `fullBlocks · 16` lie inside both buffers, and the
  // tail is copied through a local vector.
  let fullBlocks = input.count / 16
  let sourceBytes = UnsafeRawPointer(source)
  let destinationBytes = UnsafeMutableRawPointer(destination)
  for block in 0..<fullBlocks {
    let x = sourceBytes.loadUnaligned(fromByteOffset: block * 64, as: SIMD16<Float>.self)
    destinationBytes.storeBytes(of: logistic(x), toByteOffset: block * 64, as: SIMD16<Float>.self)
  }
  let tailStart = fullBlocks * 16
  guard tailStart < input.count else { return }
  var tail = SIMD16<Float>()
  for index in tailStart..<input.count { tail[index - tailStart] = source[index] }
  let result = logistic(tail)
  for index in tailStart..<input.count { destination[index] = result[index - tailStart] }
}

/// σ(x) per lane, as ``logisticKernel(_:into:)`` describes.
@inline(__always)
private func logistic(_ x: SIMD16<Float>) -> SIMD16<Float> {
  let magnitude = unsafeBitCast(unsafeBitCast(x, to: SIMD16<UInt32>.self) & 0x7FFF_FFFF, to: SIMD16<Float>.self)
  let e = exponential(ofNonPositive: -magnitude)
  let reciprocal = 1 / (1 + e)
  return (e * reciprocal).replacing(with: reciprocal, where: x .>= 0)
}

/// eᵗ for t ≤ 0 (Cephes' `expf`): t = n·ln 2 + r with n = round(t/ln 2) and |r| ≤ ln 2/2,
/// ```
/// eʳ ≈ 1 + r + r²·(c₀ + c₁r + … + c₅r⁵),    eᵗ = eʳ·2^⌊n/2⌋·2^(n − ⌊n/2⌋)
/// ```
/// ln 2 in two parts so n·ln 2 is exact; two power-of-two factors so the result may be
/// subnormal. t below −104 (where eᵗ rounds to 0) is clamped to −104.
@inline(__always)
private func exponential(ofNonPositive t: SIMD16<Float>) -> SIMD16<Float> {
  let t = t.replacing(with: -104, where: t .< -104)
  // Adding 1.5·2²³ rounds to a whole number, which then sits in the low mantissa bits.
  let shifter: Float = 12_582_912
  let shifted = t * 1.442_695_040_888_963_4 + shifter
  let n = shifted - shifter
  let r = (t - n * 0.693_359_375) - n * -2.121_944_400_546_905_8e-4
  var polynomial = SIMD16<Float>(repeating: 1.987_569_150_0e-4)
  polynomial = polynomial * r + 1.398_199_950_7e-3
  polynomial = polynomial * r + 8.333_451_907_3e-3
  polynomial = polynomial * r + 4.166_579_589_4e-2
  polynomial = polynomial * r + 1.666_666_545_9e-1
  polynomial = polynomial * r + 5.000_000_120_1e-1
  polynomial = polynomial * (r * r) + r + 1
  let exponent = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000
  let half = exponent &>> 1
  let first = unsafeBitCast((half &+ 127) &<< 23, to: SIMD16<Float>.self)
  let second = unsafeBitCast((exponent &- half &+ 127) &<< 23, to: SIMD16<Float>.self)
  return polynomial * first * second
}
