import BatchNormalization

/// Mini-batch training of a classifier with softmax cross-entropy.
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
/// batches under ``TrainingConfiguration/lastBatch``. A step is: gather the batch,
/// forward in ``ExecutionMode/training``, loss, check that loss and gradients are
/// finite, backward, optimizer update. Steps run the network in
/// ``ExecutionMode/training``; ``evaluate(_:classCount:)`` runs a copy of it in
/// ``ExecutionMode/inference``.
public struct Trainer<Scalar: NetworkScalar> {
  /// The network being trained.
  public var model: Sequential<Scalar>
  /// Updates ``model`` after each backward pass.
  public var optimizer: any Optimizer<Scalar>
  public var configuration: TrainingConfiguration
  /// The steps taken so far.
  public private(set) var stepCount = 0
  /// The epochs completed so far.
  public private(set) var epochCount = 0
  /// Draws the shuffles.
  private var generator: SeededGenerator
  /// Whether some layer uses Batch Renormalization, whose limits follow the schedule.
  private let renormalizes: Bool
  /// The epoch in progress of ``train(steps:on:observer:onStep:)``: its shuffled order,
  /// its batches and the next batch.
  private var epochCursor: (order: [Int], batches: [Range<Int>], next: Int)?

  public init(model: Sequential<Scalar>, optimizer: any Optimizer<Scalar>, configuration: TrainingConfiguration) {
    self.model = model
    self.optimizer = optimizer
    self.configuration = configuration
    self.generator = SeededGenerator(seed: configuration.seed)
    var renormalizes = false
    var probe = model
    probe.updateLayers(ofType: BatchNormLayer<Scalar>.self) { renormalizes = renormalizes || $0.configuration.renormalization != nil }
    self.renormalizes = renormalizes
  }

  /// One pass over `data` in shuffled mini-batches.
  ///
  /// - Parameters:
  ///   - observer: called with each layer's index and input during every training
  ///     forward pass (see ``Sequential/forward(_:mode:observer:)``).
  ///   - onStep: called after every step.
  ///   - onMetrics: called every ``TrainingConfiguration/metricsInterval`` steps and
  ///     after the last step of the epoch.
  /// - Throws: ``TrainingError/nonFiniteLoss(epoch:step:loss:)`` or
  ///   ``TrainingError/nonFiniteGradient(epoch:step:parameter:)``, leaving ``model``'s
  ///   parameters as they were before that step; ``TrainingError/noBatches(sampleCount:batchSize:)``;
  ///   the network's errors (shapes, labels, a one-sample batch in batch normalization).
  public mutating func trainEpoch(
    on data: LabeledSamples<Scalar>,
    observer: (_ layerIndex: Int, _ input: Tensor<Scalar>) -> Void = { _, _ in },
    onStep: (StepReport<Scalar>) -> Void = { _ in },
    onMetrics: (TrainingMetrics) -> Void = { _ in }
  ) throws {
    let batches = configuration.lastBatch.batches(sampleCount: data.count, batchSize: configuration.batchSize)
    guard !batches.isEmpty else { throw TrainingError.noBatches(sampleCount: data.count, batchSize: configuration.batchSize) }
    let order = Array(0..<data.count).shuffled(using: &generator)
    let clock = ContinuousClock()
    var window = (start: clock.now, examples: 0, loss: 0.0, correct: 0, steps: 0)
    for (batchIndex, positions) in batches.enumerated() {
      let (input, labels) = data.gather(order[positions])
      let rate = optimizer.learningRate
      let (loss, logits, correct) = try step(input, labels: labels, observer: observer)
      onStep(
        StepReport(
          epoch: epochCount, step: stepCount - 1, batchSize: labels.count, loss: loss,
          accuracy: Double(correct) / Double(labels.count), learningRate: rate, logits: logits, model: model))
      window.examples += labels.count
      window.loss += loss * Double(labels.count)
      window.correct += correct
      window.steps += 1
      if window.steps == configuration.metricsInterval || batchIndex == batches.count - 1 {
        let seconds = Double((clock.now - window.start) / .milliseconds(1)) / 1000
        onMetrics(
          TrainingMetrics(
            epoch: epochCount, step: stepCount - 1, examples: window.examples,
            loss: window.loss / Double(window.examples), accuracy: Double(window.correct) / Double(window.examples),
            examplesPerSecond: Double(window.examples) / max(seconds, 1e-9), learningRate: rate))
        window = (clock.now, 0, 0, 0, 0)
      }
    }
    epochCount += 1
  }

