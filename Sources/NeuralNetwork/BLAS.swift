// The only file that calls BLAS: OpenBLAS (Debian's libopenblas-dev, through the CBLAS
// system library) on Linux, Accelerate on Apple platforms. Both speak the same CBLAS.
#if canImport(Accelerate)
  import Accelerate
#else
  import CBLAS
#endif
import BatchNormalization

extension Float {
  /// C ← α·op(A)·op(B) + β·C with `cblas_sgemm`; see ``NetworkScalar/gemm(transposeA:transposeB:m:n:k:alpha:a:b:beta:c:)``.
  public static func gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
    beta: Float, c: UnsafeMutablePointer<Float>
  ) {
    guard m > 0, n > 0 else { return }
    let strides = GEMMStrides(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k)
    cblas_sgemm(
      CblasRowMajor, strides.operationA, strides.operationB, numericCast(m), numericCast(n), numericCast(k),
      alpha, a, numericCast(strides.a), b, numericCast(strides.b), beta, c, numericCast(n))
  }
}

extension Double {
  /// C ← α·op(A)·op(B) + β·C with `cblas_dgemm`; see ``NetworkScalar/gemm(transposeA:transposeB:m:n:k:alpha:a:b:beta:c:)``.
  public static func gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Double, a: UnsafePointer<Double>, b: UnsafePointer<Double>,
    beta: Double, c: UnsafeMutablePointer<Double>
  ) {
    guard m > 0, n > 0 else { return }
    let strides = GEMMStrides(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k)
    cblas_dgemm(
      CblasRowMajor, strides.operationA, strides.operationB, numericCast(m), numericCast(n), numericCast(k),
      alpha, a, numericCast(strides.a), b, numericCast(strides.b), beta, c, numericCast(n))
  }
}

/// The CBLAS transpose flags and row strides (leading dimensions) of contiguous
/// row-major operands: A is m×k (k×m transposed), B is k×n (n×k transposed). CBLAS
/// wants every stride ≥ 1, also when k = 0.
private struct GEMMStrides {
  let operationA: CBLAS_TRANSPOSE
  let operationB: CBLAS_TRANSPOSE
  let a: Int
  let b: Int

  init(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int) {
    operationA = transposeA ? CblasTrans : CblasNoTrans
    operationB = transposeB ? CblasTrans : CblasNoTrans
    a = max(1, transposeA ? m : k)
    b = max(1, transposeB ? k : n)
  }
}

extension ComputeThreads {
  /// Sets the thread count of everything the training stack computes: the
  /// batch-normalization kernels (``ComputeThreads/count``) and the BLAS thread pool
  /// (`openblas_set_num_threads`; Accelerate manages its own threads), so one setting
  /// governs both. Call it between steps, not while another thread is inside BLAS.
  ///
  /// Until it is called, both use every available processor (OpenBLAS follows
  /// `OPENBLAS_NUM_THREADS` when that is set).
  public static func setIncludingBLAS(_ count: Int) {
    ComputeThreads.count = count
    #if !canImport(Accelerate)
      openblas_set_num_threads(numericCast(ComputeThreads.count))
    #endif
  }
}

/// Runs `body` with BLAS on one thread, then restores BLAS's thread count: for a
/// parallel loop whose every thread makes its own small matrix products, which BLAS's
/// own threads would only slow down (they wake for each product and compete with the
/// loop's threads for the processors). Call it like ``ComputeThreads/setIncludingBLAS(_:)``:
/// not while another thread is inside BLAS.
func withSingleThreadedBLAS<Result>(_ body: () throws -> Result) rethrows -> Result {
  #if canImport(Accelerate)
    return try body()
  #else
    let threads = openblas_get_num_threads()
    guard threads > 1 else { return try body() }
    openblas_set_num_threads(1)
    defer { openblas_set_num_threads(threads) }
    return try body()
  #endif
}
