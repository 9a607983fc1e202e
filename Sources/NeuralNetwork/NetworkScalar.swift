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
/// Adds to ``BatchNormScalar`` the matrix product, which BLAS computes (see
/// `BLAS.swift`, the only file that calls it), and the elementary functions the
/// activations and the loss need.
public protocol NetworkScalar: BatchNormScalar {
  /// The general matrix product on contiguous row-major matrices:
  /// ```
  /// C ← α·op(A)·op(B) + β·C      op(A): m×k,  op(B): k×n,  C: m×n
  /// ```
  /// where op(X) is X, or Xᵀ when its transpose flag is set. A is stored as m×k
  /// (k×m when transposed), B as k×n (n×k when transposed). With β = 0, C's old
  /// contents are ignored (NaN included); with β = 1 the product accumulates into C.
  ///
  /// - Precondition: the pointers address at least m·k, k·n and m·n elements; C does
  ///   not overlap A or B.
  static func gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Self, a: UnsafePointer<Self>, b: UnsafePointer<Self>,
    beta: Self, c: UnsafeMutablePointer<Self>)

  /// eˣ.
  static func exponential(_ x: Self) -> Self
  /// ln x.
  static func logarithm(_ x: Self) -> Self
  /// tanh x.
  static func hyperbolicTangent(_ x: Self) -> Self
  /// σ(x) = 1/(1 + e⁻ˣ) for every element of `input`, written to `output` (same count),
  /// without overflow for large |x|: eˣ/(1 + eˣ) for x < 0.
  static func logistic(_ input: UnsafeBufferPointer<Self>, into output: UnsafeMutableBufferPointer<Self>)
}

extension Float: NetworkScalar {
  @inlinable @inline(__always)
  public static func exponential(_ x: Float) -> Float { exp(x) }
  @inlinable @inline(__always)
  public static func logarithm(_ x: Float) -> Float { log(x) }
  @inlinable @inline(__always)
  public static func hyperbolicTangent(_ x: Float) -> Float { tanh(x) }
  /// The vector kernel ``logisticKernel(_:into:)`` (within 2 ulp, as `expf` was).
  public static func logistic(_ input: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) {
    logisticKernel(input, into: output)
  }
}

extension Double: NetworkScalar {
  @inlinable @inline(__always)
  public static func exponential(_ x: Double) -> Double { exp(x) }
  @inlinable @inline(__always)
  public static func logarithm(_ x: Double) -> Double { log(x) }
  @inlinable @inline(__always)
  public static func hyperbolicTangent(_ x: Double) -> Double { tanh(x) }
  /// One `exp` per element (the reference precision for gradient checks).
  public static func logistic(_ input: UnsafeBufferPointer<Double>, into output: UnsafeMutableBufferPointer<Double>) {
    precondition(input.count == output.count, "logistic: input and output differ in length")
    for index in input.indices {
      let x = input[index]
      if x >= 0 {
        output[index] = 1 / (1 + exp(-x))
      } else {
        let e = exp(x)
        output[index] = e / (1 + e)
      }
    }
  }
}
