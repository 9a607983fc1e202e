import BatchNormalization
import Testing

/// Shapes with odd sizes: one spatial value, primes, one channel, many channels. The
/// last four are channels-first, for how the reductions cut their work
/// (`channelsFirstChunk`, `channelsFirstBlockLength`): 5x23x7x7 visits chunks of 3
/// channels' planes together (the last chunk shorter); 3x20x70x80 too, in reduction
/// blocks of 2 and 1 samples; 11x8x40x70 in blocks of 5, 5 and 1 samples and chunks of 2
/// channels; 2x3x130x130 in blocks that split its 16 900-value planes, one channel at a time.
let forwardShapes: [(dimensions: [Int], layout: ChannelLayout)] = [
  ([8, 5], .channelsFirst), ([7, 1], .channelsFirst), ([3, 300], .channelsFirst),
  ([4, 3, 7], .channelsFirst), ([4, 7, 3], .channelsLast),
  ([2, 3, 5, 5], .channelsFirst), ([2, 5, 5, 3], .channelsLast),
  ([3, 1, 11, 13], .channelsFirst), ([2, 17, 19, 1], .channelsLast),
  ([2, 4, 3, 4, 5], .channelsFirst), ([2, 3, 4, 5, 4], .channelsLast),
  ([5, 600, 3], .channelsLast), ([2, 9, 1, 1], .channelsFirst),
  ([5, 23, 7, 7], .channelsFirst), ([3, 20, 70, 80], .channelsFirst),
  ([11, 8, 40, 70], .channelsFirst), ([2, 3, 130, 130], .channelsFirst),
]

@Suite struct ForwardTests {
  @Test(arguments: ScalarKind.allCases, forwardShapes.indices)
  func trainingMatchesReference(kind: ScalarKind, shapeIndex: Int) throws {
    switch kind {
    case .float: try checkTraining(Float.self, shapeIndex: shapeIndex, tolerance: kind.tolerance)
    case .double: try checkTraining(Double.self, shapeIndex: shapeIndex, tolerance: kind.tolerance)
    }
  }

  func checkTraining<Scalar: BatchNormScalar>(_: Scalar.Type, shapeIndex: Int, tolerance: Double) throws {
    let (dimensions, layout) = forwardShapes[shapeIndex]
    let shape = try BatchNormShape(dimensions: dimensions, layout: layout)
    var generator = SplitMix64(seed: UInt64(shapeIndex + 1))
    let x: [Scalar] = generator.batch(shape)
    var layer = try BatchNorm<Scalar>(channels: shape.channels)
    layer.scale = (0..<shape.channels).map { _ in Scalar(Double.random(in: 0.5...1.5, using: &generator)) }
    layer.shift = (0..<shape.channels).map { _ in Scalar(generator.nextGaussian()) }
    let (y, context) = try layer.forward(x, shape: shape, mode: .training)

    let reference = ReferenceBatchNorm(channels: shape.channels, gamma: doubles(layer.scale), beta: doubles(layer.shift))
    let expected = reference.trainingForward(doubles(x), shape)
    #expect(maximumDifference(y, expected) <= tolerance)

    let m = Double(shape.valuesPerChannel)
    for channel in 0..<shape.channels {
      let values = reference.channelValues(doubles(x), shape, channel: channel, group: 0..<shape.batch)
      let mean = ReferenceBatchNorm.mean(values)
      let variance = ReferenceBatchNorm.biasedVariance(values)
      #expect(abs(Double(context.mean[channel]) - mean) <= tolerance * max(1, abs(mean)))
      #expect(abs(Double(context.inverseStandardDeviation[channel]) - 1 / (variance + 1e-5).squareRoot()) <= tolerance)
      // Running statistics after one step from (0, 1) with momentum 0.1, unbiased.
      #expect(abs(Double(layer.runningStatistics.mean[channel]) - 0.1 * mean) <= tolerance * max(1, abs(mean)))
      let expectedVariance = 0.9 + 0.1 * variance * m / (m - 1)
      #expect(abs(Double(layer.runningStatistics.variance[channel]) - expectedVariance) <= tolerance * expectedVariance)
    }
    #expect(layer.runningStatistics.batchesSeen == 1)
    #expect(context.runningStatisticsUpdate == .updated)
  }

