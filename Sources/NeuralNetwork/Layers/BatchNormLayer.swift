import BatchNormalization

/// Which inputs a ``BatchNormLayer`` takes, named as PyTorch names the modules.
public enum BatchNormKind: String, Sendable, Hashable, CaseIterable {
  /// `BatchNorm1d`: features [N, C], or sequences [N, C, L]; statistics per feature
  /// over the batch (and the length).
  case batchNorm1d = "BatchNorm1d"
  /// `BatchNorm2d`: images [N, C, H, W]; statistics per channel over the batch and
  /// every position (the paper's convolutional form, §3.2).
  case batchNorm2d = "BatchNorm2d"
}

/// Batch normalization as a layer (Ioffe & Szegedy 2015, arXiv 1502.03167): the core's
/// `BatchNorm` value, driven by the network's ``ExecutionMode``:
///
/// | network mode | core mode |
/// |---|---|
/// | ``ExecutionMode/training`` | `BatchNormMode.training`: batch statistics, running statistics updated |
/// | ``ExecutionMode/inference`` | `BatchNormMode.inference`: running statistics, unchanged |
/// | ``ExecutionMode/recalibration`` | `BatchNormMode.recalibration`: exact population statistics (Algorithm 2) |
///
/// ``modeOverride`` replaces that choice in every network mode, for example
/// `BatchNormMode.inference` to freeze the statistics while fine-tuning (gradients
/// still flow, dx = dy·γ/√(Var[x] + ε)). Backward is available after a training-mode
/// network pass, whatever core mode it used.
///
/// Parameters are `weight` (γ) and `bias` (β); buffers are `running_mean`,
/// `running_var` and `num_batches_tracked` (a count, held as a scalar of shape []), as
/// in PyTorch's `state_dict`. Settings (momentum, ε, ghost batches, Batch
/// Renormalization, …) are the core's `BatchNormConfiguration`.
public struct BatchNormLayer<Scalar: NetworkScalar>: Layer {
  /// Which input shapes the layer takes.
  public let kind: BatchNormKind
  /// The core layer: γ, β, running statistics and configuration.
  public private(set) var normalization: BatchNorm<Scalar>
  /// A core mode used in every network mode instead of the mapped one; nil maps.
  public var modeOverride: BatchNormMode?
  /// ∂L/∂γ, accumulated by backward; empty when the layer is not affine.
  public private(set) var scaleGradient: Tensor<Scalar>
  /// ∂L/∂β, accumulated by backward; empty when the layer is not affine.
  public private(set) var shiftGradient: Tensor<Scalar>
  /// What the last training-mode forward call did to the running statistics.
  public private(set) var lastRunningStatisticsUpdate: RunningStatisticsUpdate = .unchanged
  /// The processes whose shards of each batch this layer normalizes together
  /// (synchronized batch normalization, the core's
  /// `BatchNorm.forward(_:shape:mode:into:synchronizedOver:)`); nil normalizes with
  /// this process's batch alone. Every process of the group must run the same network
  /// on its shard, step for step.
  public var processGroup: (any BatchNormProcessGroup)?
  /// What backward needs from the last training-mode forward call.
  private var saved: (input: Tensor<Scalar>, context: BatchNormContext<Scalar>)?
  /// What backward needs from the last ``forwardWithoutSamples(inputShape:)``.
  private var savedWithoutSamples: EmptyShardContext?

  /// A layer with γ = 1, β = 0, running mean 0 and running variance 1.
  /// - Throws: `BatchNormError` for a channel count below 1 or a configuration out of range.
  public init(_ kind: BatchNormKind, channels: Int, configuration: BatchNormConfiguration = .pytorch) throws {
    self.kind = kind
    self.normalization = try BatchNorm(channels: channels, configuration: configuration)
    let parameterShape = configuration.isAffine ? [channels] : [0]
    self.scaleGradient = Tensor(zeros: parameterShape)
    self.shiftGradient = Tensor(zeros: parameterShape)
  }

  /// C, the channels (features) normalized.
  public var channels: Int { normalization.channels }

