// The only file that calls BLAS: OpenBLAS (Debian's libopenblas-dev, through the CBLAS
// system library) on Linux, Accelerate on Apple platforms. Both speak the same CBLAS.
#if canImport(Accelerate)
  import Accelerate
#else
  import CBLAS
#endif
import ComputeRuntime

extension Float {
  /// C ← α·op(A)·op(B) + β·C with `cblas_sgemm`, split between the compute threads by
  /// `partitionedGEMM(_:m:n:k:a:b:c:call:)`; see
  /// ``NetworkScalarKernels/gemm(transposeA:transposeB:m:n:k:alpha:a:b:beta:c:)``.
  public static func gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
    beta: Float, c: UnsafeMutablePointer<Float>
  ) {
    let strides = GEMMStrides(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k)
    partitionedGEMM(strides, m: m, n: n, k: k, a: a, b: b, c: c) { m, n, a, b, c in
      cblas_sgemm(
        CblasRowMajor, strides.operationA, strides.operationB, numericCast(m), numericCast(n), numericCast(k),
        alpha, a, numericCast(strides.a), b, numericCast(strides.b), beta, c, numericCast(strides.c))
    }
  }
}

extension Double {
  /// C ← α·op(A)·op(B) + β·C with `cblas_dgemm`, split between the compute threads by
  /// `partitionedGEMM(_:m:n:k:a:b:c:call:)`; see
  /// ``NetworkScalarKernels/gemm(transposeA:transposeB:m:n:k:alpha:a:b:beta:c:)``.
  public static func gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Double, a: UnsafePointer<Double>, b: UnsafePointer<Double>,
    beta: Double, c: UnsafeMutablePointer<Double>
  ) {
    let strides = GEMMStrides(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k)
    partitionedGEMM(strides, m: m, n: n, k: k, a: a, b: b, c: c) { m, n, a, b, c in
      cblas_dgemm(
        CblasRowMajor, strides.operationA, strides.operationB, numericCast(m), numericCast(n), numericCast(k),
        alpha, a, numericCast(strides.a), b, numericCast(strides.b), beta, c, numericCast(strides.c))
    }
  }
}

/// Multiply–adds (m·n·k) below which a product is one BLAS call: about 30 µs of one
/// core's single-precision GEMM, several times a thread handoff.
private let minimumSplitMultiplyAdds = 1 << 21

/// Rows (or columns) of C per BLAS call in a split product. A constant, never derived
/// from the thread count: every element of C comes from the same call whatever the
/// thread count, so training results are bit-identical for any `ComputeThreads.count`.
private let gemmBlockLength = 128

/// Runs one GEMM as `call(m′, n′, A′, B′, C′)` on disjoint blocks of ``gemmBlockLength``
/// rows of C (when m ≥ n) or columns (m < n), shared between the compute threads by
/// `parallelFor`; each call has the full k and the full leading dimensions:
/// ```
/// rows i₀..<i₁ of C:     A′ = A + i₀·(k, or 1 when A is transposed),  C′ = C + i₀·n
/// columns j₀..<j₁ of C:  B′ = B + j₀·(1, or k when B is transposed),  C′ = C + j₀
/// ```
/// A product under ``minimumSplitMultiplyAdds`` is one call. BLAS itself runs
/// single-threaded (set on first use), so two thread pools never compete for the cores.
@inline(__always)
private func partitionedGEMM<Scalar>(
  _ strides: GEMMStrides, m: Int, n: Int, k: Int,
  a: UnsafePointer<Scalar>, b: UnsafePointer<Scalar>, c: UnsafeMutablePointer<Scalar>,
  call: (_ m: Int, _ n: Int, _ a: UnsafePointer<Scalar>, _ b: UnsafePointer<Scalar>, _ c: UnsafeMutablePointer<Scalar>) -> Void
) {
  guard m > 0, n > 0 else { return }
  blasRunsSingleThreaded()
  let splitsRows = m >= n
  let length = splitsRows ? m : n
  let (work, overflow) = m.multipliedReportingOverflow(by: n * max(1, k))
  guard overflow || work >= minimumSplitMultiplyAdds, length > gemmBlockLength else {
    call(m, n, a, b, c)
    return
  }
  let blocks = (length + gemmBlockLength - 1) / gemmBlockLength
  let rowStep = strides.operationA == CblasNoTrans ? k : 1
  let columnStep = strides.operationB == CblasNoTrans ? 1 : k
  parallelFor(blocks, costPerItem: gemmBlockLength * (splitsRows ? n : m) * k, minimumParallelWork: 0) { range in
    for block in range {
      let start = block * gemmBlockLength
      let count = min(gemmBlockLength, length - start)
      // These are safe: each block's offset stays inside the operand it moves along.
      if splitsRows {
        call(count, n, a + start * rowStep, b, c + start * n)
      } else {
        call(m, count, a, b + start * columnStep, c + start)
      }
    }
  }
}

/// The CBLAS transpose flags and row strides (leading dimensions) of contiguous
/// row-major operands: A is m×k (k×m transposed), B is k×n (n×k transposed), C is m×n.
/// CBLAS wants every stride ≥ 1, also when k = 0.
private struct GEMMStrides {
  let operationA: CBLAS_TRANSPOSE
  let operationB: CBLAS_TRANSPOSE
  let a: Int
  let b: Int
  let c: Int

  init(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int) {
    operationA = transposeA ? CblasTrans : CblasNoTrans
    operationB = transposeB ? CblasTrans : CblasNoTrans
    a = max(1, transposeA ? m : k)
    b = max(1, transposeB ? k : n)
    c = max(1, n)
  }
}

/// Makes BLAS single-threaded, once, before the first product: our `parallelFor`
/// splits the large products instead (OpenBLAS's own workers spin between calls and
/// would take the cores from the kernels that run between products). Accelerate manages
/// its own threads.
private func blasRunsSingleThreaded() {
  _ = singleThreadedBLAS
}

private let singleThreadedBLAS: Void = {
  #if !canImport(Accelerate)
    openblas_set_num_threads(1)
  #endif
}()

extension ComputeThreads {
  /// Sets the thread count of everything the training stack computes: the
  /// batch-normalization kernels and the matrix products, which BLAS runs
  /// single-threaded on blocks of C split between these threads
  /// (`ComputeThreads/count`, so one setting governs both). Until it is called, every
  /// available processor.
  public static func setIncludingBLAS(_ count: Int) {
    ComputeThreads.count = count
  }
}
