/// Eight 16-bit values at a time, widened to or rounded from Float: what a kernel over
/// half-precision storage needs. Inlinable, so that a kernel in another module compiles
/// them into its loop (with F16C: one vcvtph2ps or vcvtps2ph per eight values; bfloat16:
/// shifts and integer adds).
///
/// Callers guarantee that `index + 8 ≤` the count of the buffer `base` came from.
public protocol HalfPrecisionVectors {
  /// Values `index..<index + 8` of the buffer at `base`, as Floats (exactly).
  static func loadFloats(from base: UnsafePointer<Self>, at index: Int) -> SIMD8<Float>
  /// `values`, each rounded to nearest (ties to even), into `index..<index + 8`.
  static func storeFloats(_ values: SIMD8<Float>, to base: UnsafeMutablePointer<Self>, at index: Int)
}

extension BFloat16: HalfPrecisionVectors {
  @inlinable @inline(__always)
  public static func loadFloats(from base: UnsafePointer<BFloat16>, at index: Int) -> SIMD8<Float> {
    // This is safe: the caller keeps the eight values inside the buffer; loadUnaligned
    // has no alignment requirement.
    // Each value's bits become the top half of a 32-bit lane whose bottom half is zero:
    // widened lane by lane and shifted, which the optimizer compiles to vpmovzxwd and
    // vpslld (interleaving with zeros took two shuffles).
    let bits = UnsafeRawPointer(base + index).loadUnaligned(as: SIMD8<UInt16>.self)
    let lanes = SIMD8<UInt32>(
      UInt32(bits[0]), UInt32(bits[1]), UInt32(bits[2]), UInt32(bits[3]), UInt32(bits[4]), UInt32(bits[5]),
      UInt32(bits[6]), UInt32(bits[7]))
    return unsafeBitCast(lanes &<< 16, to: SIMD8<Float>.self)
  }

  @inlinable @inline(__always)
  public static func storeFloats(_ values: SIMD8<Float>, to base: UnsafeMutablePointer<BFloat16>, at index: Int) {
    // BFloat16.init(_:) on eight lanes, in 32-bit lanes whose top halves are the result:
    // rounded by carry, NaN kept NaN with the quiet bit. Then the top halves, picked with
    // one shuffle (a truncating narrow costs blends and a pack on AVX2).
    let bits = unsafeBitCast(values, to: SIMD8<UInt32>.self)
    let rounded = bits &+ (0x7FFF &+ ((bits &>> 16) & 1))
    let wide = rounded.replacing(with: bits | 0x0040_0000, where: values .!= values)
    let halves = unsafeBitCast(wide, to: SIMD16<UInt16>.self)
    let top = SIMD8<UInt16>(halves[1], halves[3], halves[5], halves[7], halves[9], halves[11], halves[13], halves[15])
    // This is safe: as for loadFloats; storeBytes accepts unaligned addresses.
    UnsafeMutableRawPointer(base + index).storeBytes(of: top, as: SIMD8<UInt16>.self)
  }
}

#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
  extension Float16: HalfPrecisionVectors {
    @inlinable @inline(__always)
    public static func loadFloats(from base: UnsafePointer<Float16>, at index: Int) -> SIMD8<Float> {
      // This is safe: as for BFloat16.
      let values = UnsafeRawPointer(base + index).loadUnaligned(as: SIMD8<Float16>.self)
      // Lane by lane, which the optimizer joins into one vcvtph2ps with F16C: the generic
      // SIMD8<Float>(_:) conversion was left out of line in large kernels, a call per vector.
      return SIMD8<Float>(
        Float(values[0]), Float(values[1]), Float(values[2]), Float(values[3]), Float(values[4]), Float(values[5]),
        Float(values[6]), Float(values[7]))
    }

    @inlinable @inline(__always)
    public static func storeFloats(_ values: SIMD8<Float>, to base: UnsafeMutablePointer<Float16>, at index: Int) {
      // Lane by lane, joined into one vcvtps2ph with F16C (see loadFloats).
      let halves = SIMD8<Float16>(
        Float16(values[0]), Float16(values[1]), Float16(values[2]), Float16(values[3]), Float16(values[4]),
        Float16(values[5]), Float16(values[6]), Float16(values[7]))
      // This is safe: as for BFloat16.
      UnsafeMutableRawPointer(base + index).storeBytes(of: halves, as: SIMD8<Float16>.self)
    }
  }
#endif
