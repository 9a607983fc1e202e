extension BatchNorm {
  /// Synchronized batch normalization: normalizes this rank's shard of a batch that is
  /// split over the processes of `group`, with the statistics of the whole batch.
  ///
  /// Each rank measures its shard's per-channel (count, mean, M2); the ranks all-gather
  /// them and every rank merges them in rank order with Chan's formula in Double:
  /// ```
  /// n = nA + nB,  δ = meanB − meanA,  mean = meanA + δ·nB/n,  M2 = M2A + M2B + δ²·nA·nB/n
  /// ```
  /// so the statistics are exact for shards of unequal size (no average of per-rank means
  /// or of E[x²]), and every rank normalizes with, and updates its running statistics
  /// from, the same bits: m is the global count, so the running variance is
  /// M2/(m − 1) over the whole batch. The context remembers the group, and
  /// `backward(_:input:context:into:)` then exchanges its sums too.
  ///
  /// In inference mode (with running statistics) nothing is exchanged and this is the
  /// ordinary forward. Every rank throws the same error, and none waits, when the global
  /// count per channel is 1 in training, when the ranks disagree on the channels, the
  /// spatial size, the layout, the element type or the mode, or when any rank refused
  /// its own input. Ghost batches are refused (their groups are per rank).
  ///
  /// - Parameters:
  ///   - input: this rank's shard, in memory order.
  ///   - shape: the shard's shape (its batch is this rank's sample count).
  ///   - mode: the same on every rank.
  ///   - output: where y goes; the shard's size.
  ///   - group: the processes that share the batch; each calls this with its shard (a
  ///     rank with no samples calls ``forwardWithoutSamples(spatial:layout:mode:synchronizedOver:)``).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func forward(
    _ input: [Scalar], shape: BatchNormShape, mode: BatchNormMode, into output: inout [Scalar],
    synchronizedOver group: any BatchNormProcessGroup
  ) throws(BatchNormError) -> BatchNormContext<Scalar> {
    try withElements(of: input, writingInto: &output) { input, output throws(BatchNormError) in
      try forward(input, shape: shape, mode: mode, into: output, synchronizedOver: group)
    }
  }

  /// `forward(_:shape:mode:into:synchronizedOver:)` on the elements of the caller's memory.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  mutating func forward(
    _ input: BatchElements<Scalar>, shape: BatchNormShape, mode: BatchNormMode,
    into output: MutableBatchElements<Scalar>, synchronizedOver group: any BatchNormProcessGroup
  ) throws(BatchNormError) -> BatchNormContext<Scalar> {
    guard wantsBatchStatistics(mode) else { return try forward(input, shape: shape, mode: mode, into: output) }
    var problem: BatchNormError? = nil
    do throws(BatchNormError) {
      try validate(shape: shape, buffers: [("input", input.count), ("output", output.count)])
      try checkSynchronizable(mode)
    } catch { problem = error }
    let local = problem == nil ? channelMoments(of: input, shape: shape) : []
    let shard = ShardDescription(
      channels: shape.channels, spatial: shape.spatial, layout: shape.layout, scalarBytes: MemoryLayout<Scalar>.size,
      mode: mode, batch: shape.batch)
    let global = try exchangeMoments(local, shard: shard, problem: problem, over: group)
    let synchronization = BatchNormSynchronization(group: group, valuesPerChannel: global.batch * shape.spatial)
    let usesBatchStatistics = try usesBatchStatistics(
      mode, smallestGroup: synchronization.valuesPerChannel, shape: globalShape(global.batch, like: shape))
    return normalizeGroups(
      input, shape: shape, mode: mode, into: output, groups: [0..<shape.batch],
      groupMoments: usesBatchStatistics ? [global.moments] : nil, synchronization: usesBatchStatistics ? synchronization : nil)
  }

  /// `forward(_:shape:mode:into:synchronizedOver:)` into a new array.
  public mutating func forward(
    _ input: [Scalar], shape: BatchNormShape, mode: BatchNormMode, synchronizedOver group: any BatchNormProcessGroup
  ) throws(BatchNormError) -> (output: [Scalar], context: BatchNormContext<Scalar>) {
    var output = [Scalar](repeating: 0, count: input.count)
    let context = try forward(input, shape: shape, mode: mode, into: &output, synchronizedOver: group)
    return (output, context)
  }

  /// Takes part in a synchronized forward call for a rank whose shard of the batch is
  /// empty (a batch smaller than the group leaves some ranks without samples): it
  /// contributes nothing to the statistics, receives the whole batch's, and updates its
  /// running statistics exactly as the other ranks do.
  ///
  /// - Parameters:
  ///   - spatial: the other ranks' spatial size.
  ///   - layout: the other ranks' layout.
  ///   - mode: the mode the other ranks use.
  ///   - group: the processes that share the batch.
  /// - Returns: what ``backwardWithoutSamples(context:)`` needs.
  /// - Throws: as `forward(_:shape:mode:into:synchronizedOver:)`, and on every rank
  ///   when every shard is empty.
  public mutating func forwardWithoutSamples(
    spatial: Int = 1, layout: ChannelLayout = .channelsFirst, mode: BatchNormMode,
    synchronizedOver group: any BatchNormProcessGroup
  ) throws(BatchNormError) -> EmptyShardContext {
    guard wantsBatchStatistics(mode) else {
      return EmptyShardContext(synchronization: nil, batchStatistics: nil, runningStatisticsUpdate: .unchanged)
    }
    var problem: BatchNormError? = nil
    do throws(BatchNormError) {
      guard spatial > 0 else { throw .invalidShape(dimensions: [0, channels, spatial], reason: "the spatial size must be positive") }
      try validateParameters()
      try checkSynchronizable(mode)
    } catch { problem = error }
    let shard = ShardDescription(
      channels: channels, spatial: spatial, layout: layout, scalarBytes: MemoryLayout<Scalar>.size, mode: mode, batch: 0)
    let global = try exchangeMoments(
      [ChannelMoments](repeating: .empty, count: channels), shard: shard, problem: problem, over: group)
    guard global.batch > 0 else { throw .unsupported(reason: "every rank's shard of the batch is empty") }
    let synchronization = BatchNormSynchronization(group: group, valuesPerChannel: global.batch * spatial)
    let shape = try BatchNormShape(batch: global.batch, channels: channels, spatial: spatial, layout: layout)
    guard try usesBatchStatistics(mode, smallestGroup: synchronization.valuesPerChannel, shape: shape) else {
      return EmptyShardContext(synchronization: nil, batchStatistics: nil, runningStatisticsUpdate: .unchanged)
    }
    let statistics = BatchStatistics(channels: global.moments)
    let update = updateRunningStatistics(with: statistics, mode: mode)
    return EmptyShardContext(synchronization: synchronization, batchStatistics: statistics, runningStatisticsUpdate: update)
  }

  /// Takes part in the synchronized backward call that follows
  /// ``forwardWithoutSamples(spatial:layout:mode:synchronizedOver:)``: contributes zero
  /// sums. An empty shard has no input gradient, and its ∂γ and ∂β are 0.
  public func backwardWithoutSamples(context: EmptyShardContext) throws(BatchNormError) {
    guard let synchronization = context.synchronization else { return }
    _ = try exchangeGradientSums(
      [GradientSums](repeating: GradientSums(), count: channels), channels: channels, problem: nil,
      over: synchronization.group)
  }

  /// Backward of a synchronized forward call: this shard's sums Σdy′ and Σdy′·(x − µ)
  /// (µ is the global mean) are added over the ranks in rank order, and dx uses the
  /// global sums and the global count m:
  /// ```
  /// dx = γ/σ_B · (dy − ΣΣdy/m − x̂·ΣΣdy·x̂/m)
  /// ```
  /// ∂γ and ∂β are this shard's own contributions, so that summing every parameter's
  /// gradient over the ranks (data-parallel training) gives the whole batch's.
  func synchronizedBackward<Element: KernelElement>(
    _ gradOutput: BatchElements<Element>, input: BatchElements<Element>, context: BatchNormContext<Scalar>,
    into gradInput: MutableBatchElements<Element>, synchronization: BatchNormSynchronization
  ) throws(BatchNormError) -> ParameterGradients<Scalar> where Element.Value == Scalar {
    var problem: BatchNormError? = nil
    do throws(BatchNormError) {
      try validateBackward(gradOutput, input: input, context: context, into: gradInput)
      guard context.groups.count == 1 else { throw .contextMismatch(reason: "a synchronized context has one group") }
    } catch { problem = error }
    let forward = context.coefficients.first
    let local =
      problem == nil
      ? gradientSums(
        input: input, gradOutput: gradOutput, shape: context.shape, coefficients: forward!, activation: context.activation)
      : []
    let global = try exchangeGradientSums(local, channels: channels, problem: problem, over: synchronization.group)
    let inverse = context.inverseStandardDeviation[0..<channels]
    let renormalization = context.renormalization.map { ($0.r[0..<channels], $0.d[0..<channels]) }
    let whole = channelGradients(
      global, inverseStandardDeviation: inverse, renormalization: renormalization,
      inputGradient: (forward!, 1 / Double(synchronization.valuesPerChannel)))
    computeInputGradient(
      input: input, gradOutput: gradOutput, shape: context.shape, forward: forward!, activation: context.activation,
      coefficients: whole.inputCoefficients!, usesBatchStatistics: true, gradInput: gradInput)
    guard configuration.isAffine else { return ParameterGradients(scale: [], shift: []) }
    let shard = channelGradients(local, inverseStandardDeviation: inverse, renormalization: renormalization, inputGradient: nil)
    return ParameterGradients(
      scale: perChannel(channels) { Scalar(shard.scale[$0]) }, shift: perChannel(channels) { Scalar(shard.shift[$0]) })
  }

  /// Refuses what synchronized statistics cannot do.
  private func checkSynchronizable(_ mode: BatchNormMode) throws(BatchNormError) {
    try checkMode(mode)
    if configuration.virtualBatchSize != nil {
      throw .unsupported(reason: "ghost batches are per process; synchronized batch normalization takes the whole batch")
    }
  }

  /// The whole batch's shape, for the single-value error.
  private func globalShape(_ batch: Int, like shape: BatchNormShape) -> BatchNormShape {
    (try? BatchNormShape(batch: batch, channels: shape.channels, spatial: shape.spatial, layout: shape.layout)) ?? shape
  }
}

/// What ``BatchNorm/forwardWithoutSamples(spatial:layout:mode:synchronizedOver:)``
/// received, for the backward call that follows.
public struct EmptyShardContext: Sendable {
  /// Set when the statistics were exchanged, so backward exchanges its sums too.
  let synchronization: BatchNormSynchronization?
  /// The whole batch's statistics, when batch statistics were used.
  public let batchStatistics: BatchStatistics?
  /// What the call did to the running statistics.
  public let runningStatisticsUpdate: RunningStatisticsUpdate
}
