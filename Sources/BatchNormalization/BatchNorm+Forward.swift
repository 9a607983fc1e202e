extension BatchNorm {
  /// Normalizes `input` into `output` and, in training or recalibration mode, updates
  /// the running statistics.
  ///
  /// Everything is checked before anything is written: on a thrown error `output` and
  /// the layer are unchanged. A batch whose statistics are not finite is normalized as
  /// IEEE arithmetic gives it, but leaves the running statistics unchanged
  /// (``RunningStatisticsUpdate/skippedNonFinite``).
  ///
  /// - Parameters:
  ///   - input: N·C·S values in `shape.layout`.
  ///   - shape: the batch's shape; `shape.channels` must equal ``channels``.
  ///   - mode: which statistics to normalize with and whether to update them.
  ///   - output: N·C·S values, written in the same layout.
  /// - Returns: what backward needs, and what happened to the running statistics.
  /// - Throws: ``BatchNormError`` for a shape, count or parameter mismatch, and for one
  ///   value per channel in a batch-statistics mode (unless the single-value policy
  ///   says otherwise).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func forward(
    _ input: [Scalar], shape: BatchNormShape, mode: BatchNormMode, into output: inout [Scalar]
  ) throws(BatchNormError) -> BatchNormContext<Scalar> {
    try withElements(of: input, writingInto: &output) { input, output throws(BatchNormError) in
      try forward(input, shape: shape, mode: mode, into: output)
    }
  }

  /// `forward(_:shape:mode:into:)` on the elements of the caller's memory.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  mutating func forward(
    _ input: BatchElements<Scalar>, shape: BatchNormShape, mode: BatchNormMode, into output: MutableBatchElements<Scalar>
  ) throws(BatchNormError) -> BatchNormContext<Scalar> {
    try validate(shape: shape, buffers: [("input", input.count), ("output", output.count)])
    let (groups, usesBatchStatistics) = try statisticsGroups(shape: shape, mode: mode)
    let groupMoments = usesBatchStatistics ? moments(of: input, shape: shape, groups: groups) : nil
    return normalizeGroups(input, shape: shape, mode: mode, into: output, groups: groups, groupMoments: groupMoments)
  }

  /// The groups of samples that share statistics (ghost batches, or the whole batch) and
  /// whether the call normalizes with batch statistics at all; refuses a mode the layer
  /// cannot run.
  func statisticsGroups(shape: BatchNormShape, mode: BatchNormMode) throws(BatchNormError) -> (groups: [Range<Int>], usesBatchStatistics: Bool) {
    try checkMode(mode)
    let groups = wantsBatchStatistics(mode) ? ghostBatches(batch: shape.batch, virtualBatchSize: configuration.virtualBatchSize) : [0..<shape.batch]
    let smallestGroup = groups.map { $0.count }.min()! * shape.spatial
    let usesBatchStatistics = try usesBatchStatistics(mode, smallestGroup: smallestGroup, shape: shape)
    return (usesBatchStatistics ? groups : [0..<shape.batch], usesBatchStatistics)
  }

  /// Each group's per-channel moments.
  func moments(of input: BatchElements<Scalar>, shape: BatchNormShape, groups: [Range<Int>]) -> [[ChannelMoments]] {
    let sampleSize = shape.channels * shape.spatial
    return groups.map { group in
      channelMoments(of: input.samples(group, sampleSize: sampleSize), shape: shape.samples(count: group.count))
    }
  }

  /// Whether `mode` asks for batch statistics: every mode but inference, and inference
  /// too for a layer without running statistics.
  func wantsBatchStatistics(_ mode: BatchNormMode) -> Bool {
    mode != .inference || !configuration.tracksRunningStatistics
  }

  /// Refuses a mode that the layer cannot run.
  func checkMode(_ mode: BatchNormMode) throws(BatchNormError) {
    if mode == .recalibration && !configuration.tracksRunningStatistics {
      throw .unsupported(reason: "recalibration needs running statistics, but this layer does not track them")
    }
  }

  /// Whether the call normalizes with batch statistics, given the fewest values per
  /// channel that one set of statistics would cover: below two there is no variance, and
  /// the single-value policy either throws (PyTorch's error) or falls back to the running
  /// statistics.
  func usesBatchStatistics(_ mode: BatchNormMode, smallestGroup: Int, shape: BatchNormShape) throws(BatchNormError) -> Bool {
    guard wantsBatchStatistics(mode) else { return false }
    guard smallestGroup < 2 else { return true }
    guard configuration.singleValuePolicy == .useRunningStatistics, configuration.tracksRunningStatistics else {
      throw .singleValuePerChannel(shape: shape)
    }
    return false
  }

  /// Normalizes each group with its moments' coefficients (or all with the running
  /// statistics' when `groupMoments` is nil), updates the running statistics with the
  /// groups' merged moments, and returns the context. Everything has been checked.
  ///
  /// - Parameter synchronization: set when `groupMoments` holds the statistics of every
  ///   rank's shard (synchronized batch normalization), so backward exchanges its sums too.
  mutating func normalizeGroups(
    _ input: BatchElements<Scalar>, shape: BatchNormShape, mode: BatchNormMode,
    into output: MutableBatchElements<Scalar>, groups: [Range<Int>], groupMoments: [[ChannelMoments]]?,
    synchronization: BatchNormSynchronization? = nil
  ) -> BatchNormContext<Scalar> {
    let sampleSize = shape.channels * shape.spatial
    let activation = configuration.activation
    return normalizeGroups(
      shape: shape, mode: mode, groups: groups, groupMoments: groupMoments, synchronization: synchronization
    ) { group, coefficients in
      normalize(
        stored: input.samples(group, sampleSize: sampleSize), shape: shape.samples(count: group.count),
        coefficients: coefficients, activation: activation,
        output: output.samples(group, sampleSize: sampleSize))
    }
  }

  /// ``normalizeGroups(_:shape:mode:into:groups:groupMoments:synchronization:)`` with the
  /// normalizing pass of each group left to `normalizeGroup` (the half-precision entry
  /// points normalize 16-bit storage with the same coefficients).
  mutating func normalizeGroups(
    shape: BatchNormShape, mode: BatchNormMode, groups: [Range<Int>], groupMoments: [[ChannelMoments]]?,
    synchronization: BatchNormSynchronization? = nil,
    normalizeGroup: (_ group: Range<Int>, _ coefficients: ChannelCoefficients<Scalar>) -> Void
  ) -> BatchNormContext<Scalar> {
    let tracks = configuration.tracksRunningStatistics
    var coefficients: [ChannelCoefficients<Scalar>] = []
    var savedMean: [Scalar] = []
    var savedInverseStandardDeviation: [Scalar] = []
    var renormalization: (r: [Scalar], d: [Scalar])? = nil
    var batchStatistics: BatchStatistics? = nil
    if let groupMoments {
      var merged = groupMoments[0]
      for moments in groupMoments.dropFirst() { merged = zip(merged, moments).map { $0.merged(with: $1) } }
      batchStatistics = BatchStatistics(channels: merged)
      let renormalize = mode == .training && tracks ? configuration.renormalization : nil
      if renormalize != nil { renormalization = ([], []) }
      for moments in groupMoments {
        let group = batchCoefficients(moments, renormalization: renormalize)
        coefficients.append(group.coefficients)
        savedMean += group.coefficients.row(0)
        savedInverseStandardDeviation += group.inverseStandardDeviation
        if let factors = group.renormalization {
          renormalization!.r += factors.r
          renormalization!.d += factors.d
        }
      }
    } else {
      let frozen = runningCoefficients()
      coefficients = [frozen.coefficients]
      savedMean = Array(frozen.coefficients.row(0))
      savedInverseStandardDeviation = frozen.inverseStandardDeviation
    }

    for (group, groupCoefficients) in zip(groups, coefficients) { normalizeGroup(group, groupCoefficients) }

    let update = updateRunningStatistics(with: batchStatistics, mode: mode)
    return BatchNormContext(
      shape: shape, mode: mode, usesBatchStatistics: groupMoments != nil, groups: groups, mean: savedMean,
      inverseStandardDeviation: savedInverseStandardDeviation, renormalization: renormalization,
      batchStatistics: batchStatistics, runningStatisticsUpdate: update, activation: configuration.activation,
      coefficients: coefficients, synchronization: synchronization)
  }

  /// Folds `statistics` (nil when the call used the running statistics) into the running
  /// statistics where the mode and the configuration ask for it.
  mutating func updateRunningStatistics(with statistics: BatchStatistics?, mode: BatchNormMode) -> RunningStatisticsUpdate {
    guard configuration.tracksRunningStatistics, let statistics else { return .unchanged }
    return runningStatistics.update(with: statistics, mode: mode, configuration: configuration)
  }

  /// `forward(_:shape:mode:into:)` into a new array.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func forward(
    _ input: [Scalar], shape: BatchNormShape, mode: BatchNormMode
  ) throws(BatchNormError) -> (output: [Scalar], context: BatchNormContext<Scalar>) {
    var output = [Scalar](repeating: 0, count: input.count)
    let context = try forward(input, shape: shape, mode: mode, into: &output)
    return (output, context)
  }

  /// Training coefficients from batch moments: center µ_B, scale γ·r/σ_B, shift γ·d + β,
  /// where σ_B = √(M2/m + ε) and r = 1, d = 0 unless Batch Renormalization is on.
  private func batchCoefficients(
    _ moments: [ChannelMoments], renormalization limits: RenormalizationLimits?
  ) -> (coefficients: ChannelCoefficients<Scalar>, inverseStandardDeviation: [Scalar], renormalization: (r: [Scalar], d: [Scalar])?) {
    let factors = limits.map { limits in renormalizationFactors(moments, limits: limits) }
    let (coefficients, inverse) = channelCoefficients(.batch(moments), renormalization: factors)
    return (
      coefficients, inverse,
      factors.map { factors in (perChannel(channels) { Scalar(factors.r[$0]) }, perChannel(channels) { Scalar(factors.d[$0]) }) }
    )
  }

  /// Batch Renormalization's r = σ_B/σ and d = (µ_B − µ)/σ against the running
  /// statistics (σ_B = √(M2/m + ε), σ = √(Var + ε)), clipped to the limits.
  private func renormalizationFactors(
    _ moments: [ChannelMoments], limits: RenormalizationLimits
  ) -> (r: [Double], d: [Double]) {
    let epsilon = configuration.epsilon
    let runningDeviation = perChannel(channels) { (Double(runningStatistics.variance[$0]) + epsilon).squareRoot() }
    return (
      r: perChannel(channels) { channel in
        let batchDeviation = (moments[channel].biasedVariance + epsilon).squareRoot()
        return min(max(batchDeviation / runningDeviation[channel], 1 / limits.rMax), limits.rMax)
      },
      d: perChannel(channels) { channel in
        let offset = (moments[channel].mean - Double(runningStatistics.mean[channel])) / runningDeviation[channel]
        return min(max(offset, -limits.dMax), limits.dMax)
      })
  }

  /// Inference coefficients from the running statistics: center E[x], scale
  /// γ/√(Var[x] + ε), shift β.
  private func runningCoefficients() -> (coefficients: ChannelCoefficients<Scalar>, inverseStandardDeviation: [Scalar]) {
    channelCoefficients(
      .running(mean: runningStatistics.mean, variance: runningStatistics.variance), renormalization: nil)
  }

  /// The coefficients of ``channelCoefficients(_:scale:shift:epsilon:renormalization:)``
  /// with this layer's γ, β and ε (γ = 1 and β = 0 for a layer without them, so the
  /// kernel has no branch).
  private func channelCoefficients(
    _ source: CoefficientSource<Scalar>, renormalization factors: (r: [Double], d: [Double])?
  ) -> (coefficients: ChannelCoefficients<Scalar>, inverseStandardDeviation: [Scalar]) {
    BatchNormalization.channelCoefficients(
      source, scale: configuration.isAffine ? scale : [Scalar](repeating: 1, count: channels),
      shift: configuration.isAffine ? shift : [Scalar](repeating: 0, count: channels), epsilon: configuration.epsilon,
      renormalization: factors)
  }
}
