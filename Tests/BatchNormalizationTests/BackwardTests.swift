import BatchNormalization
import Testing

@Suite struct BackwardTests {
  @Test(arguments: ScalarKind.allCases, forwardShapes.indices)
  func trainingBackwardMatchesReference(kind: ScalarKind, shapeIndex: Int) throws {
    switch kind {
    case .float: try check(Float.self, shapeIndex: shapeIndex, tolerance: 1e-4)
    case .double: try check(Double.self, shapeIndex: shapeIndex, tolerance: 1e-10)
    }
  }

  func check<Scalar: BatchNormScalar>(_: Scalar.Type, shapeIndex: Int, tolerance: Double) throws {
    let (dimensions, layout) = forwardShapes[shapeIndex]
    let shape = try BatchNormShape(dimensions: dimensions, layout: layout)
    var generator = SplitMix64(seed: UInt64(200 + shapeIndex))
    let x: [Scalar] = generator.batch(shape)
    let dy: [Scalar] = generator.gaussians(shape.elementCount)
    var layer = try BatchNorm<Scalar>(channels: shape.channels)
    layer.scale = (0..<shape.channels).map { _ in Scalar(Double.random(in: 0.5...1.5, using: &generator)) }
    let (_, context) = try layer.forward(x, shape: shape, mode: .training)
    let (dx, parameters) = try layer.backward(dy, input: x, context: context)

    let reference = ReferenceBatchNorm(channels: shape.channels, gamma: doubles(layer.scale), beta: doubles(layer.shift))
    let expected = reference.trainingBackward(doubles(dy), doubles(x), shape)
    // dx is a difference of terms of the size of dy/σ; compare relative to that size.
    let scale = max(1, expected.dx.map(abs).max() ?? 1)
    #expect(maximumDifference(dx, expected.dx) <= tolerance * scale)
    let statistics = (0..<shape.channels).map { channel in
      let values = reference.channelValues(doubles(x), shape, channel: channel, group: 0..<shape.batch)
      return (ReferenceBatchNorm.mean(values), (ReferenceBatchNorm.biasedVariance(values) + reference.epsilon).squareRoot())
    }
    try expectParameterGradients(
      parameters, expected: expected, dy: doubles(dy), x: doubles(x), shape: shape, statistics: statistics,
      tolerance: Scalar.self == Float.self ? 1e-6 : 1e-13)
  }

  /// dβ = Σ dy and dγ = Σ dy·x̂ per channel, each within `tolerance` of the size of its
  /// terms (Σ|dy|, and Σ|dy|·(|x − µ| + |µ|)/σ, since x̂ = (x − µ)/σ is rounded in the
  /// element type): the accuracy the forward statistics are held to, and far tighter than
  /// the former bound that grew with m (a dropped run of values shows).
  func expectParameterGradients<Scalar: BatchNormScalar>(
    _ parameters: ParameterGradients<Scalar>, expected: (dx: [Double], dgamma: [Double], dbeta: [Double]), dy: [Double],
    x: [Double], shape: BatchNormShape, statistics: [(mean: Double, deviation: Double)], tolerance: Double,
    masked: (Int) -> Bool = { _ in false }
  ) throws {
    var shiftMagnitude = [Double](repeating: 0, count: shape.channels)
    var scaleMagnitude = [Double](repeating: 0, count: shape.channels)
    for sample in 0..<shape.batch {
      for channel in 0..<shape.channels {
        for position in 0..<shape.spatial {
          let offset = shape.offset(sample, channel, position)
          guard !masked(offset) else { continue }
          shiftMagnitude[channel] += abs(dy[offset])
          // x̂'s own rounding is relative to |x − µ| + |µ| (x − µ in the element type).
          let (mean, deviation) = statistics[channel]
          scaleMagnitude[channel] += abs(dy[offset]) * (abs(x[offset] - mean) + abs(mean)) / deviation
        }
      }
    }
    for channel in 0..<shape.channels {
      let shiftError = abs(Double(parameters.shift[channel]) - expected.dbeta[channel])
      let scaleError = abs(Double(parameters.scale[channel]) - expected.dgamma[channel])
      #expect(shiftError <= tolerance * shiftMagnitude[channel], "dβ[\(channel)] off by \(shiftError) of \(shiftMagnitude[channel])")
      #expect(scaleError <= tolerance * scaleMagnitude[channel], "dγ[\(channel)] off by \(scaleError) of \(scaleMagnitude[channel])")
    }
  }

