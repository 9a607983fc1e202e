/// Per-channel coefficients of the input gradient
/// dx = dy′·gradScale + (x − center)·gradCenterScale + gradShift,
/// where dy′ is dy masked by the fused activation.
///
/// Training (batch statistics): with a = γ·r/σ_B, S = Σdy′, P = Σdy′·(x − µ_B):
/// gradScale = a, gradCenterScale = −a·P/(m·σ_B²), gradShift = −a·S/m.
/// Frozen statistics: gradScale = γ/√(Var + ε) and the other two are zero (x is then
/// read only for the activation mask).
struct InputGradientCoefficients<Scalar: BatchNormScalar> {
  var gradScale: [Scalar]
  var gradCenterScale: [Scalar]
  var gradShift: [Scalar]
}

/// Writes dx for every element.
func computeInputGradient<Scalar: BatchNormScalar>(
  input: UnsafeBufferPointer<Scalar>, gradOutput: UnsafeBufferPointer<Scalar>, shape: BatchNormShape,
  forward: ChannelCoefficients<Scalar>, activation: FusedActivation,
  coefficients: InputGradientCoefficients<Scalar>, usesBatchStatistics: Bool,
  gradInput: UnsafeMutableBufferPointer<Scalar>
) {
  assert(input.count == shape.elementCount && gradOutput.count == shape.elementCount)
  assert(gradInput.count == shape.elementCount)
  guard let x = input.baseAddress, let dy = gradOutput.baseAddress, let dx = gradInput.baseAddress else { return }
  // One contiguous table of the six coefficient rows, so the loops below index plain pointers.
  let table = forward.center + forward.scale + forward.shift
    + coefficients.gradScale + coefficients.gradCenterScale + coefficients.gradShift
  table.withUnsafeBufferPointer { table in
    let kernel = InputGradientRun(
      relu: activation == .relu, centered: usesBatchStatistics, table: table.baseAddress!, channels: shape.channels)
    switch shape.kernelLayout {
    case .channelsFirst:
      let spatial = shape.spatial
      parallelFor(shape.batch * shape.channels, costPerItem: 2 * spatial) { planes in
        for plane in planes {
          let offset = plane * spatial
          kernel.run(x + offset, dy + offset, dx + offset, length: spatial, channel: plane % shape.channels)
        }
      }
    case .channelsLast:
      let channels = shape.channels
      parallelFor(shape.valuesPerChannel, costPerItem: 2 * channels) { rows in
        for row in rows {
          let offset = row * channels
          kernel.row(x + offset, dy + offset, dx + offset, width: channels)
        }
      }
    }
  }
}

/// The per-element arithmetic of the input gradient, for one contiguous run.
private struct InputGradientRun<Scalar: BatchNormScalar> {
  let relu: Bool
  let centered: Bool
  /// Six rows of `channels` values: center, scale, shift, gradScale, gradCenterScale, gradShift.
  let table: UnsafePointer<Scalar>
  let channels: Int

  @inline(__always)
  func value(
    _ x: SIMD8<Scalar>, _ dy: SIMD8<Scalar>, center: SIMD8<Scalar>, scale: SIMD8<Scalar>, shift: SIMD8<Scalar>,
    gradScale: SIMD8<Scalar>, gradCenterScale: SIMD8<Scalar>, gradShift: SIMD8<Scalar>
  ) -> SIMD8<Scalar> {
    var gradient = dy
    if relu { gradient.replace(with: 0, where: (x - center) * scale + shift .<= 0) }
    guard centered else { return gradient * gradScale }
    return gradient * gradScale + (x - center) * gradCenterScale + gradShift
  }

  @inline(__always)
  func value(
    _ x: Scalar, _ dy: Scalar, center: Scalar, scale: Scalar, shift: Scalar,
    gradScale: Scalar, gradCenterScale: Scalar, gradShift: Scalar
  ) -> Scalar {
    let gradient = relu && (x - center) * scale + shift <= 0 ? 0 : dy
    guard centered else { return gradient * gradScale }
    return gradient * gradScale + (x - center) * gradCenterScale + gradShift
  }

  /// Row `index` of the table.
  @inline(__always)
  func coefficients(_ index: Int) -> UnsafePointer<Scalar> { table + index * channels }

  /// A channels-first plane: one channel's coefficients for the whole run.
  @inline(__always)
  func run(
    _ x: UnsafePointer<Scalar>, _ dy: UnsafePointer<Scalar>, _ dx: UnsafeMutablePointer<Scalar>,
    length: Int, channel: Int
  ) {
    let center = coefficients(0)[channel], scale = coefficients(1)[channel], shift = coefficients(2)[channel]
    let gradScale = coefficients(3)[channel], gradCenterScale = coefficients(4)[channel]
    let gradShift = coefficients(5)[channel]
    let centerVector = SIMD8(repeating: center), scaleVector = SIMD8(repeating: scale)
    let shiftVector = SIMD8(repeating: shift), gradScaleVector = SIMD8(repeating: gradScale)
    let gradCenterScaleVector = SIMD8(repeating: gradCenterScale), gradShiftVector = SIMD8(repeating: gradShift)
    var index = 0
    while index + 8 <= length {
      dx.storeVector(
        value(
          x.loadVector(at: index), dy.loadVector(at: index), center: centerVector, scale: scaleVector,
          shift: shiftVector, gradScale: gradScaleVector, gradCenterScale: gradCenterScaleVector,
          gradShift: gradShiftVector),
        at: index)
      index += 8
    }
    while index < length {
      dx[index] = value(
        x[index], dy[index], center: center, scale: scale, shift: shift,
        gradScale: gradScale, gradCenterScale: gradCenterScale, gradShift: gradShift)
      index += 1
    }
  }

  /// A channels-last row: per-channel coefficient vectors.
  @inline(__always)
  func row(_ x: UnsafePointer<Scalar>, _ dy: UnsafePointer<Scalar>, _ dx: UnsafeMutablePointer<Scalar>, width: Int) {
    let center = coefficients(0), scale = coefficients(1), shift = coefficients(2)
    let gradScale = coefficients(3), gradCenterScale = coefficients(4), gradShift = coefficients(5)
    var column = 0
    while column + 8 <= width {
      dx.storeVector(
        value(
          x.loadVector(at: column), dy.loadVector(at: column), center: center.loadVector(at: column),
          scale: scale.loadVector(at: column), shift: shift.loadVector(at: column),
          gradScale: gradScale.loadVector(at: column), gradCenterScale: gradCenterScale.loadVector(at: column),
          gradShift: gradShift.loadVector(at: column)),
        at: column)
      column += 8
    }
    while column < width {
      dx[column] = value(
        x[column], dy[column], center: center[column], scale: scale[column], shift: shift[column],
        gradScale: gradScale[column], gradCenterScale: gradCenterScale[column], gradShift: gradShift[column])
      column += 1
    }
  }
}