  @Test(arguments: ScalarKind.allCases, forwardShapes.indices)
  func inferenceMatchesReference(kind: ScalarKind, shapeIndex: Int) throws {
    switch kind {
    case .float: try checkInference(Float.self, shapeIndex: shapeIndex, tolerance: kind.tolerance)
    case .double: try checkInference(Double.self, shapeIndex: shapeIndex, tolerance: kind.tolerance)
    }
  }

  func checkInference<Scalar: BatchNormScalar>(_: Scalar.Type, shapeIndex: Int, tolerance: Double) throws {
    let (dimensions, layout) = forwardShapes[shapeIndex]
    let shape = try BatchNormShape(dimensions: dimensions, layout: layout)
    var generator = SplitMix64(seed: UInt64(100 + shapeIndex))
    let x: [Scalar] = generator.batch(shape)
    var layer = try BatchNorm<Scalar>(channels: shape.channels)
    layer.scale = (0..<shape.channels).map { _ in Scalar(Double.random(in: 0.5...1.5, using: &generator)) }
    layer.shift = (0..<shape.channels).map { _ in Scalar(generator.nextGaussian()) }
    layer.runningStatistics.mean = (0..<shape.channels).map { _ in Scalar(generator.nextGaussian() * 3) }
    layer.runningStatistics.variance = (0..<shape.channels).map { _ in Scalar(Double.random(in: 0.25...9, using: &generator)) }
    let before = layer
    let (y, context) = try layer.forward(x, shape: shape, mode: .inference)

    let reference = ReferenceBatchNorm(channels: shape.channels, gamma: doubles(layer.scale), beta: doubles(layer.shift))
    let expected = reference.inferenceForward(
      doubles(x), shape, mean: doubles(layer.runningStatistics.mean), variance: doubles(layer.runningStatistics.variance))
    #expect(maximumDifference(y, expected) <= tolerance * 10)
    #expect(layer == before, "inference must not change the layer")
    #expect(context.runningStatisticsUpdate == .unchanged)
    #expect(!context.usesBatchStatistics)
  }

  /// Inference forward of `x` into an output that starts one Float (4 bytes) into a
  /// NaN-filled array one Float longer at each end, which is returned; checks that nothing
  /// is written before or after the output.
  func inferenceOutputBetweenNaNs(_ layer: inout BatchNorm<Float>, _ x: [Float], shape: BatchNormShape) throws -> [Float] {
    var buffer = [Float](repeating: .nan, count: shape.elementCount + 2)
    try x.withUnsafeBufferPointer { x in
      try buffer.withUnsafeMutableBufferPointer { buffer in
        _ = try layer.forward(
          x, shape: shape, mode: .inference,
          into: UnsafeMutableBufferPointer(rebasing: buffer[1..<1 + shape.elementCount]))
      }
    }
    #expect(buffer[0].isNaN, "nothing may be written before the output")
    #expect(buffer[shape.elementCount + 1].isNaN, "nothing may be written after the output")
    return buffer
  }

