#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The kernels on raw buffers that a ``NetworkScalar`` brings: the matrix product (BLAS,
/// in `Interop/BLAS.swift`) and the logistic function. The layers reach them through the
/// array forms and never hold a pointer themselves.
public protocol NetworkScalarKernels {
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

  /// σ(x) = 1/(1 + e⁻ˣ) for every element of `input`, written to `output` (same count),
  /// without overflow for large |x|: eˣ/(1 + eˣ) for x < 0.
  static func logistic(_ input: UnsafeBufferPointer<Self>, into output: UnsafeMutableBufferPointer<Self>)
}

extension Float: NetworkScalarKernels {
  /// The vector kernel `logisticKernel(_:into:)` (within 2 ulp, as `expf` was).
  public static func logistic(_ input: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) {
    logisticKernel(input, into: output)
  }
}

extension Double: NetworkScalarKernels {
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
