/// What a forward call measured and used, kept for its backward call (PyTorch's
/// `save_mean` and `save_invstd`), and what it did to the running statistics.
public struct BatchNormContext<Scalar: BatchNormScalar>: Sendable {
  /// The input's shape.
  public let shape: BatchNormShape
  /// The mode the call was made in.
  public let mode: BatchNormMode
  /// Whether the output was normalized with batch statistics (false: running statistics,
  /// so backward treats them as constants).
  public let usesBatchStatistics: Bool
  /// The sample ranges normalized together: one range, or the ghost batches.
  public let groups: [Range<Int>]
  /// The mean each group was centered on, `groups.count × C`, group-major.
  public let mean: [Scalar]
  /// 1/√(σ² + ε) of each group, `groups.count × C` (batch variance in training, running
  /// variance in inference).
  public let inverseStandardDeviation: [Scalar]
  /// Batch Renormalization's r and d per group and channel, when it was applied.
  public let renormalization: (r: [Scalar], d: [Scalar])?
  /// The exact statistics of the whole batch (ghost batches merged), when measured.
  public let batchStatistics: BatchStatistics?
  /// What the call did to the running statistics.
  public let runningStatisticsUpdate: RunningStatisticsUpdate
  /// The fused activation applied after normalizing.
  public let activation: FusedActivation
  /// Per group: the normalizing map's coefficients.
  let coefficients: [ChannelCoefficients<Scalar>]
  /// The process group and the global count, when the statistics were synchronized.
  let synchronization: BatchNormSynchronization?

  /// m, the values per channel that the batch statistics covered: across every rank's
  /// shard for a synchronized call, otherwise this call's (or its smallest ghost
  /// batch's); nil when the call used the running statistics.
  public var statisticsValueCount: Int? {
    guard usesBatchStatistics else { return nil }
    return synchronization?.valuesPerChannel ?? groups.map { $0.count * shape.spatial }.min()
  }
}

/// Where a synchronized forward call's statistics came from: the group whose ranks
/// exchanged them, and m, the values per channel across all their shards.
struct BatchNormSynchronization: Sendable {
  let group: any BatchNormProcessGroup
  let valuesPerChannel: Int
}

/// The gradients of the loss with respect to γ and β (PyTorch's `weight.grad`,
/// `bias.grad`), empty for a layer that is not affine.
public struct ParameterGradients<Scalar: BatchNormScalar>: Hashable, Sendable {
  /// ∂loss/∂γ = Σ dy·x̂.
  public var scale: [Scalar]
  /// ∂loss/∂β = Σ dy.
  public var shift: [Scalar]
}
