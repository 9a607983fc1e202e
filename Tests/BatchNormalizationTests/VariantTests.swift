import BatchNormalization
import Testing

@Suite struct VariantTests {
  static func randomLayer<Scalar: BatchNormScalar>(
    _: Scalar.Type, channels: Int, configuration: BatchNormConfiguration, seed: UInt64
  ) throws -> BatchNorm<Scalar> {
    var generator = SplitMix64(seed: seed)
    var layer = try BatchNorm<Scalar>(channels: channels, configuration: configuration)
    layer.scale = (0..<channels).map { _ in Scalar(Double.random(in: 0.5...1.5, using: &generator)) }
    layer.shift = (0..<channels).map { _ in Scalar(generator.nextGaussian()) }
    layer.runningStatistics.mean = (0..<channels).map { _ in Scalar(generator.nextGaussian() * 2) }
    layer.runningStatistics.variance = (0..<channels).map { _ in Scalar(Double.random(in: 0.3...8, using: &generator)) }
    return layer
  }

  @Test(arguments: [ChannelLayout.channelsFirst, .channelsLast])
  func ghostBatchesNormalizeEachGroup(layout: ChannelLayout) throws {
    let shape = try BatchNormShape(batch: 11, channels: 3, spatial: 4, layout: layout)
    var layer = try Self.randomLayer(Float.self, channels: 3, configuration: .init(virtualBatchSize: 4), seed: 61)
    var generator = SplitMix64(seed: 62)
    let x: [Float] = generator.batch(shape)
    let (y, context) = try layer.forward(x, shape: shape, mode: .training)
    // 11 = 4 + 7: the remainder joins the last group.
    #expect(context.groups == [0..<4, 4..<11])
    let reference = ReferenceBatchNorm(channels: 3, gamma: doubles(layer.scale), beta: doubles(layer.shift))
    #expect(maximumDifference(y, reference.trainingForward(doubles(x), shape, groups: [0..<4, 4..<11])) <= 1e-5)
    // The running statistics use the exact statistics of the whole batch.
    let whole = try #require(context.batchStatistics)
    #expect(whole.valuesPerChannel == 44)
    for channel in 0..<3 {
      let exact = ChannelMoments(of: reference.channelValues(doubles(x), shape, channel: channel, group: 0..<11))
      #expect(abs(whole.mean[channel] - exact.mean) < 1e-6)
    }
    let dy: [Float] = generator.gaussians(shape.elementCount)
    let (dx, parameters) = try layer.backward(dy, input: x, context: context)
    let expected = reference.trainingBackward(doubles(dy), doubles(x), shape, groups: [0..<4, 4..<11])
    #expect(maximumDifference(dx, expected.dx) <= 1e-4)
    #expect(maximumDifference(parameters.scale, expected.dgamma) <= 1e-4)
  }

  @Test func renormalizationMatchesTheReference() throws {
    let shape = try BatchNormShape(batch: 6, channels: 4, spatial: 3, layout: .channelsLast)
    let limits = RenormalizationLimits(rMax: 1.3, dMax: 0.4)
    var layer = try Self.randomLayer(Double.self, channels: 4, configuration: .init(renormalization: limits), seed: 63)
    var reference = ReferenceBatchNorm(channels: 4, gamma: layer.scale, beta: layer.shift)
    reference.renormalization = (layer.runningStatistics.mean, layer.runningStatistics.variance, 1.3, 0.4)
    var generator = SplitMix64(seed: 64)
    let x: [Double] = generator.batch(shape)
    let (y, context) = try layer.forward(x, shape: shape, mode: .training)
    #expect(maximumDifference(y, reference.trainingForward(x, shape)) <= 1e-12)
    let factors = try #require(context.renormalization)
    #expect(factors.r.allSatisfy { (1 / 1.3 - 1e-12...1.3 + 1e-12).contains($0) })
    #expect(factors.d.allSatisfy { abs($0) <= 0.4 + 1e-12 })
    #expect(factors.r.contains { abs($0 - 1.3) < 1e-12 || abs($0 - 1 / 1.3) < 1e-12 }, "some r should be clipped")
    let dy: [Double] = generator.gaussians(shape.elementCount)
    let (dx, parameters) = try layer.backward(dy, input: x, context: context)
    let expected = reference.trainingBackward(dy, x, shape)
    #expect(maximumDifference(dx, expected.dx) <= 1e-10)
    #expect(maximumDifference(parameters.scale, expected.dgamma) <= 1e-10)
    #expect(maximumDifference(parameters.shift, expected.dbeta) <= 1e-10)
  }

