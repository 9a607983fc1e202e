import BatchNormalization

/// Mini-batch training of a classifier, with softmax cross-entropy or another
/// ``ClassificationLoss``.
///
/// ```swift
/// var generator = SeededGenerator(seed: 1)
/// let network: Sequential<Float> = try Architecture(parsing: "linear:100,bn,sigmoid,linear:10")
///   .makeNetwork(sampleShape: [784], using: &generator)
/// var trainer = Trainer(
///   model: network, optimizer: SGD(schedule: .constant(0.1), momentum: 0.9),
///   configuration: TrainingConfiguration(batchSize: 60, seed: 1))
/// for _ in 0..<10 {
///   try trainer.trainEpoch(on: train) { metrics in print(metrics.loss) }
///   print(try trainer.evaluate(test).accuracy)
/// }
/// ```
///
/// Each epoch shuffles the samples with the trainer's seeded generator (so the same
/// seed gives the same run, bit for bit, at a fixed thread count) and cuts them into
/// batches under ``TrainingConfiguration/lastBatch``. A step is: let every layer prepare
/// for it (``Layer/prepareForTrainingStep(_:training:)``), gather the batch, forward in
/// ``ExecutionMode/training``, loss, check that loss and gradients are finite, backward,
/// optimizer update. ``fit(_:epochs:test:classCount:checkpoint:afterEpoch:onMetrics:stopWhen:notes:)``
/// runs whole epochs with evaluation and checkpoints, as `bn train` does. Steps run the network in
/// ``ExecutionMode/training``; ``evaluate(_:classCount:)`` runs a copy of it in
/// ``ExecutionMode/inference``.
public struct Trainer<Scalar: NetworkScalar> {
  /// The network being trained.
  public var model: Sequential<Scalar>
  /// Updates ``model`` after each backward pass.
  public var optimizer: any Optimizer<Scalar>
  /// The batch size, seed, last-batch policy and reporting interval.
  public var configuration: TrainingConfiguration
  /// What the steps minimize.
  public var loss: any ClassificationLoss
  /// The steps taken so far.
  public internal(set) var stepCount = 0
  /// The epochs completed so far.
  public internal(set) var epochCount = 0
  /// Draws the shuffles.
  private var generator: SeededGenerator
  /// ``generator``'s whole state, for ``state`` and ``restore(_:)``.
  var shuffleGeneratorState: UInt64 {
    get { generator.state }
    set { generator = SeededGenerator(seed: newValue) }
  }
  /// The epoch in progress: its shuffled order, its batches, the next batch, and the
  /// generator's state before the shuffle (what ``state`` saves to repeat it).
  var epochCursor: (order: [Int], batches: [Range<Int>], next: Int, shuffleState: UInt64)?
  /// The batch a restored state's epoch continues at, until that epoch is shuffled.
  var resumedBatchIndex: Int?
  /// How each batch is shared among processes; nil trains on this process alone.
  public let dataParallelism: DataParallelism?

  /// - Parameters:
  ///   - model: the network to train.
  ///   - optimizer: what updates it after each backward pass.
  ///   - configuration: the batch size, seed, last-batch policy and reporting interval.
  ///   - loss: what the steps minimize.
  ///   - dataParallelism: the processes that share each batch (see
  ///     ``DataParallelism``); every process makes the same trainer with the same
  ///     network, optimizer, configuration and seed. With synchronized statistics, every
  ///     layer of `model` is asked to share its batch statistics over the group
  ///     (``Layer/shareBatchStatistics(over:)``).
  public init(
    model: Sequential<Scalar>, optimizer: any Optimizer<Scalar>, configuration: TrainingConfiguration,
    loss: any ClassificationLoss = SoftmaxCrossEntropy(), dataParallelism: DataParallelism? = nil
  ) {
    var model = model
    if let dataParallelism, dataParallelism.synchronizesBatchNormalization {
      model.shareBatchStatistics(over: dataParallelism.group)
    }
    self.model = model
    self.optimizer = optimizer
    self.configuration = configuration
    self.loss = loss
    self.dataParallelism = dataParallelism
    self.generator = SeededGenerator(seed: configuration.seed)
  }