  @Test(arguments: ScalarKind.allCases, forwardShapes.indices)
  func frozenBackwardMatchesReference(kind: ScalarKind, shapeIndex: Int) throws {
    switch kind {
    case .float: try checkFrozen(Float.self, shapeIndex: shapeIndex, tolerance: 1e-4)
    case .double: try checkFrozen(Double.self, shapeIndex: shapeIndex, tolerance: 1e-10)
    }
  }

  /// Backward after an inference forward, with a fused ReLU so that the mask is tested too.
  func checkFrozen<Scalar: BatchNormScalar>(_: Scalar.Type, shapeIndex: Int, tolerance: Double) throws {
    let (dimensions, layout) = forwardShapes[shapeIndex]
    let shape = try BatchNormShape(dimensions: dimensions, layout: layout)
    var generator = SplitMix64(seed: UInt64(300 + shapeIndex))
    let x: [Scalar] = generator.batch(shape)
    let dy: [Scalar] = generator.gaussians(shape.elementCount)
    var layer = try BatchNorm<Scalar>(channels: shape.channels, configuration: .init(activation: .relu))
    layer.scale = (0..<shape.channels).map { _ in Scalar(Double.random(in: 0.5...1.5, using: &generator)) }
    layer.shift = (0..<shape.channels).map { _ in Scalar(Double.random(in: -0.5...0.5, using: &generator)) }
    layer.runningStatistics.mean = (0..<shape.channels).map { _ in Scalar(generator.nextGaussian()) }
    layer.runningStatistics.variance = (0..<shape.channels).map { _ in Scalar(Double.random(in: 0.5...4, using: &generator)) }
    let (_, context) = try layer.forward(x, shape: shape, mode: .inference)
    let (dx, parameters) = try layer.backward(dy, input: x, context: context)

    var reference = ReferenceBatchNorm(channels: shape.channels, gamma: doubles(layer.scale), beta: doubles(layer.shift))
    reference.relu = true
    let expected = reference.frozenBackward(
      doubles(dy), doubles(x), shape, mean: doubles(layer.runningStatistics.mean),
      variance: doubles(layer.runningStatistics.variance))
    #expect(maximumDifference(dx, expected.dx) <= tolerance * max(1, expected.dx.map(abs).max() ?? 1))
    let statistics = zip(layer.runningStatistics.mean, layer.runningStatistics.variance).map {
      (Double($0), (Double($1) + reference.epsilon).squareRoot())
    }
    // The fused ReLU's mask: dy counts only where the output is positive.
    let y = reference.inferenceForward(
      doubles(x), shape, mean: doubles(layer.runningStatistics.mean), variance: doubles(layer.runningStatistics.variance))
    try expectParameterGradients(
      parameters, expected: expected, dy: doubles(dy), x: doubles(x), shape: shape, statistics: statistics,
      tolerance: Scalar.self == Float.self ? 1e-6 : 1e-13, masked: { y[$0] <= 0 })
  }

