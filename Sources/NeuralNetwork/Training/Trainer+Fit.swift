import Foundation

/// Where ``Trainer/fit(_:epochs:test:classCount:checkpoint:afterEpoch:onMetrics:stopWhen:notes:)``
/// keeps the network after each epoch: a ``Checkpoint`` file that `bn eval` and
/// ``Checkpoint/init(contentsOf:architecture:sampleShape:)`` read back, and, when
/// ``trainingState`` is set, a ``TrainingCheckpoint`` to resume the run from.
public struct CheckpointDestination: Sendable {
  /// The network's description, stored with it.
  public var architecture: Architecture
  /// One sample's shape, stored with it.
  public var sampleShape: [Int]
  /// The file, replaced atomically after every epoch.
  public var url: URL
  /// Where the whole run goes (``TrainingCheckpoint``), written before ``url``; nil: nowhere.
  public var trainingState: URL?
  /// The run's settings, kept in the training state for a resumed run to compare.
  public var settings: [String: String]

  /// A destination; `trainingState` nil writes the model alone.
  public init(
    architecture: Architecture, sampleShape: [Int], url: URL, trainingState: URL? = nil, settings: [String: String] = [:]
  ) {
    self.architecture = architecture
    self.sampleShape = sampleShape
    self.url = url
    self.trainingState = trainingState
    self.settings = settings
  }
}

/// What one epoch of ``Trainer/fit(_:epochs:test:classCount:checkpoint:afterEpoch:onMetrics:stopWhen:notes:)``
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
  /// Trains until ``epochCount`` reaches `epochs`, as `bn train` does (a resumed trainer
  /// first finishes its epoch in progress). After each epoch it evaluates `test` in
  /// inference mode, checks that data-parallel replicas still agree bit for bit
  /// (``checkReplicasAgree()``), calls `afterEpoch`, then writes the checkpoint when
  /// there is one (the training state, then the model, each atomically, and only on rank
  /// 0 of a data-parallel group), so a run killed at any point leaves the last whole
  /// epoch.
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
  ///   - train: the samples and labels to train on.
  ///   - epochs: the epoch count to reach (a resumed trainer has some done).
  ///   - test: the samples evaluated after every epoch.
  ///   - classCount: the classes of the test data's confusion matrix (nil: from the logits).
  ///   - checkpoint: where the network (and the run's state) goes after every epoch; nil: nowhere.
  ///   - afterEpoch: called with each epoch's report, before its checkpoint is written.
  ///   - onMetrics: as in ``trainEpoch(on:observer:onStep:onMetrics:stopWhen:)``.
  ///   - stopWhen: asked after every step (see ``trainEpoch(on:observer:onStep:onMetrics:stopWhen:)``);
  ///     when it says true, the checkpoint of where training stopped is written and
  ///     ``TrainingError/interrupted(epochCount:stepCount:)`` thrown.
  ///   - notes: kept in the training state with each checkpoint (``TrainingCheckpoint/notes``).
  /// - Returns: the last epoch's report.
  /// - Throws: the errors of ``trainEpoch(on:observer:onStep:onMetrics:stopWhen:)`` (the model
  ///   then holds the last completed step, the checkpoint the last completed epoch),
  ///   ``TrainingError/replicasDiverged(ranks:)``, ``CheckpointError``, and what
  ///   `afterEpoch` throws.
  /// - Precondition: ``epochCount`` < `epochs`.
  @discardableResult
  public mutating func fit(
    _ train: LabeledSamples<Scalar>, epochs: Int, test: LabeledSamples<Scalar>, classCount: Int? = nil,
    checkpoint: CheckpointDestination? = nil,
    afterEpoch: (EpochReport) throws -> Void = { _ in },
    onMetrics: (TrainingMetrics) -> Void = { _ in },
    stopWhen: () -> Bool = { false },
    notes: () -> [String: String] = { [:] }
  ) throws -> EpochReport {
    precondition(epochCount < epochs, "the trainer has done \(epochCount) epochs: nothing is left of \(epochs)")
    var report: EpochReport? = nil
    while epochCount < epochs {
      do {
        try trainEpoch(on: train, onMetrics: onMetrics, stopWhen: stopWhen)
      } catch TrainingError.interrupted(let epochCount, let stepCount) {
        if let checkpoint { try write(checkpoint, notes: notes()) }
        throw TrainingError.interrupted(epochCount: epochCount, stepCount: stepCount)
      }
      let evaluation = try evaluate(test, classCount: classCount)
      try checkReplicasAgree()
      report = EpochReport(epochCount: epochCount, stepCount: stepCount, evaluation: evaluation)
      try afterEpoch(report!)
      if let checkpoint { try write(checkpoint, notes: notes()) }
    }
    return report!
  }

  /// Writes the training state (when asked for), then the model, each atomically, on
  /// rank 0 alone.
  private func write(_ destination: CheckpointDestination, notes: [String: String]) throws {
    guard (dataParallelism?.group.rank ?? 0) == 0 else { return }
    let network = Checkpoint(architecture: destination.architecture, sampleShape: destination.sampleShape, model: model)
    if let url = destination.trainingState {
      try TrainingCheckpoint(checkpoint: network, trainer: state, settings: destination.settings, notes: notes).write(to: url)
    }
    try network.write(to: destination.url)
  }
}
