import BatchNormalization
import ComputeRuntime
import Testing

/// The numerics contract (docs/ARCHITECTURE.md, "Contracts"), checked against Double references.
@Suite struct NumericsTests {
  /// Float32 variance relative error ≤ 1e-6 on N(µ, 1) data with |µ| up to 1e4, where
  /// E[x²] − E[x]² in Float would lose every digit.
  @Test(arguments: [0.0, 1e2, -1e3, 1e4], [ChannelLayout.channelsFirst, .channelsLast])
  func largeMeansKeepTheVarianceExact(mean: Double, layout: ChannelLayout) throws {
    let shape = try BatchNormShape(batch: 64, channels: 2, spatial: 257, layout: layout)
    var generator = SplitMix64(seed: 41)
    let x: [Float] = (0..<shape.elementCount).map { _ in Float(mean + generator.nextGaussian()) }
    try checkStatistics(x, shape: shape, varianceTolerance: 1e-6)
  }

  /// 10⁷ values in one channel: many blocks merged, still within 1e-6.
  @Test func tenMillionValuesPerChannel() throws {
    let shape = try BatchNormShape(batch: 10, channels: 1, spatial: 1_000_000)
    var generator = SplitMix64(seed: 42)
    let x: [Float] = (0..<shape.elementCount).map { _ in Float(1e4 + generator.nextGaussian()) }
    try checkStatistics(x, shape: shape, varianceTolerance: 1e-6)
  }

  func checkStatistics(_ x: [Float], shape: BatchNormShape, varianceTolerance: Double) throws {
    var layer = try BatchNorm<Float>(channels: shape.channels)
    let (y, context) = try layer.forward(x, shape: shape, mode: .batchStatistics)
    let statistics = try #require(context.batchStatistics)
    let reference = ReferenceBatchNorm(channels: shape.channels)
    var largestMeanOverDeviation = 0.0
    for channel in 0..<shape.channels {
      let values = reference.channelValues(doubles(x), shape, channel: channel, group: 0..<shape.batch)
      let exact = ChannelMoments(of: values)
      largestMeanOverDeviation = max(largestMeanOverDeviation, abs(exact.mean) / exact.biasedVariance.squareRoot())
      #expect(abs(statistics.biasedVariance[channel] - exact.biasedVariance) <= varianceTolerance * exact.biasedVariance)
      // Float run sums round each deviation x − K once: the mean may move by a small
      // fraction of one Float step at the data's spread, invisible once the running mean
      // is stored as Float and far below the output tolerance.
      let floatStep = Double(Float(exact.biasedVariance.squareRoot()).ulp)
      #expect(abs(statistics.mean[channel] - exact.mean) <= max(1e-12 * abs(exact.mean), floatStep / 8))
    }
    // Outputs: |µ|/σ ≤ 10 within 1e-5; beyond, a few ulps of the input's magnitude.
    let magnitude = Double(x.map(abs).max()!)
    let tolerance = largestMeanOverDeviation <= 10 ? 1e-5 : max(1e-5, 4 * Double(Float(magnitude).ulp))
    let expected = reference.trainingForward(doubles(x), shape)
    #expect(maximumDifference(y, expected) <= tolerance)
  }

  /// A constant channel (x = 100) maps to β: caffe#3963 got −0.00483 from a mean that
  /// was 1.5e-5 off.
  @Test(arguments: [ChannelLayout.channelsFirst, .channelsLast], [1e-5, 0.0])
  func constantChannelGivesBeta(layout: ChannelLayout, epsilon: Double) throws {
    let shape = try BatchNormShape(batch: 32, channels: 3, spatial: 1000, layout: layout)
    var layer = try BatchNorm<Float>(channels: 3, configuration: .init(epsilon: epsilon))
    layer.shift = [0.25, -1, 3]
    let x = [Float](repeating: 100, count: shape.elementCount)
    let (y, context) = try layer.forward(x, shape: shape, mode: .training)
    // Exactly β: the mean is exactly 100, so x − µ is exactly 0, whatever 1/σ is.
    for channel in 0..<3 {
      let offsets = (0..<shape.batch).flatMap { sample in (0..<shape.spatial).map { shape.offset(sample, channel, $0) } }
      #expect(offsets.allSatisfy { y[$0] == layer.shift[channel] }, "channel \(channel)")
    }
    #expect(context.mean == [100, 100, 100])
    #expect(context.batchStatistics?.biasedVariance == [0, 0, 0])
  }

