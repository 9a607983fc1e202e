import BatchNormalization
import Testing

@Suite struct RunningStatisticsTests {
  /// keras-team/keras#10443: x = [1, 2, 3, 4] has biased variance 1.25 and unbiased
  /// 1.6667 (= 4/3 · 1.25). With weight 1 on the batch the running variance is exactly it.
  @Test(arguments: [(VarianceEstimator.unbiased, 5.0 / 3.0), (.biased, 1.25)])
  func besselFactorOnTheKerasExample(estimator: VarianceEstimator, expected: Double) throws {
    var layer = try BatchNorm<Double>(
      channels: 1, configuration: .init(momentum: .exponential(1), runningVarianceEstimator: estimator))
    _ = try layer.forward([1, 2, 3, 4], shape: BatchNormShape(batch: 4, channels: 1), mode: .training)
    #expect(abs(layer.runningStatistics.variance[0] - expected) < 1e-15)
    #expect(layer.runningStatistics.mean[0] == 2.5)
  }

  /// Several batches of different sizes, each update checked against the formula of the
  /// preset: PyTorch (weight on the new batch, unbiased), Keras and Flax (0.99 on the old
  /// value, biased).
  @Test(arguments: ["pytorch", "keras", "flax"])
  func presetsFollowTheirFrameworksFormulas(preset: String) throws {
    let configuration: BatchNormConfiguration = preset == "pytorch" ? .pytorch : preset == "keras" ? .keras : .flax
    var layer = try BatchNorm<Double>(channels: 2, configuration: configuration)
    var generator = SplitMix64(seed: 21)
    var expectedMean = [0.0, 0.0]
    var expectedVariance = [1.0, 1.0]
    for (step, batch) in [5, 2, 9].enumerated() {
      let shape = try BatchNormShape(batch: batch, channels: 2)
      let x: [Double] = generator.batch(shape)
      _ = try layer.forward(x, shape: shape, mode: .training)
      for channel in 0..<2 {
        let values = (0..<batch).map { x[$0 * 2 + channel] }
        let mean = ReferenceBatchNorm.mean(values)
        let biased = ReferenceBatchNorm.biasedVariance(values)
        switch preset {
        case "pytorch":
          expectedMean[channel] = 0.9 * expectedMean[channel] + 0.1 * mean
          expectedVariance[channel] = 0.9 * expectedVariance[channel] + 0.1 * biased * Double(batch) / Double(batch - 1)
        default:
          expectedMean[channel] = 0.99 * expectedMean[channel] + 0.01 * mean
          expectedVariance[channel] = 0.99 * expectedVariance[channel] + 0.01 * biased
        }
      }
      #expect(maximumDifference(layer.runningStatistics.mean, expectedMean) < 1e-14)
      #expect(maximumDifference(layer.runningStatistics.variance, expectedVariance) < 1e-14)
      #expect(layer.runningStatistics.batchesSeen == step + 1)
    }
    #expect(configuration.epsilon == (preset == "keras" ? 1e-3 : 1e-5))
  }

  /// Cumulative averaging gives the plain average of the batch means and of the unbiased
  /// batch variances (PyTorch's momentum=None), whatever the initial values.
  @Test func cumulativeAveragesEveryBatchEqually() throws {
    var layer = try BatchNorm<Double>(channels: 1, configuration: .init(momentum: .cumulative))
    layer.runningStatistics.mean = [100]
    var generator = SplitMix64(seed: 22)
    var means: [Double] = [], variances: [Double] = []
    for batch in [3, 8, 4, 6] {
      let x: [Double] = (0..<batch).map { _ in generator.nextGaussian() * 2 + 1 }
      _ = try layer.forward(x, shape: BatchNormShape(batch: batch, channels: 1), mode: .training)
      means.append(ReferenceBatchNorm.mean(x))
      variances.append(ReferenceBatchNorm.biasedVariance(x) * Double(batch) / Double(batch - 1))
    }
    #expect(abs(layer.runningStatistics.mean[0] - ReferenceBatchNorm.mean(means)) < 1e-13)
    #expect(abs(layer.runningStatistics.variance[0] - ReferenceBatchNorm.mean(variances)) < 1e-13)
  }

