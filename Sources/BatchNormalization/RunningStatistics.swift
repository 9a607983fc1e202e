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

  /// Running statistics to start from, such as a loaded `state_dict`'s (nothing skipped, no recalibration in progress).
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

  /// Folds one batch in. All channels change or none do. A batch whose statistics are
  /// not finite, or whose blend would not be finite in `Scalar` (a Float batch of ±3e38
  /// has a variance near 1e77, finite in Double but not in Float), is left out and
  /// counted in ``skippedNonFiniteBatches``. The counts saturate at `Int.max`.
  mutating func update(
    with statistics: BatchStatistics, mode: BatchNormMode, configuration: BatchNormConfiguration
  ) -> RunningStatisticsUpdate {
    // M2/(n − 1) or M2/n as in ChannelMoments.variance(_:), without a branch per channel
    // (forward never measures fewer than 2 values per channel).
    let besselOffset = configuration.runningVarianceEstimator == .unbiased ? 1 : 0
    // One pass that is false for NaN and ∞ too. Every blend is a convex combination of the
    // old value and the batch's, so it fits wherever both do; only a batch beyond `Scalar`
    // needs the blends themselves checked.
    let largest = Double(Scalar.greatestFiniteMagnitude)
    let fits = statistics.channels.allSatisfy { moments in
      moments.mean.magnitude <= largest && moments.sumOfSquaredDeviations / Double(moments.count - besselOffset) <= largest
    }
    guard fits || statistics.isFinite else {
      skippedNonFiniteBatches = Self.increment(skippedNonFiniteBatches)
      return .skippedNonFinite
    }
    let weight: Double
    switch mode {
    case .training:
      weight = configuration.momentum.weight(batchesSeen: Self.increment(batchesSeen))
    case .recalibration:
      weight = 1 / Double(Self.increment(recalibrationBatches))
    case .inference, .batchStatistics:
      return .unchanged
    }
    guard fits || blendStaysFinite(statistics.channels, weight: weight, besselOffset: besselOffset) else {
      skippedNonFiniteBatches = Self.increment(skippedNonFiniteBatches)
      return .skippedNonFinite
    }
    if mode == .training {
      batchesSeen = Self.increment(batchesSeen)
      recalibrationBatches = 0
    } else {
      recalibrationBatches = Self.increment(recalibrationBatches)
    }
    blendRunningStatistics(
      mean: &mean, variance: &variance, with: statistics.channels, weight: weight, besselOffset: besselOffset)
    return .updated
  }

  /// `count` + 1, or `Int.max` when it is already there (a state file may say anything).
  private static func increment(_ count: Int) -> Int {
    count == .max ? .max : count + 1
  }

  /// Whether blending `channels` in with `weight` leaves every running value finite in `Scalar`.
  private func blendStaysFinite(_ channels: [ChannelMoments], weight: Double, besselOffset: Int) -> Bool {
    for (channel, moments) in channels.enumerated() {
      let batchVariance = moments.sumOfSquaredDeviations / Double(moments.count - besselOffset)
      let newMean = (1 - weight) * Double(mean[channel]) + weight * moments.mean
      let newVariance = (1 - weight) * Double(variance[channel]) + weight * batchVariance
      guard Scalar(newMean).isFinite, Scalar(newVariance).isFinite else { return false }
    }
    return true
  }
}
