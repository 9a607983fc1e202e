/// Which variance the running statistics accumulate from each batch.
public enum VarianceEstimator: String, Sendable, Hashable, CaseIterable {
  /// M2/(m − 1): the paper's Algorithm 2, PyTorch and cuDNN. The biased batch variance
  /// measures spread around the batch mean, the point that minimises the sum of
  /// squares, so on average it falls short of the population variance by (m − 1)/m;
  /// multiplying by m/(m − 1) (Bessel) removes that bias.
  case unbiased
  /// M2/m: Keras, Flax, oneDNN, swift-apis and mlx-swift.
  case biased
}

/// How a batch's statistics enter the running statistics.
public enum MomentumPolicy: Hashable, Sendable {
  /// `running ← (1 − momentum)·running + momentum·batch`: PyTorch's convention, the
  /// weight is on the NEW batch (PyTorch's default 0.1). Keras and Flax write the
  /// weight on the old value: their 0.99 is `.exponential(0.01)` here, see
  /// ``keras(decay:)``.
  case exponential(Double)
  /// The exact average over all batches seen: weight 1/k on the k-th batch
  /// (PyTorch's `momentum=None`).
  case cumulative

  /// The Keras/Flax convention, `running ← decay·running + (1 − decay)·batch`.
  public static func keras(decay: Double) -> MomentumPolicy { .exponential(1 - decay) }

  /// The weight of a batch when `batchesSeen` batches (this one included) have been seen.
  func weight(batchesSeen: Int) -> Double {
    switch self {
    case .exponential(let momentum): return momentum
    case .cumulative: return 1 / Double(max(batchesSeen, 1))
    }
  }
}

/// What training does when a channel has a single value (m = N·S = 1), where the
/// batch variance is undefined.
public enum SingleValuePolicy: String, Sendable, Hashable, CaseIterable {
  /// Throw ``BatchNormError/singleValuePerChannel(shape:)``, as PyTorch raises
  /// "Expected more than 1 value per channel when training".
  case throwError
  /// Normalize that batch with the running statistics and leave them unchanged.
  case useRunningStatistics
}

/// The activation fused into the normalization (forward and backward).
public enum FusedActivation: String, Sendable, Hashable, CaseIterable {
  /// No activation: y = γ·x̂ + β.
  case none
  /// y = max(0, γ·x̂ + β), with backward masked where y ≤ 0.
  case relu
}
