import Foundation

/// Where ``Trainer/fit(_:epochs:test:classCount:checkpoint:afterEpoch:onMetrics:)``
/// keeps the network after each epoch: a ``Checkpoint`` file that `bn eval` and
/// ``Checkpoint/init(contentsOf:architecture:sampleShape:)`` read back.
public struct CheckpointDestination: Sendable {
  /// The network's description, stored with it.
  public var architecture: Architecture
  /// One sample's shape, stored with it.
  public var sampleShape: [Int]
  /// The file, replaced atomically after every epoch.
  public var url: URL

  public init(architecture: Architecture, sampleShape: [Int], url: URL) {
    self.architecture = architecture
    self.sampleShape = sampleShape
    self.url = url
  }
}

/// What one epoch of ``Trainer/fit(_:epochs:test:classCount:checkpoint:afterEpoch:onMetrics:)``
/// ended with.
public struct EpochReport: Sendable {
  /// The epochs completed, this one included.
  public let epochCount: Int
  /// The steps taken, this epoch's included.
  public let stepCount: Int
  /// The test data's loss and confusion matrix after the epoch.
  public let evaluation: Evaluation
}

extension Trainer {
  /// Trains `epochs` more epochs on `train`, as `bn train` does. After each epoch it
  /// evaluates `test` in inference mode, checks that data-parallel replicas still agree
  /// bit for bit (``checkReplicasAgree()``), writes the checkpoint when there is one
  /// (atomically, and only on rank 0 of a data-parallel group, so a run stopped at any
  /// point leaves the last whole epoch), then calls `afterEpoch`.
  ///
  /// ```swift
  /// var trainer = Trainer(model: network, optimizer: SGD(schedule: .constant(0.1)),
  ///                       configuration: TrainingConfiguration(batchSize: 60, seed: 1))
  /// let last = try trainer.fit(train, epochs: 10, test: test,
  ///                            checkpoint: CheckpointDestination(architecture: architecture,
  ///                                                              sampleShape: [784], url: file))
  /// print(last.evaluation.accuracy)
  /// ```
  ///
  /// - Parameters:
  ///   - classCount: the classes of the test data's confusion matrix (nil: from the logits).
  ///   - onMetrics: as in ``trainEpoch(on:observer:onStep:onMetrics:)``.
  /// - Returns: the last epoch's report.
  /// - Throws: the errors of ``trainEpoch(on:observer:onStep:onMetrics:)`` (the model
  ///   then holds the last completed step, the checkpoint the last completed epoch),
  ///   ``TrainingError/replicasDiverged(ranks:)``, ``CheckpointError``, and what
  ///   `afterEpoch` throws.
  /// - Precondition: `epochs` ≥ 1.
  @discardableResult
  public mutating func fit(
    _ train: LabeledSamples<Scalar>, epochs: Int, test: LabeledSamples<Scalar>, classCount: Int? = nil,
    checkpoint: CheckpointDestination? = nil,
    afterEpoch: (EpochReport) throws -> Void = { _ in },
    onMetrics: (TrainingMetrics) -> Void = { _ in }
  ) throws -> EpochReport {
    precondition(epochs >= 1, "fit needs at least one epoch, got \(epochs)")
    var report: EpochReport? = nil
    for _ in 0..<epochs {
      try trainEpoch(on: train, onMetrics: onMetrics)
      let evaluation = try evaluate(test, classCount: classCount)
      try checkReplicasAgree()
      if let checkpoint, (dataParallelism?.group.rank ?? 0) == 0 {
        try Checkpoint(architecture: checkpoint.architecture, sampleShape: checkpoint.sampleShape, model: model)
          .write(to: checkpoint.url)
      }
      report = EpochReport(epochCount: epochCount, stepCount: stepCount, evaluation: evaluation)
      try afterEpoch(report!)
    }
    return report!
  }
}