  /// One pass over `data` in shuffled mini-batches; after ``restore(_:)`` of a state
  /// saved in the middle of an epoch, the rest of that epoch.
  ///
  /// - Parameters:
  ///   - data: the samples and labels to train on.
  ///   - observer: called with each layer's index and input during every training
  ///     forward pass (see ``Sequential/forward(_:mode:observer:)``).
  ///   - onStep: called after every step.
  ///   - onMetrics: called every ``TrainingConfiguration/metricsInterval`` steps and
  ///     after the last step of the epoch.
  ///   - stopWhen: asked after every step; when it says true (on any process of a
  ///     data-parallel group: the answer travels with the step's sums), training stops
  ///     there, on every process.
  /// - Throws: ``TrainingError/interrupted(epochCount:stepCount:)`` when `stopWhen` said
  ///   so (the epoch in progress continues after ``state`` and ``restore(_:)``);
  ///   ``TrainingError/nonFiniteLoss(epoch:step:loss:)`` or
  ///   ``TrainingError/nonFiniteGradient(epoch:step:parameter:)``, leaving ``model``'s
  ///   parameters as they were before that step; ``TrainingError/noBatches(sampleCount:batchSize:)``;
  ///   the network's errors (shapes, labels, a one-sample batch in batch normalization).
  public mutating func trainEpoch(
    on data: LabeledSamples<Scalar>,
    observer: (_ layerIndex: Int, _ input: Tensor<Scalar>) -> Void = { _, _ in },
    onStep: (StepReport<Scalar>) -> Void = { _ in },
    onMetrics: (TrainingMetrics) -> Void = { _ in },
    stopWhen: () -> Bool = { false }
  ) throws {
    try beginEpochIfNeeded(sampleCount: data.count)
    let clock = ContinuousClock()
    var window = (start: clock.now, examples: 0, loss: 0.0, correct: 0, steps: 0)
    while let cursor = epochCursor {
      let positions = cursor.batches[cursor.next]
      let rate = optimizer.learningRate
      let (loss, logits, correct, stop) = try step(cursor.order[positions], of: data, observer: observer, stopWhen: stopWhen)
      let isLast = advanceEpochCursor()
      onStep(
        StepReport(
          epoch: isLast ? epochCount - 1 : epochCount, step: stepCount - 1, batchSize: positions.count, loss: loss,
          accuracy: Double(correct) / Double(positions.count), learningRate: rate, logits: logits, model: model))
      window.examples += positions.count
      window.loss += loss * Double(positions.count)
      window.correct += correct
      window.steps += 1
      if window.steps == configuration.metricsInterval || isLast || stop {
        let seconds = Double((clock.now - window.start) / .milliseconds(1)) / 1000
        onMetrics(
          TrainingMetrics(
            epoch: isLast ? epochCount - 1 : epochCount, step: stepCount - 1, examples: window.examples,
            loss: window.loss / Double(window.examples), accuracy: Double(window.correct) / Double(window.examples),
            examplesPerSecond: Double(window.examples) / max(seconds, 1e-9), learningRate: rate))
        window = (clock.now, 0, 0, 0, 0)
      }
      if stop { throw TrainingError.interrupted(epochCount: epochCount, stepCount: stepCount) }
    }
  }

  /// `steps` steps, continuing the epoch in progress where the previous call stopped
  /// (a new epoch reshuffles), so experiments can count steps instead of epochs. Use
  /// either this or ``trainEpoch(on:observer:onStep:onMetrics:stopWhen:)`` on one trainer.
  /// - Throws: as ``trainEpoch(on:observer:onStep:onMetrics:stopWhen:)``.
  public mutating func train(
    steps: Int, on data: LabeledSamples<Scalar>,
    observer: (_ layerIndex: Int, _ input: Tensor<Scalar>) -> Void = { _, _ in },
    onStep: (StepReport<Scalar>) -> Void = { _ in }
  ) throws {
    for _ in 0..<steps {
      try beginEpochIfNeeded(sampleCount: data.count)
      let cursor = epochCursor!
      let positions = cursor.batches[cursor.next]
      let rate = optimizer.learningRate
      let (loss, logits, correct, _) = try step(cursor.order[positions], of: data, observer: observer, stopWhen: { false })
      advanceEpochCursor()
      onStep(
        StepReport(
          epoch: epochCount, step: stepCount - 1, batchSize: positions.count, loss: loss,
          accuracy: Double(correct) / Double(positions.count), learningRate: rate, logits: logits, model: model))
    }
  }

  /// Shuffles and cuts a new epoch unless one is in progress; a restored state's
  /// position within its epoch applies here, to the same shuffle.
  private mutating func beginEpochIfNeeded(sampleCount: Int) throws {
    guard epochCursor == nil else { return }
    let batches = configuration.lastBatch.batches(sampleCount: sampleCount, batchSize: configuration.batchSize)
    guard !batches.isEmpty else {
      throw TrainingError.noBatches(sampleCount: sampleCount, batchSize: configuration.batchSize)
    }
    let next = resumedBatchIndex ?? 0
    guard next < batches.count else {
      throw TrainingError.cannotResume(
        "the saved state is at batch \(next + 1) of its epoch, but \(sampleCount) samples in batches of \(configuration.batchSize) give \(batches.count)")
    }
    let shuffleState = generator.state
    epochCursor = (Array(0..<sampleCount).shuffled(using: &generator), batches, next, shuffleState)
    resumedBatchIndex = nil
  }

  /// Moves to the next batch; at the end of the epoch, counts it and returns true.
  @discardableResult
  private mutating func advanceEpochCursor() -> Bool {
    guard let cursor = epochCursor, cursor.next + 1 < cursor.batches.count else {
      epochCursor = nil
      epochCount += 1
      return true
    }
    epochCursor!.next += 1
    return false
  }

