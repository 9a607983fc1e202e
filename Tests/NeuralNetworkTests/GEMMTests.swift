import BatchNormalization
import ComputeRuntime
import NeuralNetwork
import Testing

@Suite struct GEMMTests {
  /// (m, n, k)
  static let sizes = [(1, 1, 1), (3, 5, 4), (7, 2, 9), (17, 33, 65), (64, 10, 100)]

  @Test(arguments: ScalarKind.allCases, [false, true])
  func matchesTripleLoop(kind: ScalarKind, transposeA: Bool) {
    for transposeB in [false, true] {
      for (m, n, k) in Self.sizes {
        switch kind {
        case .float: check(Float.self, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, tolerance: 1e-5)
        case .double: check(Double.self, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, tolerance: 1e-13)
        }
      }
    }
  }

  /// C ← α·op(A)·op(B) + β·C against the definition, with α = 0.5, β = 2 on a nonzero C.
  func check<Scalar: NetworkScalar>(
    _: Scalar.Type, m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, tolerance: Double
  ) {
    var generator = SeededGenerator(seed: UInt64(m * 10_000 + n * 100 + k))
    let a: Tensor<Scalar> = generator.gaussianTensor(transposeA ? [k, m] : [m, k])
    let b: Tensor<Scalar> = generator.gaussianTensor(transposeB ? [n, k] : [k, n])
    let c: Tensor<Scalar> = generator.gaussianTensor([m, n])
    var expected = [Double](repeating: 0, count: m * n)
    for row in 0..<m {
      for column in 0..<n {
        var sum = 0.0
        for inner in 0..<k {
          let left = transposeA ? a.scalars[inner * m + row] : a.scalars[row * k + inner]
          let right = transposeB ? b.scalars[column * k + inner] : b.scalars[inner * n + column]
          sum += Double(left) * Double(right)
        }
        expected[row * n + column] = 0.5 * sum + 2 * Double(c.scalars[row * n + column])
      }
    }
    var result = c.scalars
    Scalar.gemm(
      transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.5, a: a.scalars, b: b.scalars,
      beta: 2, c: &result)
    let scale = max(1, Double(k).squareRoot())
    #expect(
      maximumDifference(result, expected) <= tolerance * scale,
      "\(Scalar.self) m \(m) n \(n) k \(k) transposeA \(transposeA) transposeB \(transposeB)")
  }

  @Test func betaZeroIgnoresNaN() {
    var c = [Double](repeating: .nan, count: 4)
    Double.gemm(m: 2, n: 2, k: 1, a: [1, 2], b: [3, 4], c: &c)
    #expect(c == [3, 4, 6, 8])
  }

  @Test func oneSettingGovernsBothThreadPools() {
    let before = ComputeThreads.count
    defer { ComputeThreads.setIncludingBLAS(before) }
    ComputeThreads.setIncludingBLAS(1)
    #expect(ComputeThreads.count == 1)
    var c = [Float](repeating: 0, count: 4)
    Float.gemm(m: 2, n: 2, k: 2, a: [1, 2, 3, 4], b: [5, 6, 7, 8], c: &c)
    #expect(c == [19, 22, 43, 50])
  }
}