  /// |x| ≈ 1e20: x² overflows Float; |x| ≈ 1e-21: x² underflows below Float's normal
  /// range. Both layouts, with enough channels and positions that the Float run sums
  /// are tried first: their blocks must be summed again in Double.
  @Test(arguments: [1e20, 1e-21], [ChannelLayout.channelsFirst, .channelsLast])
  func extremeMagnitudesFallBackToDouble(magnitude: Double, layout: ChannelLayout) throws {
    let shape = try BatchNormShape(batch: 4, channels: 16, spatial: 50, layout: layout)
    var generator = SplitMix64(seed: 43)
    let x: [Float] = (0..<shape.elementCount).map { _ in Float(magnitude * (1 + 0.5 * generator.nextGaussian())) }
    try checkStatistics(x, shape: shape, varianceTolerance: 1e-9)
    // Training mode takes the running statistics from the same sums.
    var layer = try BatchNorm<Float>(channels: shape.channels)
    let (_, context) = try layer.forward(x, shape: shape, mode: .training)
    #expect(context.runningStatisticsUpdate == .updated)
    if magnitude > 1 { #expect(layer.runningStatistics.variance.allSatisfy { $0.isFinite && $0 > 1e38 }) }
  }
}

/// Values near the ends of the floating-point range: statistics where they are
/// representable, and where they are not, a batch that counts as non-finite (issue 15).
@Suite struct RangeEdgeTests {
  /// Channels of ±a (mean 0, biased variance a²): with a = 5e153 the shifted sums
  /// (deviations of 2a from the first value) square beyond Double's range, but M2 = 4a²
  /// = 1e308 does not; with a = 1e154, M2 itself does not fit.
  @Test(arguments: [ChannelLayout.channelsFirst, .channelsLast])
  func doubleValuesWhoseDeviationsSquareBeyondTheRange(layout: ChannelLayout) throws {
    let amplitudes = [5e153, 1.5, 4e153]
    let shape = try BatchNormShape(batch: 2, channels: 3, spatial: 2, layout: layout)
    var x = [Double](repeating: 0, count: shape.elementCount)
    for sample in 0..<2 {
      for position in 0..<2 {
        for channel in 0..<3 {
          x[shape.offset(sample, channel, position)] = (sample + position) % 2 == 0 ? amplitudes[channel] : -amplitudes[channel]
        }
      }
    }
    var layer = try BatchNorm<Double>(channels: 3, configuration: .init(epsilon: 0))
    let (y, context) = try layer.forward(x, shape: shape, mode: .training)
    let statistics = try #require(context.batchStatistics)
    for channel in 0..<3 {
      #expect(statistics.mean[channel] == 0)
      let expected = amplitudes[channel] * amplitudes[channel]
      #expect(abs(statistics.biasedVariance[channel] - expected) <= 1e-15 * expected, "channel \(channel)")
    }
    #expect(zip(y, x).allSatisfy { abs($0 - ($1 > 0 ? 1 : -1)) < 1e-12 })
    #expect(context.runningStatisticsUpdate == .updated)

    let beyond = x.map { $0.magnitude > 1e153 ? $0 / 5e153 * 1e154 : $0 }
    let before = layer.runningStatistics
    let (_, beyondContext) = try layer.forward(beyond, shape: shape, mode: .training)
    #expect(beyondContext.runningStatisticsUpdate == .skippedNonFinite)
    #expect(layer.runningStatistics.mean == before.mean && layer.runningStatistics.variance == before.variance)
  }

  /// A finite Float batch whose variance (≈ 9e76) is finite in Double but not in Float
  /// leaves the running statistics as they were instead of making them infinite.
  @Test func floatStatisticsBeyondFloatAreNotBlendedIn() throws {
    var layer = try BatchNorm<Float>(channels: 1)
    let shape = try BatchNormShape(batch: 4, channels: 1)
    let (_, context) = try layer.forward([3e38, -3e38, 3e38, -3e38], shape: shape, mode: .training)
    #expect(context.runningStatisticsUpdate == .skippedNonFinite)
    #expect(layer.runningStatistics.variance == [1] && layer.runningStatistics.batchesSeen == 0)
    #expect(layer.runningStatistics.skippedNonFiniteBatches == 1)
  }

