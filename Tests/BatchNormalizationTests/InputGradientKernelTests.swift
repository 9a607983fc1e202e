@testable import BatchNormalization
import Testing

/// The input-gradient kernel on channels-last batches of fewer than eight channels, which
/// it takes a period of lcm(C, 8) values at a time, the last rows one by one: every dx
/// must equal the scalar formula in Float, bit for bit, with and without the fused ReLU,
/// centered (batch statistics) and not (frozen), for row counts that end inside and at
/// the end of a period.
@Suite struct InputGradientKernelTests {
  @Test(arguments: 1...7)
  func fewChannelsLastMatchTheScalarFormula(channels: Int) throws {
    for rows in [1, 7, 8, 9, 57, 200] {
      var generator = SplitMix64(seed: UInt64(channels * 1000 + rows))
      let shape = try BatchNormShape(batch: 1, channels: channels, spatial: rows, layout: .channelsLast)
      let x: [Float] = generator.gaussians(shape.elementCount)
      let dy: [Float] = generator.gaussians(shape.elementCount)
      let table: [Float] = generator.gaussians(6 * channels)
      let forward = ChannelCoefficients<Float>(channels: channels) { $0.update(from: table, count: 3 * channels) }
      let gradient = InputGradientCoefficients<Float>(channels: channels) {
        $0.update(from: Array(table[(3 * channels)...]), count: 3 * channels)
      }
      func coefficient(_ row: Int, _ channel: Int) -> Float { table[row * channels + channel] }
      for relu in [false, true] {
        for centered in [false, true] {
          var dx = [Float](repeating: .nan, count: shape.elementCount)
          x.withUnsafeBufferPointer { x in
            dy.withUnsafeBufferPointer { dy in
              dx.withUnsafeMutableBufferPointer { dx in
                computeInputGradient(
                  input: BatchElements(buffer: x), gradOutput: BatchElements(buffer: dy), shape: shape, forward: forward,
                  activation: relu ? .relu : .none, coefficients: gradient, usesBatchStatistics: centered,
                  gradInput: MutableBatchElements(buffer: dx))
              }
            }
          }
          let expected = (0..<shape.elementCount).map { index in
            let channel = index % channels
            let (center, scale, shift) = (coefficient(0, channel), coefficient(1, channel), coefficient(2, channel))
            let masked = relu && (x[index] - center) * scale + shift <= 0 ? 0 : dy[index]
            guard centered else { return masked * coefficient(3, channel) }
            return masked * coefficient(3, channel) + (x[index] - center) * coefficient(4, channel) + coefficient(5, channel)
          }
          let differing = zip(dx, expected).filter { $0.bitPattern != $1.bitPattern }.count
          #expect(differing == 0, "C = \(channels), \(rows) rows, relu \(relu), centered \(centered): \(differing) differ")
        }
      }
    }
  }
}