  /// `steps` steps, continuing the epoch in progress where the previous call stopped
  /// (a new epoch reshuffles), so experiments can count steps instead of epochs. Use
  /// either this or ``trainEpoch(on:observer:onStep:onMetrics:)`` on one trainer.
  /// - Throws: as ``trainEpoch(on:observer:onStep:onMetrics:)``.
  public mutating func train(
    steps: Int, on data: LabeledSamples<Scalar>,
    observer: (_ layerIndex: Int, _ input: Tensor<Scalar>) -> Void = { _, _ in },
    onStep: (StepReport<Scalar>) -> Void = { _ in }
  ) throws {
    for _ in 0..<steps {
      if epochCursor == nil {
        let batches = configuration.lastBatch.batches(sampleCount: data.count, batchSize: configuration.batchSize)
        guard !batches.isEmpty else {
          throw TrainingError.noBatches(sampleCount: data.count, batchSize: configuration.batchSize)
        }
        epochCursor = (Array(0..<data.count).shuffled(using: &generator), batches, 0)
      }
      let cursor = epochCursor!
      let (input, labels) = data.gather(cursor.order[cursor.batches[cursor.next]])
      let rate = optimizer.learningRate
      let (loss, logits, correct) = try step(input, labels: labels, observer: observer)
      if cursor.next + 1 == cursor.batches.count {
        epochCursor = nil
        epochCount += 1
      } else {
        epochCursor!.next += 1
      }
      onStep(
        StepReport(
          epoch: epochCount, step: stepCount - 1, batchSize: labels.count, loss: loss,
          accuracy: Double(correct) / Double(labels.count), learningRate: rate, logits: logits, model: model))
    }
  }

  /// One step on one batch: the loss, the logits and how many were right, before the update.
  private mutating func step(
    _ input: Tensor<Scalar>, labels: [Int], observer: (Int, Tensor<Scalar>) -> Void
  ) throws -> (loss: Double, logits: Tensor<Scalar>, correct: Int) {
    if renormalizes {
      let limits = configuration.renormalizationSchedule.limits(atStep: stepCount)
      model.updateLayers(ofType: BatchNormLayer<Scalar>.self) { layer in
        if layer.configuration.renormalization != nil { layer.configuration.renormalization = limits }
      }
    }
    let logits = try model.forward(input, mode: .training, observer: observer)
    let (loss, gradLogits) = try SoftmaxCrossEntropy().evaluate(logits: logits, labels: labels)
    guard loss.isFinite else {
      throw TrainingError.nonFiniteLoss(epoch: epochCount, step: stepCount, loss: Double(loss))
    }
    model.zeroGradients()
    try model.accumulateParameterGradients(gradLogits)
    if let index = model.gradients.firstIndex(where: { !$0.scalars.allFinite }) {
      throw TrainingError.nonFiniteGradient(epoch: epochCount, step: stepCount, parameter: model.parameterNames[index])
    }
    optimizer.step(&model)
    stepCount += 1
    let correct = zip(predictedClasses(logits: logits), labels).count { $0 == $1 }
    return (Double(loss), logits, correct)
  }

  /// The loss and confusion matrix of `data` in inference mode, in batches of
  /// ``TrainingConfiguration/evaluationBatchSize``, on a copy of the network: nothing
  /// about the trainer changes (see ``Sequential/evaluate(_:batchSize:classCount:)``).
  public func evaluate(_ data: LabeledSamples<Scalar>, classCount: Int? = nil) throws -> Evaluation {
    try model.evaluate(data, batchSize: configuration.evaluationBatchSize, classCount: classCount)
  }
}

extension Array where Element: BinaryFloatingPoint {
  /// Whether no element is NaN or ±∞.
  fileprivate var allFinite: Bool {
    withUnsafeBufferPointer { buffer in
      for value in buffer where !value.isFinite { return false }
      return true
    }
  }
}
