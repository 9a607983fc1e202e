/// Tensors widened into one Double message and narrowed back: the data-parallel
/// all-reduce's packing. Indexed loops over buffers, which the compiler vectorizes
/// (`vcvtps2pd`, `vcvtpd2ps` for Float); appending a lazy map instead cost a generic
/// value-witness call per value.

/// `tensors`' scalars back to back as Doubles, then `extras`.
@inline(__always)
func widened<Scalar: NetworkScalar>(_ tensors: [Tensor<Scalar>], then extras: [Double] = []) -> [Double] {
  let count = tensors.reduce(extras.count) { $0 + $1.scalars.count }
  return [Double](unsafeUninitializedCapacity: count) { buffer, initializedCount in
    // This is safe: the tensors' counts and the extras add up to `count`, the capacity.
    var offset = 0
    for tensor in tensors {
      tensor.scalars.withUnsafeBufferPointer { scalars in
        for index in 0..<scalars.count { buffer.initializeElement(at: offset + index, to: Double(scalars[index])) }
      }
      offset += tensor.scalars.count
    }
    for (index, extra) in extras.enumerated() { buffer.initializeElement(at: offset + index, to: extra) }
    initializedCount = count
  }
}

/// Overwrites `scalars` with `values[offset..<offset + scalars.count]`, each rounded to
/// `Scalar`.
/// - Precondition: `values` holds that many values from `offset`.
@inline(__always)
func narrow<Scalar: NetworkScalar>(_ values: [Double], from offset: Int, into scalars: inout [Scalar]) {
  precondition(offset >= 0 && offset + scalars.count <= values.count, "too few values to narrow")
  values.withUnsafeBufferPointer { values in
    scalars.withUnsafeMutableBufferPointer { scalars in
      // This is safe: the precondition keeps every read inside `values`.
      for index in 0..<scalars.count { scalars[index] = Scalar(values[offset + index]) }
    }
  }
}
