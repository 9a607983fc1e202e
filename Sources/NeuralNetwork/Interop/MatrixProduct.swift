extension NetworkScalar {
  /// The array form of ``gemm(transposeA:transposeB:m:n:k:alpha:a:b:beta:c:)``:
  /// ```
  /// C ← α·op(A)·op(B) + β·C      op(A): m×k,  op(B): k×n,  C: m×n, all row-major
  /// ```
  /// - Precondition: m, n, k ≥ 1 and the arrays hold m·k, k·n and m·n elements.
  @inlinable
  public static func gemm(
    transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int,
    alpha: Self = 1, a: [Self], b: [Self], beta: Self = 0, c: inout [Self]
  ) {
    precondition(m > 0 && n > 0 && k > 0, "gemm needs positive sizes, got m = \(m), n = \(n), k = \(k)")
    precondition(a.count == m * k && b.count == k * n && c.count == m * n, "gemm operand sizes do not match m, n, k")
    a.withUnsafeBufferPointer { a in
      b.withUnsafeBufferPointer { b in
        c.withUnsafeMutableBufferPointer { c in
          // This is safe: each buffer holds at least one element, so its base address exists.
          gemm(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
            alpha: alpha, a: a.baseAddress!, b: b.baseAddress!, beta: beta, c: c.baseAddress!)
        }
      }
    }
  }
}