  /// A batch larger than 32 MiB (input and output) is written with streaming stores, in
  /// whole 64-byte lines between ordinary stores at each plane's ends. Into an output that
  /// starts 4 bytes past a line, with odd planes, every value must equal what a batch of
  /// one channel at a time (small enough for ordinary stores) gives, bit for bit.
  @Test func streamingStoresWriteWhatOrdinaryStoresWrite() throws {
    let shape = try BatchNormShape(dimensions: [1, 2, 1499, 1501])
    var generator = SplitMix64(seed: 13)
    let x: [Float] = generator.gaussians(shape.elementCount)
    var layer = try BatchNorm<Float>(channels: 2, configuration: .init(activation: .relu))
    layer.scale = [1.5, 0.75]
    layer.shift = [0.25, -0.5]
    layer.runningStatistics = RunningStatistics(mean: [0.5, -1], variance: [2, 0.5])
    let buffer = try inferenceOutputBetweenNaNs(&layer, x, shape: shape)
    let plane = shape.spatial
    for channel in 0..<2 {
      var single = try BatchNorm<Float>(channels: 1, configuration: .init(activation: .relu))
      single.scale = [layer.scale[channel]]
      single.shift = [layer.shift[channel]]
      single.runningStatistics = RunningStatistics(
        mean: [layer.runningStatistics.mean[channel]], variance: [layer.runningStatistics.variance[channel]])
      let (expected, _) = try single.forward(
        Array(x[channel * plane..<(channel + 1) * plane]), shape: BatchNormShape(batch: 1, channels: 1, spatial: plane),
        mode: .inference)
      let differing = bitDifferences(buffer[1 + channel * plane..<1 + (channel + 1) * plane], expected)
      #expect(differing == 0, "channel \(channel): \(differing) of \(plane) values differ")
    }
  }

  /// Fewer than eight channels-last channels are normalized a period of lcm(C, 8) values
  /// at a time, the last rows one by one: every element must equal the same batch
  /// normalized channels-first (plane by plane), bit for bit, with and without the fused
  /// ReLU, for row counts that end inside and at the end of a period.
  @Test(arguments: 1...7)
  func fewChannelsLastMatchTheirChannelsFirstTranspose(channels: Int) throws {
    for relu in [false, true] {
      for rows in [1, 7, 8, 9, 57, 200] {
        var generator = SplitMix64(seed: UInt64(channels * 1000 + rows))
        let last: [Float] = generator.gaussians(rows * channels)
        let first = (0..<channels).flatMap { channel in (0..<rows).map { last[$0 * channels + channel] } }
        var layer = try BatchNorm<Float>(channels: channels, configuration: .init(activation: relu ? .relu : .none))
        layer.scale = (0..<channels).map { Float($0) * 0.5 - 0.75 }
        layer.shift = (0..<channels).map { Float($0) * -0.25 + 0.125 }
        layer.runningStatistics = RunningStatistics(
          mean: (0..<channels).map { Float($0) * 0.3 - 0.4 }, variance: (0..<channels).map { Float($0) + 0.7 })
        let (lastOutput, _) = try layer.forward(
          last, shape: BatchNormShape(batch: 1, channels: channels, spatial: rows, layout: .channelsLast), mode: .inference)
        let (firstOutput, _) = try layer.forward(
          first, shape: BatchNormShape(batch: 1, channels: channels, spatial: rows), mode: .inference)
        let transposed = (0..<rows).flatMap { row in (0..<channels).map { firstOutput[$0 * rows + row] } }
        #expect(bitDifferences(lastOutput[...], transposed) == 0, "C = \(channels), \(rows) rows, relu \(relu)")
      }
    }
  }

  /// A channels-last batch beyond 32 MiB is written one run of rows per work item with
  /// streaming stores: 8 channels (the column wraps at every vector), 13 (rows at every
  /// alignment) and 64. Every stretch of 40 samples must equal those samples normalized
  /// alone (small enough for ordinary stores).
  @Test(arguments: [8, 13, 64])
  func streamingStoresWriteChannelsLastRowsAsOrdinaryStoresDo(channels: Int) throws {
    let (batch, samplesPerPiece) = (400, 40)
    let spatial = 5_200_000 / (batch * channels) + 1
    let shape = try BatchNormShape(batch: batch, channels: channels, spatial: spatial, layout: .channelsLast)
    var generator = SplitMix64(seed: 14)
    let x: [Float] = generator.gaussians(shape.elementCount)
    var layer = try BatchNorm<Float>(channels: channels, configuration: .init(activation: .relu))
    layer.scale = (0..<channels).map { 0.5 + Float($0) / 8 }
    layer.shift = (0..<channels).map { Float($0) / 16 - 0.25 }
    layer.runningStatistics = RunningStatistics(
      mean: (0..<channels).map { Float($0) / 10 - 0.5 }, variance: (0..<channels).map { 1 + Float($0) / 4 })
    let buffer = try inferenceOutputBetweenNaNs(&layer, x, shape: shape)
    let pieceShape = try BatchNormShape(batch: samplesPerPiece, channels: channels, spatial: spatial, layout: .channelsLast)
    let pieceLength = pieceShape.elementCount
    for piece in 0..<batch / samplesPerPiece {
      let (expected, _) = try layer.forward(
        Array(x[piece * pieceLength..<(piece + 1) * pieceLength]), shape: pieceShape, mode: .inference)
      let differing = bitDifferences(buffer[1 + piece * pieceLength..<1 + (piece + 1) * pieceLength], expected)
      #expect(differing == 0, "samples of piece \(piece): \(differing) of \(pieceLength) values differ")
    }
  }

