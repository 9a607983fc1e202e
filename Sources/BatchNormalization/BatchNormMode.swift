/// What a forward call does with statistics. A mode is chosen per call, never
/// inherited from a parent, so freezing a layer cannot be undone by accident.
public enum BatchNormMode: String, Sendable, Hashable, CaseIterable {
  /// Normalize with the batch statistics (biased variance) and update the running
  /// statistics: the paper's Algorithm 1.
  case training
  /// Normalize with the running statistics, which stay unchanged; gradients still flow
  /// (dx = dy·γ/√(Var[x] + ε)). Serves both evaluation and frozen fine-tuning.
  case inference
  /// Normalize with the batch statistics without touching the running statistics.
  case batchStatistics
  /// Normalize with the batch statistics and replace the running statistics by the exact
  /// average over the batches of this recalibration pass: E[x] = mean of the batch means,
  /// Var[x] = mean of the batch variances under the running-variance estimator
  /// (m/(m − 1) times the biased ones by default): the paper's Algorithm 2 ("precise BN").
  /// Call ``RunningStatistics/beginRecalibration()`` to start a new pass.
  case recalibration
}

/// What a forward call did to the running statistics.
public enum RunningStatisticsUpdate: String, Sendable, Hashable {
  /// They now include this batch.
  case updated
  /// The batch had a NaN or an infinity in its statistics; the running statistics are
  /// unchanged and ``RunningStatistics/skippedNonFiniteBatches`` counts it.
  case skippedNonFinite
  /// The mode or configuration does not update them.
  case unchanged
}
