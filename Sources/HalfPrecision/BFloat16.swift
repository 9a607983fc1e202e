/// bfloat16 ("brain floating point"): the top 16 bits of a Float32 — its sign, its 8-bit
/// exponent (so the same range, up to about 3.4e38) and 7 of its 23 fraction bits (so
/// about 2–3 significant decimal digits). A storage type: arithmetic happens in Float.
///
/// Converting from Float rounds to the nearest bfloat16, ties to even; a value beyond the
/// largest finite bfloat16 (about 3.39e38) rounds to infinity as IEEE rounding does, NaN
/// stays NaN (quiet), ±∞ and ±0 keep their sign. Converting to Float is exact.
///
/// Equality and hashing compare bit patterns, as storage does (a NaN equals itself,
/// +0 and −0 differ); compare `floatValue`s for arithmetic equality.
public struct BFloat16: Hashable, Sendable, CustomStringConvertible {
  /// The 16 bits, as PyTorch's `torch.bfloat16` and safetensors' `BF16` store them.
  public var bitPattern: UInt16

  /// The value with these bits.
  public init(bitPattern: UInt16) {
    self.bitPattern = bitPattern
  }

  /// `value` rounded to the nearest bfloat16, ties to even (NaN stays NaN).
  @inlinable
  public init(_ value: Float) {
    let bits = value.bitPattern
    if value.isNaN {
      // Keep the sign and the top fraction bits, and set the quiet bit, so that a NaN
      // whose payload lies only in the low 16 bits does not become infinity.
      bitPattern = UInt16(truncatingIfNeeded: bits >> 16) | 0x0040
    } else {
      // Adding 0x7FFF plus the lowest kept bit, then truncating, rounds to nearest with
      // ties to even; a carry out of the fraction correctly increments the exponent
      // (up to infinity for the largest values).
      let rounding = 0x7FFF + ((bits >> 16) & 1)
      bitPattern = UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
    }
  }

  /// The value as a Float, exactly.
  @inlinable
  public var floatValue: Float { Float(bitPattern: UInt32(bitPattern) << 16) }

  /// The value as Float prints it, e.g. "0.33398438".
  public var description: String { floatValue.description }
}

extension Float {
  /// The bfloat16's value, exactly.
  @inlinable
  public init(_ value: BFloat16) {
    self = value.floatValue
  }
}