  /// The input gradient of a batch larger than 32 MiB is written with streaming stores,
  /// by the second pass of two-pass backward (two samples, 13 403-value planes) or channel
  /// by channel (16 411-value planes, long enough to take one channel at a time). A
  /// channel's dx depends only on that channel, so each half of the channels, small enough
  /// for ordinary stores, must give the same values bit for bit.
  @Test(arguments: [13_403, 16_411])
  func streamingStoresWriteTheSameInputGradient(spatial: Int) throws {
    let (batch, channels) = (2, 160)
    var generator = SplitMix64(seed: 45)
    let x: [Float] = generator.gaussians(batch * channels * spatial)
    let dy: [Float] = generator.gaussians(batch * channels * spatial)
    /// dx of channels `range` alone, as a batch of their planes.
    func inputGradient(_ range: Range<Int>) throws -> [Float] {
      func planes(_ values: [Float]) -> [Float] {
        (0..<batch).flatMap { sample in values[(sample * channels + range.lowerBound) * spatial..<(sample * channels + range.upperBound) * spatial] }
      }
      let shape = try BatchNormShape(batch: batch, channels: range.count, spatial: spatial)
      var layer = try BatchNorm<Float>(channels: range.count)
      let (_, context) = try layer.forward(planes(x), shape: shape, mode: .training)
      return try layer.backward(planes(dy), input: planes(x), context: context).gradInput
    }
    let whole = try inputGradient(0..<channels)
    let halves = [try inputGradient(0..<80), try inputGradient(80..<160)]
    for (index, half) in halves.enumerated() {
      let range = index * 80..<(index + 1) * 80
      let expected = (0..<batch).flatMap { sample in half[sample * 80 * spatial..<(sample + 1) * 80 * spatial] }
      let written = (0..<batch).flatMap { sample in whole[(sample * channels + range.lowerBound) * spatial..<(sample * channels + range.upperBound) * spatial] }
      let differing = bitDifferences(written, expected)
      #expect(differing == 0, "channels \(range): \(differing) values differ")
    }
  }

  /// A channels-last batch whose x, dy and dx exceed 32 MiB gets its input gradient
  /// written one run of rows per work item with streaming stores, for 8, 13 and 64
  /// channels. dx must match the Float64 reference everywhere, and nothing may be written
  /// before or after it.
  @Test(arguments: [8, 13, 64])
  func streamingStoresWriteChannelsLastInputGradient(channels: Int) throws {
    let shape = try BatchNormShape(
      batch: 300, channels: channels, spatial: 3_000_000 / (300 * channels) + 1, layout: .channelsLast)
    var generator = SplitMix64(seed: 46)
    let x: [Float] = generator.gaussians(shape.elementCount)
    let dy: [Float] = generator.gaussians(shape.elementCount)
    var layer = try BatchNorm<Float>(channels: shape.channels)
    layer.scale = (0..<shape.channels).map { 0.5 + Float($0) / 8 }
    let (_, context) = try layer.forward(x, shape: shape, mode: .training)
    let buffer = try gradInputBetweenNaNs(layer, dy: dy, x: x, context: context)
    let expected = ReferenceBatchNorm(channels: shape.channels, gamma: doubles(layer.scale), beta: doubles(layer.shift))
      .trainingBackward(doubles(dy), doubles(x), shape)
    let dx = Array(buffer[1...shape.elementCount])
    #expect(maximumDifference(dx, expected.dx) <= 1e-4 * expected.dx.map(abs).max()!)
  }

  /// The same with frozen statistics, no γ and β, and the fused ReLU (the input gradient
  /// pass without its centered terms): every stretch of 30 samples must equal, bit for bit,
  /// the input gradient of those samples alone (small enough for ordinary stores).
  @Test func streamingStoresWriteFrozenChannelsLastInputGradient() throws {
    let (batch, channels, spatial, samplesPerPiece) = (300, 13, 770, 30)
    let shape = try BatchNormShape(batch: batch, channels: channels, spatial: spatial, layout: .channelsLast)
    var generator = SplitMix64(seed: 47)
    let x: [Float] = generator.gaussians(shape.elementCount)
    let dy: [Float] = generator.gaussians(shape.elementCount)
    var layer = try BatchNorm<Float>(channels: channels, configuration: .init(isAffine: false, activation: .relu))
    layer.runningStatistics = RunningStatistics(
      mean: (0..<channels).map { Float($0) / 10 - 0.5 }, variance: (0..<channels).map { 1 + Float($0) / 4 })
    let (_, context) = try layer.forward(x, shape: shape, mode: .inference)
    let buffer = try gradInputBetweenNaNs(layer, dy: dy, x: x, context: context)
    let pieceShape = try BatchNormShape(batch: samplesPerPiece, channels: channels, spatial: spatial, layout: .channelsLast)
    let pieceLength = pieceShape.elementCount
    for piece in 0..<batch / samplesPerPiece {
      let range = piece * pieceLength..<(piece + 1) * pieceLength
      let (_, pieceContext) = try layer.forward(Array(x[range]), shape: pieceShape, mode: .inference)
      let expected = try layer.backward(Array(dy[range]), input: Array(x[range]), context: pieceContext).gradInput
      let differing = bitDifferences(buffer[1 + range.lowerBound..<1 + range.upperBound], expected)
      #expect(differing == 0, "samples of piece \(piece): \(differing) of \(pieceLength) values differ")
    }
  }

