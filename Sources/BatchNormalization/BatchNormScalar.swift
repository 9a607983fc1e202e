/// A floating-point type the batch-normalization kernels run on: `Float` or `Double`.
///
/// Statistics and gradient reductions always accumulate in `Double`, whatever the
/// element type, so Float32 data meets the numerics contract (DESIGN.md §3): the
/// kernels widen eight lanes at a time with ``widened(_:)`` and never use the
/// cancelling formula E[x²] − E[x]².
public protocol BatchNormScalar: BinaryFloatingPoint, SIMDScalar, Codable, Sendable, CustomStringConvertible {
  /// The eight lanes converted exactly to `Double`.
  static func widened(_ vector: SIMD8<Self>) -> SIMD8<Double>
}

extension Float: BatchNormScalar {
  @inlinable @inline(__always)
  public static func widened(_ vector: SIMD8<Float>) -> SIMD8<Double> { SIMD8<Double>(vector) }
}

extension Double: BatchNormScalar {
  @inlinable @inline(__always)
  public static func widened(_ vector: SIMD8<Double>) -> SIMD8<Double> { vector }
}
