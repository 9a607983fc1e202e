/// Batch normalization over channels (Ioffe & Szegedy 2015, arXiv 1502.03167): the
/// learnable parameters, the running statistics and the settings of one layer, as a
/// value. Copying a layer copies its state; only `mutating` calls change it.
///
/// Per channel c, over the m = N·S values of a batch:
/// ```
/// µ_B = 1/m·Σ x_i                     σ²_B = 1/m·Σ (x_i − µ_B)²   (biased)
/// x̂_i = (x_i − µ_B)/√(σ²_B + ε)       y_i = γ·x̂_i + β
/// running mean ← (1 − momentum)·mean + momentum·µ_B
/// running var  ← (1 − momentum)·var  + momentum·σ²_B·m/(m − 1)   (unbiased, default)
/// inference: y = γ·(x − E[x])/√(Var[x] + ε) + β
/// ```
/// γ (``scale``) and β (``shift``) let the layer represent the identity, so
/// normalizing does not throw away what the layers below learned.
///
/// ```swift
/// var layer = try BatchNorm<Float>(channels: 3)
/// let shape = try BatchNormShape(dimensions: [8, 3, 32, 32])
/// let (y, context) = try layer.forward(x, shape: shape, mode: .training)
/// let gradients = try layer.backward(dy, input: x, context: context)
/// ```
public struct BatchNorm<Scalar: BatchNormScalar>: Hashable, Sendable {
  /// C, the number of channels.
  public let channels: Int
  /// The settings; ``BatchNormConfiguration/pytorch`` by default.
  public var configuration: BatchNormConfiguration
  /// γ per channel (PyTorch's `weight`); empty when the layer is not affine.
  public var scale: [Scalar]
  /// β per channel (PyTorch's `bias`); empty when the layer is not affine.
  public var shift: [Scalar]
  /// The running statistics (PyTorch's `running_mean`, `running_var`,
  /// `num_batches_tracked`).
  public var runningStatistics: RunningStatistics<Scalar>

  /// A layer with γ = 1, β = 0, running mean 0 and running variance 1.
  /// - Throws: ``BatchNormError`` if `channels` is not positive or the configuration is
  ///   out of range.
  public init(channels: Int, configuration: BatchNormConfiguration = .pytorch) throws(BatchNormError) {
    guard channels > 0 else {
      throw .invalidParameter(name: "channels", value: Double(channels), allowed: "≥ 1")
    }
    try configuration.validate()
    self.channels = channels
    self.configuration = configuration
    self.scale = configuration.isAffine ? Array(repeating: 1, count: channels) : []
    self.shift = configuration.isAffine ? Array(repeating: 0, count: channels) : []
    self.runningStatistics = RunningStatistics(channels: channels)
  }

  /// Checks everything a call depends on before anything is computed or written.
  func validate(shape: BatchNormShape, buffers: [(name: String, count: Int)]) throws(BatchNormError) {
    guard shape.channels == channels else {
      throw .channelCountMismatch(name: "input", expected: channels, actual: shape.channels)
    }
    for buffer in buffers where buffer.count != shape.elementCount {
      throw .elementCountMismatch(name: buffer.name, expected: shape.elementCount, actual: buffer.count)
    }
    try validateParameters()
  }

  /// Checks the configuration and that γ, β and the running statistics have C values each.
  func validateParameters() throws(BatchNormError) {
    try configuration.validate()
    if configuration.isAffine {
      guard scale.count == channels else { throw .channelCountMismatch(name: "scale", expected: channels, actual: scale.count) }
      guard shift.count == channels else { throw .channelCountMismatch(name: "shift", expected: channels, actual: shift.count) }
    }
    if configuration.tracksRunningStatistics {
      let running = runningStatistics
      guard running.mean.count == channels else {
        throw .channelCountMismatch(name: "running mean", expected: channels, actual: running.mean.count)
      }
      guard running.variance.count == channels else {
        throw .channelCountMismatch(name: "running variance", expected: channels, actual: running.variance.count)
      }
    }
  }

  /// γ of channel `channel` as Double (1 when not affine).
  func gamma(_ channel: Int) -> Double { configuration.isAffine ? Double(scale[channel]) : 1 }

  /// β of channel `channel` as Double (0 when not affine).
  func beta(_ channel: Int) -> Double { configuration.isAffine ? Double(shift[channel]) : 0 }
}

/// 1/√(variance + ε), or 0 when both are 0 (PyTorch's convention), so a constant channel
/// with ε = 0 maps to β instead of NaN.
func inverseStandardDeviation(variance: Double, epsilon: Double) -> Double {
  let denominator = variance + epsilon
  return denominator > 0 ? 1 / denominator.squareRoot() : (denominator == 0 ? 0 : .nan)
}
