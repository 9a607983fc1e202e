import ComputeRuntime
import HalfPrecision

/// ``normalize(input:shape:coefficients:activation:output:)`` on half-precision storage:
/// reads 16-bit x, computes y = (x − center[c])·scale[c] + shift[c] (then max(0, y)) in
/// Float with the same operations in the same order as the Float kernel, and rounds each
/// y once to the storage type. Two bytes read and two written per value instead of four
/// and four. (No streaming stores: a half output halves the traffic they would save.)
func normalize<Half: HalfPrecisionScalar>(
  input: BatchElements<Half>, shape: BatchNormShape, coefficients: ChannelCoefficients<Float>,
  activation: FusedActivation, output: MutableBatchElements<Half>
) {
  let input = input.buffer, output = output.buffer
  assert(input.count == shape.elementCount && output.count == shape.elementCount)
  guard let source = input.baseAddress, let destination = output.baseAddress else { return }
  coefficients.withTable { table in
    let kernel = HalfNormalizeKernel(
      source: source, destination: destination, shape: shape, center: table, scale: table + shape.channels,
      shift: table + 2 * shape.channels)
    if activation == .relu { kernel.run(relu: SwitchOn.self) } else { kernel.run(relu: SwitchOff.self) }
  }
}

/// The pointers of one half-precision normalize call. Lives only inside `normalize`.
private struct HalfNormalizeKernel<Half: HalfPrecisionScalar> {
  let source: UnsafePointer<Half>
  let destination: UnsafeMutablePointer<Half>
  let shape: BatchNormShape
  let center: UnsafePointer<Float>
  let scale: UnsafePointer<Float>
  let shift: UnsafePointer<Float>

  /// Every element, split over threads by planes (channels-first) or rows (channels-last).
  func run<ReLU: KernelSwitch>(relu: ReLU.Type) {
    let (source, destination) = (source, destination)
    switch shape.kernelLayout {
    case .channelsFirst:
      let spatial = shape.spatial
      parallelFor(shape.batch * shape.channels, costPerItem: spatial) { planes in
        for plane in planes {
          let channel = plane % shape.channels
          let (centerValue, scaleValue, shiftValue) = (center[channel], scale[channel], shift[channel])
          let (centerVector, scaleVector, shiftVector) = (
            SIMD8<Float>(repeating: centerValue), SIMD8<Float>(repeating: scaleValue), SIMD8<Float>(repeating: shiftValue)
          )
          // This is safe: the plane's values are plane·S ..< (plane + 1)·S, inside both buffers.
          let (values, results) = (source + plane * spatial, destination + plane * spatial)
          var index = 0
          while index + 8 <= spatial {
            var value = (Half.loadFloats(from: values, at: index) - centerVector) * scaleVector + shiftVector
            if ReLU.isOn { value.replace(with: 0, where: value .<= 0) }
            Half.storeFloats(value, to: results, at: index)
            index += 8
          }
          while index < spatial {
            let value = (values[index].floatValue - centerValue) * scaleValue + shiftValue
            results[index] = Half(rounding: ReLU.isOn && value <= 0 ? 0 : value)
            index += 1
          }
        }
      }
    case .channelsLast:
      let channels = shape.channels
      parallelFor(shape.valuesPerChannel, costPerItem: channels) { rows in
        for row in rows {
          // This is safe: row r's values are r·C ..< (r + 1)·C, inside both buffers.
          let (values, results) = (source + row * channels, destination + row * channels)
          var column = 0
          while column + 8 <= channels {
            var value = (Half.loadFloats(from: values, at: column) - center.loadVector(at: column))
              * scale.loadVector(at: column) + shift.loadVector(at: column)
            if ReLU.isOn { value.replace(with: 0, where: value .<= 0) }
            Half.storeFloats(value, to: results, at: column)
            column += 8
          }
          while column < channels {
            let value = (values[column].floatValue - center[column]) * scale[column] + shift[column]
            results[column] = Half(rounding: ReLU.isOn && value <= 0 ? 0 : value)
            column += 1
          }
        }
      }
    }
  }
}