  /// A state that has counted Int.max batches (a state file may say so) stays there.
  @Test(arguments: [MomentumPolicy.exponential(0.1), .cumulative])
  func theBatchCountSaturates(momentum: MomentumPolicy) throws {
    var layer = try BatchNorm<Float>(channels: 2, configuration: .init(momentum: momentum))
    layer.runningStatistics.batchesSeen = .max
    let shape = try BatchNormShape(batch: 3, channels: 2)
    let (_, context) = try layer.forward([1, 2, 3, 4, 5, 7], shape: shape, mode: .training)
    #expect(context.runningStatisticsUpdate == .updated)
    #expect(layer.runningStatistics.batchesSeen == .max)
  }
}

/// The same inputs give bit-identical results for every thread count.
@Suite(.serialized) struct ThreadDeterminismTests {
  static let shapes: [(dimensions: [Int], layout: ChannelLayout)] = [
    ([4, 3, 100, 100], .channelsFirst),  // 3 blocks per channel
    ([4, 100, 100, 3], .channelsLast),  // 8 row blocks
    ([300, 600], .channelsFirst),  // (N, C): two channel chunks
    ([2, 64, 96, 96], .channelsFirst),
    ([4, 128, 130, 64], .channelsLast),  // beyond 32 MiB: streamed rows, split at each thread count
  ]

  @Test(arguments: shapes.indices)
  func resultsDoNotDependOnTheThreadCount(shapeIndex: Int) throws {
    let (dimensions, layout) = Self.shapes[shapeIndex]
    let shape = try BatchNormShape(dimensions: dimensions, layout: layout)
    var generator = SplitMix64(seed: 51)
    let x: [Float] = generator.batch(shape)
    let dy: [Float] = generator.gaussians(shape.elementCount)
    let saved = ComputeThreads.count
    defer { ComputeThreads.count = saved }
    var results: [[Float]] = []
    for threads in [1, 2, 3, 8] {
      ComputeThreads.count = threads
      var layer = try BatchNorm<Float>(channels: shape.channels, configuration: .init(activation: .relu))
      let (y, context) = try layer.forward(x, shape: shape, mode: .training)
      let (dx, parameters) = try layer.backward(dy, input: x, context: context)
      results.append(
        y + dx + parameters.scale + parameters.shift + layer.runningStatistics.mean + layer.runningStatistics.variance)
    }
    for result in results.dropFirst() {
      #expect(result.map(\.bitPattern) == results[0].map(\.bitPattern))
    }
    // Identical, and right: the Float64 reference catches a formula error that every
    // thread count would share (the streamed rows of the last shape included).
    var reference = ReferenceBatchNorm(
      channels: shape.channels, gamma: Array(repeating: 1, count: shape.channels), beta: Array(repeating: 0, count: shape.channels))
    reference.relu = true
    let expected = reference.trainingBackward(doubles(dy), doubles(x), shape)
    let y = Array(results[0][..<shape.elementCount])
    let dx = Array(results[0][shape.elementCount..<2 * shape.elementCount])
    let exactOutput = reference.trainingForward(doubles(x), shape)
    #expect(maximumDifference(y, exactOutput) <= 1e-5)
    // Where the exact value before the ReLU lies within Float's rounding of 0, the fused
    // ReLU's mask may go either way (one value in 4.3 million here): compare dx elsewhere.
    var withoutReLU = reference
    withoutReLU.relu = false
    let beforeReLU = withoutReLU.trainingForward(doubles(x), shape)
    let decided = dx.indices.filter { abs(beforeReLU[$0]) > 1e-6 }
    #expect(dx.count - decided.count <= 10)
    let tolerance = 1e-4 * max(1, expected.dx.map(abs).max() ?? 1)
    #expect(decided.allSatisfy { abs(Double(dx[$0]) - expected.dx[$0]) <= tolerance })
  }
}
