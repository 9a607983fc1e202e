import Testing

@testable import HalfPrecision

/// The 16-bit storage types: conversions from Float round to nearest, ties to even, for
/// every bit pattern and at every half-way point; conversions to Float are exact; NaN, ±∞
/// and ±0 survive; the whole-array conversions equal the one-value ones.
@Suite struct HalfPrecisionTests {
  /// The bfloat16 nearest to `value` (ties to even), found the slow way: among the three
  /// bfloat16 values around Float's truncation, the closest in Double.
  static func nearestBFloat16(_ value: Float) -> UInt16 {
    let truncated = UInt16(value.bitPattern >> 16)
    let candidates = [truncated &- 1, truncated, truncated &+ 1].filter { ($0 ^ truncated) & 0x8000 == 0 }
    func distance(_ bits: UInt16) -> Double {
      let candidate = Float(bitPattern: UInt32(bits) << 16)
      if candidate.isInfinite {
        // Beyond the largest finite value, IEEE rounds to ∞ from half a unit above it.
        let largest = Double(Float(bitPattern: UInt32(bits - 1) << 16))
        let halfUnit = abs(largest - Double(Float(bitPattern: UInt32(bits - 2) << 16))) / 2
        return abs(Double(value)) >= abs(largest) + halfUnit ? 0 : .infinity
      }
      return candidate.isNaN ? .infinity : abs(Double(candidate) - Double(value))
    }
    return candidates.min { a, b in
      let (da, db) = (distance(a), distance(b))
      return da < db || (da == db && a & 1 == 0 && b & 1 == 1)
    }!
  }

  @Test func bfloat16WidensExactlyAndRoundTripsEveryBitPattern() {
    for bits in 0...UInt16.max {
      let value = BFloat16(bitPattern: bits)
      #expect(value.floatValue.bitPattern == UInt32(bits) << 16)
      if value.floatValue.isNaN {
        #expect(BFloat16(value.floatValue).floatValue.isNaN)
      } else if BFloat16(value.floatValue).bitPattern != bits {
        Issue.record("bfloat16 \(bits) does not round-trip")
      }
    }
  }

  @Test func bfloat16RoundsToNearestTiesToEven() {
    // Half-way between 1 and 1 + 2⁻⁷ goes to the even 1; between 1 + 2⁻⁷ and 1 + 2⁻⁶, to 1 + 2⁻⁶.
    #expect(BFloat16(Float(1 + 0.5 / 128)).floatValue == 1)
    #expect(BFloat16(Float(1 + 1.5 / 128)).floatValue == Float(1 + 2.0 / 128))
    #expect(BFloat16(Float(1 + 0.5 / 128).nextUp).floatValue == Float(1 + 1.0 / 128))
    #expect(BFloat16(Float(-1 - 1.5 / 128)).floatValue == Float(-1 - 2.0 / 128))
    // Range: the largest Float rounds to ∞; the largest bfloat16 stays.
    #expect(BFloat16(Float.greatestFiniteMagnitude).floatValue == .infinity)
    #expect(BFloat16(-Float.greatestFiniteMagnitude).floatValue == -.infinity)
    #expect(BFloat16(Float(bitPattern: 0x7F7F_0000)).bitPattern == 0x7F7F)
    // Signed zero, infinities, NaN (also one whose payload is only in the low bits).
    #expect(BFloat16(Float(-0.0)).bitPattern == 0x8000)
    #expect(BFloat16(Float.infinity).bitPattern == 0x7F80)
    #expect(BFloat16(-Float.infinity).bitPattern == 0xFF80)
    #expect(BFloat16(Float(bitPattern: 0x7F80_0001)).floatValue.isNaN)
    #expect(BFloat16(Float(bitPattern: 0xFF80_0001)).floatValue.isNaN)
    #expect(BFloat16(Float(bitPattern: 0xFF80_0001)).bitPattern & 0x8000 != 0)
    // Subnormals round like everything else.
    #expect(BFloat16(Float(bitPattern: 0x0000_8000)).bitPattern == 0x0000)
    #expect(BFloat16(Float(bitPattern: 0x0001_8000)).bitPattern == 0x0002)
  }

  @Test func bfloat16MatchesTheSlowRoundingOnMillionsOfFloats() {
    var state: UInt64 = 0x1234_5678
    var mismatches = 0
    for _ in 0..<2_000_000 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      let value = Float(bitPattern: UInt32(truncatingIfNeeded: state >> 32))
      guard !value.isNaN else { continue }
      if BFloat16(value).bitPattern != Self.nearestBFloat16(value) { mismatches += 1 }
    }
    // Every half-way point of the top 16 bit patterns, both directions of the tie.
    for bits in stride(from: UInt32(0), to: 0x7F80_0000, by: 0x0001_0000) {
      for value in [Float(bitPattern: bits | 0x8000), Float(bitPattern: bits | 0x8000 | 0x8000_0000)] {
        if BFloat16(value).bitPattern != Self.nearestBFloat16(value) { mismatches += 1 }
      }
    }
    #expect(mismatches == 0)
  }

  @Test func arraysConvertAsSingleValues() {
    let floats = (0...UInt16.max).map { Float(bitPattern: UInt32($0) << 16 | UInt32($0)) }
    let bfloats = BFloat16.narrowed(floats)
    #expect(bfloats.map(\.bitPattern) == floats.map { BFloat16($0).bitPattern })
    #expect(BFloat16.widened(bfloats).map(\.bitPattern) == bfloats.map { $0.floatValue.bitPattern })
    #expect(BFloat16.narrowed([]).isEmpty && BFloat16.widened([]).isEmpty)
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      let halves = Float16.narrowed(floats.map { $0 / 65536 })
      #expect(halves.map(\.bitPattern) == floats.map { Float16($0 / 65536).bitPattern })
      let every = (0...UInt16.max).map { Float16(bitPattern: $0) }
      let widened = Float16.widened(every)
      for (half, wide) in zip(every, widened) {
        #expect(half.isNaN ? wide.isNaN : wide == Float(half), "\(half.bitPattern)")
      }
      #expect(Float16(rounding: 65520).floatValue == .infinity)  // half-way above 65504 rounds up
      #expect(Float16(rounding: 65519).floatValue == 65504)
    #endif
  }
}
