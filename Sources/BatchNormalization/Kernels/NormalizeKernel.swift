/// Per-channel coefficients of the normalizing map y = (x − center)·scale + shift,
/// optionally followed by max(0, ·).
///
/// Training: center = µ_B, scale = γ/√(σ²_B + ε), shift = β (Batch Renormalization:
/// scale = γ·r/√(σ²_B + ε), shift = γ·d + β). Inference: center = E[x],
/// scale = γ/√(Var[x] + ε), shift = β. Subtracting the center before scaling (rather
/// than the fully folded a·x + b) keeps a constant channel exactly at β and loses no
/// digits when |mean| ≫ σ. Stored as three ``ChannelRows``: center, scale, shift.
typealias ChannelCoefficients<Scalar: BatchNormScalar> = ChannelRows<Scalar>

/// Writes y = (x − center[c])·scale[c] + shift[c] (then max(0, y) for `.relu`).
func normalize<Scalar: BatchNormScalar>(
  input: UnsafeBufferPointer<Scalar>, shape: BatchNormShape,
  coefficients: ChannelCoefficients<Scalar>, activation: FusedActivation, output: UnsafeMutableBufferPointer<Scalar>
) {
  assert(input.count == shape.elementCount && output.count == shape.elementCount)
  assert(coefficients.channels == shape.channels)
  guard let source = input.baseAddress, let destination = output.baseAddress else { return }
  let relu = activation == .relu
  coefficients.withTable { table in
    let center = table, scale = table + shape.channels, shift = table + 2 * shape.channels
    switch shape.kernelLayout {
    case .channelsFirst:
      let spatial = shape.spatial
      parallelFor(shape.batch * shape.channels, costPerItem: spatial) { planes in
        for plane in planes {
          let channel = plane % shape.channels
          normalizeRun(
            source + plane * spatial, destination + plane * spatial, length: spatial,
            center: center[channel], scale: scale[channel], shift: shift[channel], relu: relu)
        }
      }
    case .channelsLast:
      let channels = shape.channels
      parallelFor(shape.valuesPerChannel, costPerItem: channels) { rows in
        for row in rows {
          normalizeRow(
            source + row * channels, destination + row * channels, width: channels,
            center: center, scale: scale, shift: shift, relu: relu)
        }
      }
    }
  }
}

/// One channel's contiguous run with scalar coefficients.
@inline(__always)
private func normalizeRun<Scalar: BatchNormScalar>(
  _ source: UnsafePointer<Scalar>, _ destination: UnsafeMutablePointer<Scalar>, length: Int,
  center: Scalar, scale: Scalar, shift: Scalar, relu: Bool
) {
  let centerVector = SIMD8<Scalar>(repeating: center)
  let scaleVector = SIMD8<Scalar>(repeating: scale)
  let shiftVector = SIMD8<Scalar>(repeating: shift)
  var index = 0
  while index + 8 <= length {
    var value = (source.loadVector(at: index) - centerVector) * scaleVector + shiftVector
    if relu { value.replace(with: 0, where: value .<= 0) }
    destination.storeVector(value, at: index)
    index += 8
  }
  while index < length {
    let value = (source[index] - center) * scale + shift
    destination[index] = relu && value <= 0 ? 0 : value
    index += 1
  }
}

/// One row of C channels with per-channel coefficient vectors.
@inline(__always)
private func normalizeRow<Scalar: BatchNormScalar>(
  _ source: UnsafePointer<Scalar>, _ destination: UnsafeMutablePointer<Scalar>, width: Int,
  center: UnsafePointer<Scalar>, scale: UnsafePointer<Scalar>, shift: UnsafePointer<Scalar>, relu: Bool
) {
  var column = 0
  while column + 8 <= width {
    var value = (source.loadVector(at: column) - center.loadVector(at: column)) * scale.loadVector(at: column)
      + shift.loadVector(at: column)
    if relu { value.replace(with: 0, where: value .<= 0) }
    destination.storeVector(value, at: column)
    column += 8
  }
  while column < width {
    let value = (source[column] - center[column]) * scale[column] + shift[column]
    destination[column] = relu && value <= 0 ? 0 : value
    column += 1
  }
}
