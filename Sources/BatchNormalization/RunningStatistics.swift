/// The running (population) statistics of a batch-normalization layer: a value, so
/// copying a layer never shares its state.
///
/// Names follow PyTorch's state_dict: `running_mean`, `running_var`,
/// `num_batches_tracked`.
public struct RunningStatistics<Scalar: BatchNormScalar>: Hashable, Sendable {
  /// E[x] per channel.
  public var mean: [Scalar]
  /// Var[x] per channel, under the layer's ``VarianceEstimator``.
  public var variance: [Scalar]
  /// The number of training batches that updated the statistics (`num_batches_tracked`).
  public var batchesSeen: Int
  /// Batches whose statistics were not finite and so were left out.
  public var skippedNonFiniteBatches: Int
  /// The number of batches averaged by the current recalibration pass.
  public private(set) var recalibrationBatches: Int

  /// Mean 0, variance 1, nothing seen: PyTorch's initial buffers.
  public init(channels: Int) {
    self.init(mean: Array(repeating: 0, count: channels), variance: Array(repeating: 1, count: channels))
  }

  public init(mean: [Scalar], variance: [Scalar], batchesSeen: Int = 0) {
    self.mean = mean
    self.variance = variance
    self.batchesSeen = batchesSeen
    self.skippedNonFiniteBatches = 0
    self.recalibrationBatches = 0
  }

  /// Starts a new recalibration pass: the next ``BatchNormMode/recalibration`` batch
  /// replaces the statistics instead of averaging into them.
  public mutating func beginRecalibration() {
    recalibrationBatches = 0
  }

  /// Folds one batch in. All channels change or none do.
  mutating func update(
    with statistics: BatchStatistics, mode: BatchNormMode, configuration: BatchNormConfiguration
  ) -> RunningStatisticsUpdate {
    guard statistics.isFinite else {
      skippedNonFiniteBatches += 1
      return .skippedNonFinite
    }
    let weight: Double
    switch mode {
    case .training:
      batchesSeen += 1
      recalibrationBatches = 0
      weight = configuration.momentum.weight(batchesSeen: batchesSeen)
    case .recalibration:
      recalibrationBatches += 1
      weight = 1 / Double(recalibrationBatches)
    case .inference, .batchStatistics:
      return .unchanged
    }
    // M2/(n − 1) or M2/n as in ChannelMoments.variance(_:), without a branch per channel
    // (forward never measures fewer than 2 values per channel).
    let besselOffset = configuration.runningVarianceEstimator == .unbiased ? 1 : 0
    blendRunningStatistics(
      mean: &mean, variance: &variance, with: statistics.channels, weight: weight, besselOffset: besselOffset)
    return .updated
  }
}
