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
  ///   - output: N·C·S values, written in the same layout. May not alias `input`.
  /// - Returns: what backward needs, and what happened to the running statistics.
  /// - Throws: ``BatchNormError`` for a shape, count or parameter mismatch, and for one
  ///   value per channel in a batch-statistics mode (unless the single-value policy
  ///   says otherwise).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func forward(
    _ input: UnsafeBufferPointer<Scalar>, shape: BatchNormShape, mode: BatchNormMode,
    into output: UnsafeMutableBufferPointer<Scalar>
  ) throws(BatchNormError) -> BatchNormContext<Scalar> {
    try validate(shape: shape, buffers: [("input", input.count), ("output", output.count)])
    let tracks = configuration.tracksRunningStatistics
    if mode == .recalibration && !tracks {
      throw .unsupported(reason: "recalibration needs running statistics, but this layer does not track them")
    }
    var usesBatchStatistics = mode != .inference || !tracks
    var groups = usesBatchStatistics ? ghostBatches(batch: shape.batch, virtualBatchSize: configuration.virtualBatchSize) : [0..<shape.batch]
    let smallestGroup = groups.map { $0.count }.min()! * shape.spatial
    if usesBatchStatistics && smallestGroup < 2 {
      guard configuration.singleValuePolicy == .useRunningStatistics, tracks else {
        throw .singleValuePerChannel(shape: shape)
      }
      usesBatchStatistics = false
      groups = [0..<shape.batch]
    }

    let planeSize = shape.channels * shape.spatial
    var coefficients: [ChannelCoefficients<Scalar>] = []
    var savedMean: [Scalar] = []
    var savedInverseStandardDeviation: [Scalar] = []
    var renormalization: (r: [Scalar], d: [Scalar])? = nil
    var batchStatistics: BatchStatistics? = nil
    if usesBatchStatistics {
      let groupMoments = groups.map { group in
        measureMoments(input, shape: shape.samples(count: group.count), offset: group.lowerBound * planeSize)
      }
      var merged = groupMoments[0]
      for moments in groupMoments.dropFirst() { merged = zip(merged, moments).map { $0.merged(with: $1) } }
      batchStatistics = BatchStatistics(channels: merged)
      let renormalize = mode == .training && tracks ? configuration.renormalization : nil
      if renormalize != nil { renormalization = ([], []) }
      for moments in groupMoments {
        let group = batchCoefficients(moments, renormalization: renormalize)
        coefficients.append(group.coefficients)
        savedMean += group.coefficients.center
        savedInverseStandardDeviation += group.inverseStandardDeviation
        if let factors = group.renormalization {
          renormalization!.r += factors.r
          renormalization!.d += factors.d
        }
      }
    } else {
      let frozen = runningCoefficients()
      coefficients = [frozen.coefficients]
      savedMean = frozen.coefficients.center
      savedInverseStandardDeviation = frozen.inverseStandardDeviation
    }

    for (group, groupCoefficients) in zip(groups, coefficients) {
      let range = group.lowerBound * planeSize..<group.upperBound * planeSize
      groupCoefficients.center.withUnsafeBufferPointer { center in
        groupCoefficients.scale.withUnsafeBufferPointer { scale in
          groupCoefficients.shift.withUnsafeBufferPointer { shift in
            normalize(
              input: UnsafeBufferPointer(rebasing: input[range]), shape: shape.samples(count: group.count),
              center: center, scale: scale, shift: shift, activation: configuration.activation,
              output: UnsafeMutableBufferPointer(rebasing: output[range]))
          }
        }
      }
    }

    var update = RunningStatisticsUpdate.unchanged
    if usesBatchStatistics, tracks, let batchStatistics {
      update = runningStatistics.update(with: batchStatistics, mode: mode, configuration: configuration)
    }
    return BatchNormContext(
      shape: shape, mode: mode, usesBatchStatistics: usesBatchStatistics, groups: groups, mean: savedMean,
      inverseStandardDeviation: savedInverseStandardDeviation, renormalization: renormalization,
      batchStatistics: batchStatistics, runningStatisticsUpdate: update, activation: configuration.activation,
      coefficients: coefficients)
  }

  /// The array form of ``forward(_:shape:mode:into:)``.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func forward(
    _ input: [Scalar], shape: BatchNormShape, mode: BatchNormMode
  ) throws(BatchNormError) -> (output: [Scalar], context: BatchNormContext<Scalar>) {
    var output = [Scalar](repeating: 0, count: input.count)
    let context = try input.withUnsafeBufferPointer { input throws(BatchNormError) in
      try output.withUnsafeMutableBufferPointer { output throws(BatchNormError) in
        try forward(input, shape: shape, mode: mode, into: output)
      }
    }
    return (output, context)
  }

  /// The per-channel moments of the samples starting at element `offset`.
  private func measureMoments(
    _ input: UnsafeBufferPointer<Scalar>, shape: BatchNormShape, offset: Int
  ) -> [ChannelMoments] {
    [ChannelMoments](unsafeUninitializedCapacity: shape.channels) { moments, initialized in
      moments.initialize(repeating: .empty)
      computeChannelMoments(
        input: UnsafeBufferPointer(rebasing: input[offset..<offset + shape.elementCount]), shape: shape,
        into: moments)
      initialized = shape.channels
    }
  }

  /// Training coefficients from batch moments: center µ_B, scale γ·r/σ_B, shift γ·d + β.
  private func batchCoefficients(
    _ moments: [ChannelMoments], renormalization limits: RenormalizationLimits?
  ) -> (coefficients: ChannelCoefficients<Scalar>, inverseStandardDeviation: [Scalar], renormalization: (r: [Scalar], d: [Scalar])?) {
    var coefficients = ChannelCoefficients<Scalar>(center: [], scale: [], shift: [])
    coefficients.reserveCapacity(channels)
    var inverseStandardDeviations: [Scalar] = []
    inverseStandardDeviations.reserveCapacity(channels)
    var factors: (r: [Scalar], d: [Scalar]) = ([], [])
    for (channel, channelMoments) in moments.enumerated() {
      let variance = channelMoments.biasedVariance
      let inverse = BatchNormalization.inverseStandardDeviation(variance: variance, epsilon: configuration.epsilon)
      var r = 1.0
      var d = 0.0
      if let limits {
        let runningDeviation = (Double(runningStatistics.variance[channel]) + configuration.epsilon).squareRoot()
        let batchDeviation = (variance + configuration.epsilon).squareRoot()
        r = min(max(batchDeviation / runningDeviation, 1 / limits.rMax), limits.rMax)
        d = min(max((channelMoments.mean - Double(runningStatistics.mean[channel])) / runningDeviation, -limits.dMax), limits.dMax)
        factors.r.append(Scalar(r))
        factors.d.append(Scalar(d))
      }
      coefficients.center.append(Scalar(channelMoments.mean))
      coefficients.scale.append(Scalar(gamma(channel) * r * inverse))
      coefficients.shift.append(Scalar(gamma(channel) * d + beta(channel)))
      inverseStandardDeviations.append(Scalar(inverse))
    }
    return (coefficients, inverseStandardDeviations, limits == nil ? nil : factors)
  }

  /// Inference coefficients from the running statistics: center E[x], scale
  /// γ/√(Var[x] + ε), shift β.
  private func runningCoefficients() -> (coefficients: ChannelCoefficients<Scalar>, inverseStandardDeviation: [Scalar]) {
    var coefficients = ChannelCoefficients<Scalar>(center: runningStatistics.mean, scale: [], shift: [])
    coefficients.reserveCapacity(channels)
    var inverseStandardDeviations: [Scalar] = []
    inverseStandardDeviations.reserveCapacity(channels)
    for channel in 0..<channels {
      let inverse = BatchNormalization.inverseStandardDeviation(
        variance: Double(runningStatistics.variance[channel]), epsilon: configuration.epsilon)
      coefficients.scale.append(Scalar(gamma(channel) * inverse))
      coefficients.shift.append(Scalar(beta(channel)))
      inverseStandardDeviations.append(Scalar(inverse))
    }
    return (coefficients, inverseStandardDeviations)
  }
}
