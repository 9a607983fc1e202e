/// Where a ``Trainer`` stands, apart from the network's parameters and buffers: what a
/// stopped run needs to continue exactly as if it had not stopped.
///
/// A run saved with ``Trainer/state`` and continued by a new trainer (same network
/// weights and buffers, same configuration, optimizer kind and data) after
/// ``Trainer/restore(_:)`` takes the same steps, bit for bit, as the run that never
/// stopped: the optimizer's buffers, the position in the learning-rate schedule, the
/// shuffle and the dropout masks all continue.
public struct TrainerState<Scalar: NetworkScalar>: Hashable, Sendable {
  /// The epochs completed.
  public var epochCount: Int
  /// The steps taken.
  public var stepCount: Int
  /// The shuffling generator's state before the current epoch's shuffle (or, between
  /// epochs, before the next one's).
  public var shuffleState: UInt64
  /// The next batch of the current epoch; 0 between epochs.
  public var batchInEpoch: Int
  /// The optimizer's step count and buffers.
  public var optimizer: OptimizerState<Scalar>
  /// The generator state of each dropout layer, in network order.
  public var dropoutStates: [UInt64]

  /// A state from its parts.
  public init(
    epochCount: Int, stepCount: Int, shuffleState: UInt64, batchInEpoch: Int, optimizer: OptimizerState<Scalar>,
    dropoutStates: [UInt64]
  ) {
    self.epochCount = epochCount
    self.stepCount = stepCount
    self.shuffleState = shuffleState
    self.batchInEpoch = batchInEpoch
    self.optimizer = optimizer
    self.dropoutStates = dropoutStates
  }
}

extension Trainer {
  /// Where the trainer stands: save it with the network (``TrainingCheckpoint``) to
  /// continue later with ``restore(_:)``.
  public var state: TrainerState<Scalar> {
    var dropoutStates: [UInt64] = []
    var network = model
    network.updateLayers(ofType: Dropout<Scalar>.self) { dropoutStates.append($0.generator.state) }
    return TrainerState(
      epochCount: epochCount, stepCount: stepCount, shuffleState: epochCursor?.shuffleState ?? shuffleGeneratorState,
      batchInEpoch: epochCursor?.next ?? 0, optimizer: optimizer.state, dropoutStates: dropoutStates)
  }

  /// Continues from `state`, saved by a trainer of the same network, configuration and
  /// optimizer kind; ``model`` must already hold the saved parameters and buffers. The
  /// next ``trainEpoch(on:observer:onStep:onMetrics:stopWhen:)`` finishes the saved
  /// epoch, on the same shuffle, when the state was saved in the middle of one.
  /// - Throws: ``TrainingError/cannotResume(_:)`` naming what does not fit (the
  ///   optimizer's buffers for this network, the dropout layers, negative counts);
  ///   nothing changes then.
  public mutating func restore(_ state: TrainerState<Scalar>) throws(TrainingError) {
    guard state.epochCount >= 0, state.stepCount >= 0, state.batchInEpoch >= 0 else {
      throw .cannotResume(
        "negative counts (epoch \(state.epochCount), step \(state.stepCount), batch \(state.batchInEpoch))")
    }
    let sizes = model.parameters.map(\.scalars.count)
    for (kind, buffers) in state.optimizer.buffers.sorted(by: { $0.key < $1.key }) {
      guard buffers.count <= sizes.count else {
        throw .cannotResume("the optimizer's \(kind) has \(buffers.count) buffers for \(sizes.count) parameters")
      }
      for (index, buffer) in buffers.enumerated() where !buffer.isEmpty && buffer.count != sizes[index] {
        throw .cannotResume(
          "the optimizer's \(kind) of \(model.parameterNames[index]) has \(buffer.count) values, the parameter \(sizes[index])")
      }
    }
    var network = model
    var dropoutCount = 0
    network.updateLayers(ofType: Dropout<Scalar>.self) { _ in dropoutCount += 1 }
    guard dropoutCount == state.dropoutStates.count else {
      throw .cannotResume("the saved state has \(state.dropoutStates.count) dropout generators, the network \(dropoutCount) dropout layers")
    }
    var restoredOptimizer = optimizer
    try restoredOptimizer.restore(state.optimizer)
    var remaining = state.dropoutStates[...]
    network.updateLayers(ofType: Dropout<Scalar>.self) { $0.generator = SeededGenerator(seed: remaining.removeFirst()) }
    model = network
    optimizer = restoredOptimizer
    epochCount = state.epochCount
    stepCount = state.stepCount
    shuffleGeneratorState = state.shuffleState
    epochCursor = nil
    resumedBatchIndex = state.batchInEpoch > 0 ? state.batchInEpoch : nil
  }
}