  /// dx of `layer.backward` written into an array that starts one Float (4 bytes) early and
  /// ends one Float late, filled with NaN, which is returned; checks that nothing is written
  /// before or after dx.
  func gradInputBetweenNaNs(
    _ layer: BatchNorm<Float>, dy: [Float], x: [Float], context: BatchNormContext<Float>
  ) throws -> [Float] {
    var buffer = [Float](repeating: .nan, count: x.count + 2)
    try dy.withUnsafeBufferPointer { dy in
      try x.withUnsafeBufferPointer { x in
        try buffer.withUnsafeMutableBufferPointer { buffer in
          _ = try layer.backward(
            dy, input: x, context: context, into: UnsafeMutableBufferPointer(rebasing: buffer[1..<1 + x.count]))
        }
      }
    }
    #expect(buffer[0].isNaN, "nothing may be written before the input gradient")
    #expect(buffer[x.count + 1].isNaN, "nothing may be written after the input gradient")
    return buffer
  }

  /// dy ≈ 1e30 and x − µ ≈ 1e10: the products dy·(x − µ) ≈ 1e40 overflow Float, so the
  /// Float run sums must be summed again in Double; the gradients themselves fit.
  @Test(arguments: [ChannelLayout.channelsFirst, .channelsLast])
  func overflowingGradientProductsFallBackToDouble(layout: ChannelLayout) throws {
    let shape = try BatchNormShape(batch: 4, channels: 16, spatial: 50, layout: layout)
    var generator = SplitMix64(seed: 44)
    let x: [Float] = generator.gaussians(shape.elementCount).map { 1e10 * $0 }
    let dy: [Float] = generator.gaussians(shape.elementCount).map { 1e30 * $0 }
    var layer = try BatchNorm<Float>(channels: shape.channels)
    let (_, context) = try layer.forward(x, shape: shape, mode: .training)
    let (dx, parameters) = try layer.backward(dy, input: x, context: context)
    let expected = ReferenceBatchNorm(channels: shape.channels).trainingBackward(doubles(dy), doubles(x), shape)
    #expect(maximumRelativeDifference(parameters.scale, expected.dgamma, floor: 1e30) <= 1e-5)
    #expect(maximumRelativeDifference(parameters.shift, expected.dbeta, floor: 1e30) <= 1e-5)
    #expect(maximumDifference(dx, expected.dx) <= 1e-5 * expected.dx.map(abs).max()!)
  }

  // MARK: Finite differences (Float64), relative error ≤ 1e-6

  /// Loss = Σ w·y for fixed random w, so ∂loss/∂y = w.
  static func loss(_ layer: BatchNorm<Double>, _ x: [Double], _ shape: BatchNormShape, _ mode: BatchNormMode, _ weights: [Double]) throws -> Double {
    var copy = layer
    let (y, _) = try copy.forward(x, shape: shape, mode: mode)
    return zip(y, weights).map(*).reduce(0, +)
  }