  /// One step on the batch of `data` at `indices`: the batch's mean loss, this
  /// process's logits and how many of the batch were right, before the update. With data
  /// parallelism this process computes its shard and the gradients, loss and count are
  /// summed over the processes.
  private mutating func step(
    _ indices: ArraySlice<Int>, of data: LabeledSamples<Scalar>, observer: (Int, Tensor<Scalar>) -> Void,
    stopWhen: () -> Bool
  ) throws -> (loss: Double, logits: Tensor<Scalar>, correct: Int, stop: Bool) {
    model.prepareForTrainingStep(stepCount, training: configuration)
    let shard = dataParallelism?.shard(ofBatch: indices.count) ?? 0..<indices.count
    model.zeroGradients()
    var loss = 0.0
    var correct = 0
    var logits = Tensor<Scalar>(zeros: [0])
    if shard.isEmpty {
      try model.forwardWithoutSamples(sampleShape: data.sampleShape)
      try model.backwardWithoutSamples()
    } else {
      let (input, labels) = data.gather(indices[indices.startIndex + shard.lowerBound..<indices.startIndex + shard.upperBound])
      logits = try model.forward(input, mode: .training, observer: observer)
      let (shardLoss, gradLogits) = try self.loss.evaluate(
        logits: logits, labels: labels, averagedOver: dataParallelism == nil ? nil : indices.count)
      loss = Double(shardLoss)
      correct = zip(predictedClasses(logits: logits), labels).count { $0 == $1 }
      if dataParallelism == nil {
        guard loss.isFinite else { throw TrainingError.nonFiniteLoss(epoch: epochCount, step: stepCount, loss: loss) }
      }
      try model.accumulateParameterGradients(gradLogits)
    }
    var stop = stopWhen()
    if let dataParallelism {
      (loss, correct, stop) = try sumOverProcesses(loss: loss, correct: correct, stop: stop, dataParallelism)
    }
    guard loss.isFinite else { throw TrainingError.nonFiniteLoss(epoch: epochCount, step: stepCount, loss: loss) }
    if let index = model.gradients.firstIndex(where: { !allFinite($0.scalars) }) {
      throw TrainingError.nonFiniteGradient(epoch: epochCount, step: stepCount, parameter: model.parameterNames[index])
    }
    optimizer.step(&model)
    stepCount += 1
    return (loss, logits, correct, stop)
  }

  /// Sums every gradient, the loss, the correct count and the stop requests over the
  /// processes in one all-reduce; with per-process statistics everyone also takes rank
  /// 0's running statistics (see ``Sequential/sumGradients(over:takingRankZeroBuffers:alongWith:)``).
  private mutating func sumOverProcesses(
    loss: Double, correct: Int, stop: Bool, _ parallelism: DataParallelism
  ) throws -> (loss: Double, correct: Int, stop: Bool) {
    let totals = try model.sumGradients(
      over: parallelism.group, takingRankZeroBuffers: !parallelism.synchronizesBatchNormalization,
      alongWith: [loss, Double(correct), stop ? 1 : 0])
    return (totals[0], Int(totals[1]), totals[2] > 0)
  }

  /// Checks that every process of ``dataParallelism`` holds the same parameters and
  /// running statistics, bit for bit (a hash of each, all-gathered); does nothing
  /// without data parallelism.
  /// - Throws: ``TrainingError/replicasDiverged(ranks:)`` on every process, naming the
  ///   ranks that differ from rank 0.
  public func checkReplicasAgree() throws {
    guard let group = dataParallelism?.group else { return }
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a, 64 bits
    // Widening to Double is exact, so equal bits in Double mean equal bits in Scalar.
    for tensor in model.parameters + model.buffers {
      for value in tensor.scalars {
        hash = (hash ^ Double(value).bitPattern) &* 0x100_0000_01b3
      }
    }
    // Two 32-bit halves: each is exact in a Double.
    let hashes = try group.allGather([Double(hash >> 32), Double(hash & 0xffff_ffff)])
    let diverged = hashes.indices.filter { hashes[$0] != hashes[0] }
    guard diverged.isEmpty else { throw TrainingError.replicasDiverged(ranks: diverged) }
  }

  /// The loss and confusion matrix of `data` in inference mode, in batches of
  /// ``TrainingConfiguration/evaluationBatchSize``, on a copy of the network: nothing
  /// about the trainer changes (see ``Sequential/evaluate(_:batchSize:classCount:)``).
  /// With data parallelism each process evaluates a shard and the counts are summed.
  public func evaluate(_ data: LabeledSamples<Scalar>, classCount: Int? = nil) throws -> Evaluation {
    if let group = dataParallelism?.group {
      return try model.evaluate(data, batchSize: configuration.evaluationBatchSize, classCount: classCount, sharedBy: group)
    }
    return try model.evaluate(data, batchSize: configuration.evaluationBatchSize, classCount: classCount)
  }
}