  /// Algorithm 2: recalibration replaces the statistics with E[x] = mean of batch means
  /// and Var[x] = mean of m/(m−1)·batch variances, and a new pass starts afresh.
  @Test func recalibrationComputesPopulationStatistics() throws {
    var layer = try BatchNorm<Double>(channels: 1)
    layer.runningStatistics.mean = [50]
    layer.runningStatistics.variance = [50]
    layer.runningStatistics.batchesSeen = 7
    var generator = SplitMix64(seed: 23)
    let batches: [[Double]] = (0..<5).map { _ in (0..<6).map { _ in generator.nextGaussian() * 3 - 2 } }
    for pass in 0..<2 {
      layer.runningStatistics.beginRecalibration()
      for batch in batches {
        let context = try layer.forward(batch, shape: BatchNormShape(batch: 6, channels: 1), mode: .recalibration).context
        #expect(context.runningStatisticsUpdate == .updated)
      }
      let expectedMean = ReferenceBatchNorm.mean(batches.map(ReferenceBatchNorm.mean))
      let expectedVariance = ReferenceBatchNorm.mean(batches.map { ReferenceBatchNorm.biasedVariance($0) * 6 / 5 })
      #expect(abs(layer.runningStatistics.mean[0] - expectedMean) < 1e-13, "pass \(pass)")
      #expect(abs(layer.runningStatistics.variance[0] - expectedVariance) < 1e-13, "pass \(pass)")
      #expect(layer.runningStatistics.recalibrationBatches == 5)
      #expect(layer.runningStatistics.batchesSeen == 7, "recalibration is not training")
    }
  }

  @Test(arguments: [Double.nan, .infinity, -.infinity])
  func nonFiniteBatchesDoNotTouchTheRunningStatistics(poison: Double) throws {
    var layer = try BatchNorm<Float>(channels: 3)
    let shape = try BatchNormShape(batch: 4, channels: 3, spatial: 2)
    var generator = SplitMix64(seed: 24)
    _ = try layer.forward(generator.batch(shape) as [Float], shape: shape, mode: .training)
    let before = layer.runningStatistics
    var x: [Float] = generator.batch(shape)
    x[shape.offset(2, 1, 1)] = Float(poison)
    let (y, context) = try layer.forward(x, shape: shape, mode: .training)
    #expect(context.runningStatisticsUpdate == .skippedNonFinite)
    #expect(layer.runningStatistics.mean == before.mean)
    #expect(layer.runningStatistics.variance == before.variance)
    #expect(layer.runningStatistics.batchesSeen == before.batchesSeen)
    #expect(layer.runningStatistics.skippedNonFiniteBatches == 1)
    // The output is what IEEE arithmetic gives: channel 1 is poisoned, the others are not.
    #expect(!y[shape.offset(0, 1, 0)].isFinite)
    #expect(y[shape.offset(0, 0, 0)].isFinite && y[shape.offset(0, 2, 0)].isFinite)
  }

  /// The mean over many batches of the unbiased batch variance approaches σ²; the biased
  /// one approaches (m − 1)/m·σ² (the paper's reason for m/(m − 1)).
  @Test(arguments: [2, 4, 16])
  func besselCorrectionRemovesTheBias(batchSize: Int) throws {
    let trials = 20_000
    let sigma = 2.0
    var generator = SplitMix64(seed: UInt64(batchSize))
    var biasedSum = 0.0
    var unbiasedSum = 0.0
    var layer = try BatchNorm<Double>(channels: 1)
    for _ in 0..<trials {
      let x = (0..<batchSize).map { _ in 5 + sigma * generator.nextGaussian() }
      let statistics = try #require(
        try layer.forward(x, shape: BatchNormShape(batch: batchSize, channels: 1), mode: .batchStatistics).context.batchStatistics)
      biasedSum += statistics.biasedVariance[0]
      unbiasedSum += statistics.unbiasedVariance[0]
    }
    let variance = sigma * sigma
    // The standard error of a mean of unbiased variances is σ²·√(2/(m−1)/trials).
    let standardError = variance * (2 / Double(batchSize - 1) / Double(trials)).squareRoot()
    #expect(abs(unbiasedSum / Double(trials) - variance) < 4 * standardError)
    let expectedBiased = variance * Double(batchSize - 1) / Double(batchSize)
    #expect(abs(biasedSum / Double(trials) - expectedBiased) < 4 * standardError)
  }

  @Test func copiesDoNotShareState() throws {
    var original = try BatchNorm<Float>(channels: 2)
    var copy = original
    _ = try copy.forward([1, 2, 3, 4, 5, 7], shape: BatchNormShape(batch: 3, channels: 2), mode: .training)
    #expect(original.runningStatistics == RunningStatistics(channels: 2))
    #expect(copy.runningStatistics != original.runningStatistics)
    _ = try original.forward([1, 2, 3, 4, 5, 7], shape: BatchNormShape(batch: 3, channels: 2), mode: .training)
    #expect(copy == original)
  }
}
