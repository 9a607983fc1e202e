/// Adds the sum of each column of a row-major rows×columns matrix into `sums`
/// (`columns` values): Linear's bias gradient, Σ over the batch of ∂L/∂y.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func addColumnSums<Scalar: NetworkScalar>(
  of matrix: UnsafeBufferPointer<Scalar>, rows: Int, columns: Int, into sums: UnsafeMutableBufferPointer<Scalar>
) {
  assert(matrix.count == rows * columns && sums.count == columns)
  for row in 0..<rows {
    let start = row * columns
    for column in 0..<columns { sums[column] += matrix[start + column] }
  }
}

/// Adds the sum of each row of a row-major rows×columns matrix into `sums` (`rows`
/// values), accumulating in Double: Conv2d's bias gradient, Σ over positions of ∂L/∂y.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func addRowSums<Scalar: NetworkScalar>(
  of matrix: UnsafeBufferPointer<Scalar>, rows: Int, columns: Int, into sums: UnsafeMutableBufferPointer<Scalar>
) {
  assert(matrix.count == rows * columns && sums.count == rows)
  for row in 0..<rows {
    var sum = 0.0
    for value in matrix[row * columns..<(row + 1) * columns] { sum += Double(value) }
    sums[row] += Scalar(sum)
  }
}

/// ``addColumnSums(of:rows:columns:into:)`` on arrays.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func addColumnSums<Scalar: NetworkScalar>(of matrix: [Scalar], rows: Int, columns: Int, into sums: inout [Scalar]) {
  precondition(matrix.count == rows * columns && sums.count == columns)
  matrix.withUnsafeBufferPointer { matrix in
    sums.withUnsafeMutableBufferPointer { sums in addColumnSums(of: matrix, rows: rows, columns: columns, into: sums) }
  }
}