  /// The core's settings. Whether the layer is affine or tracks running statistics
  /// decides which tensors it has, so those two cannot change.
  public var configuration: BatchNormConfiguration {
    get { normalization.configuration }
    set {
      precondition(
        newValue.isAffine == configuration.isAffine
          && newValue.tracksRunningStatistics == configuration.tracksRunningStatistics,
        "\(description): isAffine and tracksRunningStatistics are fixed when the layer is made")
      normalization.configuration = newValue
    }
  }

  public var description: String { "\(kind.rawValue)(\(channels))" }

  public func outputShape(forInputShape inputShape: [Int]) throws -> [Int] {
    let ranks = kind == .batchNorm1d ? [2, 3] : [4]
    guard ranks.contains(inputShape.count), inputShape.allSatisfy({ $0 > 0 }), inputShape[1] == channels else {
      let expected = kind == .batchNorm1d ? "[N, \(channels)] or [N, \(channels), L]" : "[N, \(channels), H, W]"
      throw shapeMismatch(expected: expected, actual: inputShape)
    }
    return inputShape
  }

  /// The core mode for a network mode, unless ``modeOverride`` is set.
  public func batchNormMode(for mode: ExecutionMode) -> BatchNormMode {
    if let modeOverride { return modeOverride }
    switch mode {
    case .training: return .training
    case .inference: return .inference
    case .recalibration: return .recalibration
    }
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func forward(_ input: Tensor<Scalar>, mode: ExecutionMode) throws -> Tensor<Scalar> {
    let shape = try outputShape(forInputShape: input.shape)
    let batchNormShape = try BatchNormShape(dimensions: shape)
    let batchNormMode = batchNormMode(for: mode)
    var output = [Scalar](repeating: 0, count: input.scalars.count)
    let context =
      if let processGroup {
        try normalization.forward(
          input.scalars, shape: batchNormShape, mode: batchNormMode, into: &output, synchronizedOver: processGroup)
      } else {
        try normalization.forward(input.scalars, shape: batchNormShape, mode: batchNormMode, into: &output)
      }
    savedWithoutSamples = nil
    if mode == .training {
      saved = (input, context)
      lastRunningStatisticsUpdate = context.runningStatisticsUpdate
    } else {
      saved = nil
    }
    return Tensor(shape: shape, scalars: output)
  }

  public var parameterRoles: [ParameterRole] { parameterNames.map { _ in .normalization } }

  /// Sets Batch Renormalization's limits to the training configuration's
  /// ``TrainingConfiguration/renormalizationSchedule`` at `step`; a layer without Batch
  /// Renormalization is unchanged.
  public mutating func prepareForTrainingStep(_ step: Int, training: TrainingConfiguration) {
    if configuration.renormalization != nil {
      configuration.renormalization = training.renormalizationSchedule.limits(atStep: step)
    }
  }

  /// Sets ``processGroup``.
  public mutating func shareBatchStatistics(over group: any BatchNormProcessGroup) { processGroup = group }

  /// Takes part in a training step of the ``processGroup`` for a process whose shard of
  /// the batch is empty: receives the whole batch's statistics and updates the running
  /// statistics as the other processes do. Does nothing without a process group.
  /// - Parameter inputShape: the shape the layer's input would have, with any batch size.
  public mutating func forwardWithoutSamples(inputShape: [Int]) throws {
    saved = nil
    savedWithoutSamples = nil
    guard let processGroup else { return }
    _ = try outputShape(forInputShape: inputShape)
    let spatial = inputShape.dropFirst(2).reduce(1, *)
    let context = try normalization.forwardWithoutSamples(
      spatial: spatial, mode: batchNormMode(for: .training), synchronizedOver: processGroup)
    savedWithoutSamples = context
    lastRunningStatisticsUpdate = context.runningStatisticsUpdate
  }

  /// The backward half of ``forwardWithoutSamples(inputShape:)``: contributes zero sums;
  /// the layer's gradients are unchanged (an empty shard adds nothing to them).
  public mutating func backwardWithoutSamples() throws {
    guard processGroup != nil else { return }
    guard let context = savedWithoutSamples else { throw NetworkError.missingTrainingForward(layer: description) }
    try normalization.backwardWithoutSamples(context: context)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func backward(_ gradOutput: Tensor<Scalar>) throws -> Tensor<Scalar> {
    guard let (input, context) = saved else { throw NetworkError.missingTrainingForward(layer: description) }
    try checkGradient(gradOutput, outputShape: input.shape)
    var gradInput = [Scalar](repeating: 0, count: input.scalars.count)
    let gradients = try normalization.backward(gradOutput.scalars, input: input.scalars, context: context, into: &gradInput)
    if configuration.isAffine {
      for channel in 0..<channels {
        scaleGradient.scalars[channel] += gradients.scale[channel]
        shiftGradient.scalars[channel] += gradients.shift[channel]
      }
    }
    return Tensor(shape: input.shape, scalars: gradInput)
  }

  public var parameterNames: [String] { configuration.isAffine ? ["weight", "bias"] : [] }

  public var parameters: [Tensor<Scalar>] {
    guard configuration.isAffine else { return [] }
    return [Tensor(shape: [channels], scalars: normalization.scale), Tensor(shape: [channels], scalars: normalization.shift)]
  }

  public var gradients: [Tensor<Scalar>] { configuration.isAffine ? [scaleGradient, shiftGradient] : [] }

  public mutating func updateParameters(
    _ body: (_ index: Int, _ parameter: inout Tensor<Scalar>, _ gradient: Tensor<Scalar>) -> Void
  ) {
    guard configuration.isAffine else { return }
    // Move γ and β out of the core while `body` writes them, so they are never copied.
    var scale = Tensor(shape: [channels], scalars: normalization.scale)
    normalization.scale = []
    body(0, &scale, scaleGradient)
    normalization.scale = scale.scalars
    var shift = Tensor(shape: [channels], scalars: normalization.shift)
    normalization.shift = []
    body(1, &shift, shiftGradient)
    normalization.shift = shift.scalars
  }

  public mutating func updateGradients(_ body: (_ index: Int, _ gradient: inout Tensor<Scalar>) -> Void) {
    guard configuration.isAffine else { return }
    body(0, &scaleGradient)
    body(1, &shiftGradient)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func zeroGradients() {
    scaleGradient.setToZero()
    shiftGradient.setToZero()
  }

  public var bufferNames: [String] {
    configuration.tracksRunningStatistics ? ["running_mean", "running_var", "num_batches_tracked"] : []
  }

  public var buffers: [Tensor<Scalar>] {
    guard configuration.tracksRunningStatistics else { return [] }
    let running = normalization.runningStatistics
    return [
      Tensor(shape: [channels], scalars: running.mean), Tensor(shape: [channels], scalars: running.variance),
      Tensor(shape: [], scalars: [Scalar(running.batchesSeen)]),
    ]
  }

  /// Replaces the running statistics: mean [C], variance [C] and the batches seen, a
  /// whole number ≥ 0 of shape [].
  public mutating func loadBuffers(_ newBuffers: [Tensor<Scalar>]) throws {
    try checkState(newBuffers, against: buffers, names: bufferNames)
    guard newBuffers.count == 3 else { return }
    let batchesSeen = newBuffers[2].scalars[0]
    guard batchesSeen >= 0, batchesSeen == batchesSeen.rounded(), batchesSeen < Scalar(Int.max) else {
      throw NetworkError.invalidParameter(
        layer: description, name: "num_batches_tracked", value: Double(batchesSeen), allowed: "a whole number ≥ 0")
    }
    if let channel = newBuffers[0].scalars.firstIndex(where: { !$0.isFinite }) {
      throw NetworkError.invalidParameter(
        layer: description, name: "running_mean[\(channel)]", value: Double(newBuffers[0].scalars[channel]), allowed: "a finite number")
    }
    if let channel = newBuffers[1].scalars.firstIndex(where: { !($0 >= 0 && $0.isFinite) }) {
      throw NetworkError.invalidParameter(
        layer: description, name: "running_var[\(channel)]", value: Double(newBuffers[1].scalars[channel]), allowed: "a finite number ≥ 0")
    }
    normalization.runningStatistics.mean = newBuffers[0].scalars
    normalization.runningStatistics.variance = newBuffers[1].scalars
    normalization.runningStatistics.batchesSeen = Int(batchesSeen)
  }

  public mutating func beginRecalibration() {
    normalization.runningStatistics.beginRecalibration()
  }
}