  @Test func batchStatisticsModeLeavesRunningStatisticsAlone() throws {
    let shape = try BatchNormShape(dimensions: [6, 4, 3])
    var generator = SplitMix64(seed: 9)
    let x: [Double] = generator.batch(shape)
    var layer = try BatchNorm<Double>(channels: 4)
    var training = layer
    let (y, context) = try layer.forward(x, shape: shape, mode: .batchStatistics)
    let (trainingY, _) = try training.forward(x, shape: shape, mode: .training)
    #expect(y == trainingY)
    #expect(layer.runningStatistics == RunningStatistics(channels: 4))
    #expect(context.runningStatisticsUpdate == .unchanged)
    #expect(context.batchStatistics != nil)
  }

  @Test func withoutRunningStatisticsInferenceUsesTheBatch() throws {
    let shape = try BatchNormShape(dimensions: [5, 3, 2])
    var generator = SplitMix64(seed: 10)
    let x: [Double] = generator.batch(shape)
    var layer = try BatchNorm<Double>(channels: 3, configuration: .init(tracksRunningStatistics: false))
    let (y, context) = try layer.forward(x, shape: shape, mode: .inference)
    let expected = ReferenceBatchNorm(channels: 3).trainingForward(x, shape)
    #expect(maximumDifference(y, expected) <= 1e-12)
    #expect(context.usesBatchStatistics)
    #expect(context.runningStatisticsUpdate == .unchanged)
  }

  @Test func withoutAffineTheOutputIsStandardized() throws {
    let shape = try BatchNormShape(dimensions: [10, 2])
    var generator = SplitMix64(seed: 11)
    let x: [Double] = generator.batch(shape)
    var layer = try BatchNorm<Double>(channels: 2, configuration: .init(isAffine: false))
    #expect(layer.scale.isEmpty && layer.shift.isEmpty)
    let (y, _) = try layer.forward(x, shape: shape, mode: .training)
    #expect(maximumDifference(y, ReferenceBatchNorm(channels: 2).trainingForward(x, shape)) <= 1e-12)
    let gradients = try layer.backward(generator.gaussians(20), input: x, context: layer.forward(x, shape: shape, mode: .batchStatistics).context)
    #expect(gradients.parameters.scale.isEmpty && gradients.parameters.shift.isEmpty)
  }

  /// γ = √(σ²_B + ε) and β = µ_B give back the input: the identity is representable.
  @Test func scaleAndShiftCanRestoreTheIdentity() throws {
    let shape = try BatchNormShape(dimensions: [16, 3, 4])
    var generator = SplitMix64(seed: 12)
    let x: [Double] = generator.batch(shape)
    var layer = try BatchNorm<Double>(channels: 3)
    let statistics = try #require(try layer.forward(x, shape: shape, mode: .batchStatistics).context.batchStatistics)
    layer.scale = statistics.biasedVariance.map { ($0 + 1e-5).squareRoot() }
    layer.shift = statistics.mean
    let (y, _) = try layer.forward(x, shape: shape, mode: .batchStatistics)
    #expect(maximumDifference(y, x) <= 1e-12)
  }
}