  /// Compares backward with central differences for every input and parameter.
  static func checkFiniteDifferences(_ layer: BatchNorm<Double>, shape: BatchNormShape, mode: BatchNormMode, seed: UInt64) throws {
    var generator = SplitMix64(seed: seed)
    let x: [Double] = generator.batch(shape)
    let weights: [Double] = generator.gaussians(shape.elementCount)
    var copy = layer
    let (_, context) = try copy.forward(x, shape: shape, mode: mode)
    let (dx, parameters) = try layer.backward(weights, input: x, context: context)

    let step = 1e-6
    var numericInput = [Double]()
    for index in x.indices {
      var plus = x, minus = x
      plus[index] += step
      minus[index] -= step
      numericInput.append((try loss(layer, plus, shape, mode, weights) - loss(layer, minus, shape, mode, weights)) / (2 * step))
    }
    var numericScale = [Double](), numericShift = [Double]()
    for channel in 0..<shape.channels {
      var plus = layer, minus = layer
      plus.scale[channel] += step
      minus.scale[channel] -= step
      numericScale.append((try loss(plus, x, shape, mode, weights) - loss(minus, x, shape, mode, weights)) / (2 * step))
      plus = layer
      minus = layer
      plus.shift[channel] += step
      minus.shift[channel] -= step
      numericShift.append((try loss(plus, x, shape, mode, weights) - loss(minus, x, shape, mode, weights)) / (2 * step))
    }
    func relativeError(_ analytic: [Double], _ numeric: [Double]) -> Double {
      maximumDifference(analytic, numeric) / max(numeric.map(abs).max() ?? 0, 1e-3)
    }
    #expect(relativeError(dx, numericInput) <= 1e-6, "dx")
    #expect(relativeError(parameters.scale, numericScale) <= 1e-6, "dgamma")
    #expect(relativeError(parameters.shift, numericShift) <= 1e-6, "dbeta")
  }

  static func layer(channels: Int, configuration: BatchNormConfiguration = .pytorch, seed: UInt64) throws -> BatchNorm<Double> {
    var generator = SplitMix64(seed: seed)
    var layer = try BatchNorm<Double>(channels: channels, configuration: configuration)
    layer.scale = (0..<channels).map { _ in Double.random(in: 0.5...1.5, using: &generator) }
    layer.shift = (0..<channels).map { _ in generator.nextGaussian() * 0.3 }
    layer.runningStatistics.mean = (0..<channels).map { _ in generator.nextGaussian() * 2 }
    layer.runningStatistics.variance = (0..<channels).map { _ in Double.random(in: 0.5...6, using: &generator) }
    return layer
  }

  @Test(arguments: [ChannelLayout.channelsFirst, .channelsLast])
  func trainingGradientsMatchFiniteDifferences(layout: ChannelLayout) throws {
    let shape = try BatchNormShape(batch: 4, channels: 3, spatial: 5, layout: layout)
    try Self.checkFiniteDifferences(Self.layer(channels: 3, seed: 1), shape: shape, mode: .batchStatistics, seed: 2)
  }

  @Test func frozenGradientsMatchFiniteDifferences() throws {
    let shape = try BatchNormShape(batch: 3, channels: 4, spatial: 3)
    try Self.checkFiniteDifferences(Self.layer(channels: 4, seed: 3), shape: shape, mode: .inference, seed: 4)
  }

  @Test(arguments: [BatchNormMode.batchStatistics, .inference])
  func fusedReLUGradientsMatchFiniteDifferences(mode: BatchNormMode) throws {
    let shape = try BatchNormShape(batch: 5, channels: 3, spatial: 4, layout: .channelsLast)
    let layer = try Self.layer(channels: 3, configuration: .init(activation: .relu), seed: 5)
    try Self.checkFiniteDifferences(layer, shape: shape, mode: mode, seed: 6)
  }

  @Test func renormalizationGradientsMatchFiniteDifferences() throws {
    let shape = try BatchNormShape(batch: 4, channels: 3, spatial: 3)
    // Tight limits so that some r and d are clipped and some are not.
    let layer = try Self.layer(channels: 3, configuration: .init(renormalization: .init(rMax: 1.5, dMax: 0.5)), seed: 7)
    try Self.checkFiniteDifferences(layer, shape: shape, mode: .training, seed: 8)
  }

  @Test func ghostBatchGradientsMatchFiniteDifferences() throws {
    let shape = try BatchNormShape(batch: 7, channels: 2, spatial: 3)
    let layer = try Self.layer(channels: 2, configuration: .init(virtualBatchSize: 3), seed: 9)
    try Self.checkFiniteDifferences(layer, shape: shape, mode: .batchStatistics, seed: 10)
  }
}