  @Test func renormalizationWithUnitLimitsIsBatchNormalization() throws {
    let shape = try BatchNormShape(batch: 5, channels: 3, spatial: 2)
    var plain = try Self.randomLayer(Double.self, channels: 3, configuration: .pytorch, seed: 65)
    var renormalized = plain
    renormalized.configuration.renormalization = .init(rMax: 1, dMax: 0)
    var generator = SplitMix64(seed: 66)
    let x: [Double] = generator.batch(shape)
    #expect(try plain.forward(x, shape: shape, mode: .training).output == renormalized.forward(x, shape: shape, mode: .training).output)
  }

  @Test func theScheduleRampsLikeThePaper() {
    let schedule = RenormalizationSchedule()
    #expect(schedule.limits(atStep: 0) == .init(rMax: 1, dMax: 0))
    #expect(schedule.limits(atStep: 5_000) == .init(rMax: 1, dMax: 0))
    #expect(schedule.limits(atStep: 25_000).dMax == 5)
    #expect(abs(schedule.limits(atStep: 22_500).rMax - 2) < 1e-12)
    #expect(schedule.limits(atStep: 40_000).rMax == 3)
    #expect(schedule.limits(atStep: 1_000_000) == .init(rMax: 3, dMax: 5))
    let short = schedule.scaled(by: 0.1)
    #expect(short.warmupSteps == 500 && short.rMaxReachedAtStep == 4_000 && short.dMaxReachedAtStep == 2_500)
  }

  @Test(arguments: [ChannelLayout.channelsFirst, .channelsLast])
  func fusedReLUClampsTheNormalizedOutput(layout: ChannelLayout) throws {
    let shape = try BatchNormShape(batch: 4, channels: 5, spatial: 9, layout: layout)
    var layer = try Self.randomLayer(Float.self, channels: 5, configuration: .init(activation: .relu), seed: 67)
    var generator = SplitMix64(seed: 68)
    let x: [Float] = generator.batch(shape)
    var reference = ReferenceBatchNorm(channels: 5, gamma: doubles(layer.scale), beta: doubles(layer.shift))
    reference.relu = true
    let (y, _) = try layer.forward(x, shape: shape, mode: .training)
    #expect(maximumDifference(y, reference.trainingForward(doubles(x), shape)) <= 1e-5)
    #expect(y.contains(0) && y.allSatisfy { $0 >= 0 })
  }

  /// Folding into a linear layer: W′u + b′ equals BN(Wu + b) in inference mode.
  @Test func foldingIntoALinearLayerMatchesInference() throws {
    let inputs = 4, outputs = 3, batch = 5
    var layer = try Self.randomLayer(Double.self, channels: outputs, configuration: .pytorch, seed: 69)
    var generator = SplitMix64(seed: 70)
    let weight: [Double] = generator.gaussians(outputs * inputs)
    let bias: [Double] = generator.gaussians(outputs)
    let u: [Double] = generator.gaussians(batch * inputs)
    func linear(_ weight: [Double], _ bias: [Double]) -> [Double] {
      (0..<batch).flatMap { sample in
        (0..<outputs).map { output in
          bias[output] + (0..<inputs).map { weight[output * inputs + $0] * u[sample * inputs + $0] }.reduce(0, +)
        }
      }
    }
    let (expected, _) = try layer.forward(linear(weight, bias), shape: BatchNormShape(batch: batch, channels: outputs), mode: .inference)
    let folded = try layer.folded(weight: weight, bias: bias)
    #expect(maximumDifference(linear(folded.weight, folded.bias), expected) < 1e-12)
    let withoutBias = try layer.folded(weight: weight, bias: nil)
    let (expectedWithoutBias, _) = try layer.forward(
      linear(weight, [0, 0, 0]), shape: BatchNormShape(batch: batch, channels: outputs), mode: .inference)
    #expect(maximumDifference(linear(withoutBias.weight, withoutBias.bias), expectedWithoutBias) < 1e-12)
    #expect(throws: BatchNormError.self) { try layer.folded(weight: [1, 2, 3, 4], bias: nil) }
    #expect(throws: BatchNormError.self) { try layer.folded(weight: weight, bias: [1]) }
  }
}
