import BatchNormalization

/// What to do with the last N mod B samples of an epoch, when the batch size B does
/// not divide the sample count N.
public enum LastBatchPolicy: String, Hashable, Sendable, CaseIterable {
  /// Leave them out of this epoch (PyTorch's `drop_last=True`); the shuffle decides
  /// which samples they are, so every sample is seen over several epochs.
  case drop
  /// Train on them as a smaller batch (`drop_last=False`). A batch of one sample
  /// cannot be batch-normalized in training, so this can fail with batch normalization.
  case keep
  /// Add them to the batch before, which becomes larger than B: every sample is used
  /// and no batch is small.
  case merge

  /// The steps in one epoch over `sampleCount` samples.
  public func batchCount(sampleCount: Int, batchSize: Int) -> Int {
    batches(sampleCount: sampleCount, batchSize: batchSize).count
  }

  /// The batches of one epoch as ranges of positions in the shuffled order.
  func batches(sampleCount: Int, batchSize: Int) -> [Range<Int>] {
    var batches = stride(from: 0, to: sampleCount - sampleCount % batchSize, by: batchSize).map { $0..<($0 + batchSize) }
    let rest = (sampleCount - sampleCount % batchSize)..<sampleCount
    guard !rest.isEmpty else { return batches }
    switch self {
    case .drop: break
    case .keep: batches.append(rest)
    case .merge:
      if let last = batches.popLast() { batches.append(last.lowerBound..<sampleCount) } else { batches.append(rest) }
    }
    return batches
  }
}

/// How a ``Trainer`` walks through the data.
public struct TrainingConfiguration: Hashable, Sendable {
  /// B, the samples per step.
  public var batchSize: Int
  /// What happens to the last N mod B samples.
  public var lastBatch: LastBatchPolicy
  /// Seeds the shuffles: the same seed (and the same thread count) gives the same run,
  /// bit for bit.
  public var seed: UInt64
  /// K: metrics (mean loss, accuracy, examples/s) are reported every K steps and at the
  /// end of each epoch.
  public var metricsInterval: Int
  /// The batch size of evaluation, which only bounds memory.
  public var evaluationBatchSize: Int
  /// rMax and dMax of every Batch Renormalization layer (`bn:renorm`), set each step.
  public var renormalizationSchedule: RenormalizationSchedule

  /// - Precondition: the batch sizes and the interval are ≥ 1.
  public init(
    batchSize: Int, lastBatch: LastBatchPolicy = .merge, seed: UInt64 = 0, metricsInterval: Int = 100,
    evaluationBatchSize: Int = 1000, renormalizationSchedule: RenormalizationSchedule = RenormalizationSchedule()
  ) {
    precondition(batchSize >= 1 && evaluationBatchSize >= 1, "batch sizes must be ≥ 1")
    precondition(metricsInterval >= 1, "the metrics interval must be ≥ 1")
    self.batchSize = batchSize
    self.lastBatch = lastBatch
    self.seed = seed
    self.metricsInterval = metricsInterval
    self.evaluationBatchSize = evaluationBatchSize
    self.renormalizationSchedule = renormalizationSchedule
  }
}
