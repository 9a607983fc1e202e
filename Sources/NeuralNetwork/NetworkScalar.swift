#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif
import BatchNormalization

/// A floating-point type the training stack runs on: `Float` or `Double` (Double for
/// finite-difference gradient checks).
///
/// Adds to `BatchNormScalar` the elementary functions the activations and the loss
/// need, and the buffer kernels of ``NetworkScalarKernels`` (the matrix product, which
/// BLAS computes, and the logistic function).
public protocol NetworkScalar: BatchNormScalar, NetworkScalarKernels {
  /// eˣ.
  static func exponential(_ x: Self) -> Self
  /// ln x.
  static func logarithm(_ x: Self) -> Self
  /// tanh x.
  static func hyperbolicTangent(_ x: Self) -> Self
}

extension Float: NetworkScalar {
  @inlinable @inline(__always)
  public static func exponential(_ x: Float) -> Float { exp(x) }
  @inlinable @inline(__always)
  public static func logarithm(_ x: Float) -> Float { log(x) }
  @inlinable @inline(__always)
  public static func hyperbolicTangent(_ x: Float) -> Float { tanh(x) }
}

extension Double: NetworkScalar {
  @inlinable @inline(__always)
  public static func exponential(_ x: Double) -> Double { exp(x) }
  @inlinable @inline(__always)
  public static func logarithm(_ x: Double) -> Double { log(x) }
  @inlinable @inline(__always)
  public static func hyperbolicTangent(_ x: Double) -> Double { tanh(x) }
}
