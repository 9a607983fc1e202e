/// The settings of a batch-normalization layer, with presets that reproduce other
/// frameworks exactly.
///
/// | preset | momentum (weight on new batch) | epsilon | running variance |
/// |---|---|---|---|
/// | ``pytorch`` (default) | 0.1 | 1e-5 | unbiased |
/// | ``keras`` | 0.01 (Keras' 0.99 on the old value) | 1e-3 | biased |
/// | ``flax`` | 0.01 (Flax's 0.99 on the old value) | 1e-5 | biased |
public struct BatchNormConfiguration: Hashable, Sendable {
  /// ε, added to the variance before the square root. Must be ≥ 0 and finite.
  public var epsilon: Double
  /// How batch statistics enter the running statistics.
  public var momentum: MomentumPolicy
  /// Which batch variance the running variance accumulates.
  public var runningVarianceEstimator: VarianceEstimator
  /// Whether the layer has a learnable scale γ and shift β. Without them γ = 1, β = 0
  /// and backward returns no parameter gradients.
  public var isAffine: Bool
  /// Whether the layer keeps running statistics. Without them every mode normalizes
  /// with batch statistics (PyTorch's `track_running_stats=False`).
  public var tracksRunningStatistics: Bool
  /// What training does with one value per channel.
  public var singleValuePolicy: SingleValuePolicy
  /// Ghost batch normalization: training statistics over groups of this many samples
  /// (the remainder of N joins the last group). `nil` uses the whole batch.
  public var virtualBatchSize: Int?
  /// Batch Renormalization limits; `nil` is plain batch normalization.
  public var renormalization: RenormalizationLimits?
  /// An activation fused into forward and backward.
  public var activation: FusedActivation

  /// A configuration; the defaults are PyTorch's (``pytorch``).
  public init(
    epsilon: Double = 1e-5,
    momentum: MomentumPolicy = .exponential(0.1),
    runningVarianceEstimator: VarianceEstimator = .unbiased,
    isAffine: Bool = true,
    tracksRunningStatistics: Bool = true,
    singleValuePolicy: SingleValuePolicy = .throwError,
    virtualBatchSize: Int? = nil,
    renormalization: RenormalizationLimits? = nil,
    activation: FusedActivation = .none
  ) {
    self.epsilon = epsilon
    self.momentum = momentum
    self.runningVarianceEstimator = runningVarianceEstimator
    self.isAffine = isAffine
    self.tracksRunningStatistics = tracksRunningStatistics
    self.singleValuePolicy = singleValuePolicy
    self.virtualBatchSize = virtualBatchSize
    self.renormalization = renormalization
    self.activation = activation
  }

  /// PyTorch's `BatchNorm*d` defaults: momentum 0.1 on the new batch, ε = 1e-5,
  /// unbiased running variance.
  public static let pytorch = BatchNormConfiguration()

  /// Keras' `BatchNormalization` defaults: momentum 0.99 on the old value, ε = 1e-3,
  /// biased running variance.
  public static let keras = BatchNormConfiguration(
    epsilon: 1e-3, momentum: .exponential(0.01), runningVarianceEstimator: .biased)

  /// Flax linen's `BatchNorm` defaults: momentum 0.99 on the old value, ε = 1e-5,
  /// biased running variance.
  public static let flax = BatchNormConfiguration(
    epsilon: 1e-5, momentum: .exponential(0.01), runningVarianceEstimator: .biased)

  /// Checks every value's range.
  /// - Throws: ``BatchNormError/invalidParameter(name:value:allowed:)`` naming the value.
  public func validate() throws(BatchNormError) {
    guard epsilon >= 0, epsilon.isFinite else {
      throw .invalidParameter(name: "epsilon", value: epsilon, allowed: "a finite value ≥ 0")
    }
    if case .exponential(let momentum) = momentum, !(0...1).contains(momentum) {
      throw .invalidParameter(name: "momentum", value: momentum, allowed: "0 … 1 (weight on the new batch)")
    }
    if let virtualBatchSize, virtualBatchSize < 1 {
      throw .invalidParameter(name: "virtual batch size", value: Double(virtualBatchSize), allowed: "≥ 1")
    }
    if let renormalization { try renormalization.validate() }
  }
}
