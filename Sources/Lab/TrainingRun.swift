import NeuralNetwork

/// A training run recorded for a figure: test accuracy and training loss at regular
/// steps, and whether the run diverged (a non-finite loss or gradient, after which its
/// points are NaN so the plotted line stops there).
public struct TrainingRun: Sendable {
  /// The steps at which the run was measured (after that many steps).
  public var steps: [Int] = []
  /// Accuracy on the evaluation set at each of ``steps``.
  public var testAccuracy: [Double] = []
  /// Mean training loss over the steps since the previous measurement.
  public var trainingLoss: [Double] = []
  /// Whether training stopped on a non-finite loss or gradient.
  public var diverged = false
  /// The network at the end (or before the step that diverged).
  public var model: Sequential<Float>

  /// The last finite test accuracy, or NaN.
  public var finalTestAccuracy: Double { testAccuracy.last(where: { $0.isFinite }) ?? .nan }

  /// The first recorded step at which test accuracy reached `target`, if any.
  public func stepsToReach(_ target: Double) -> Int? {
    zip(steps, testAccuracy).first { $0.1 >= target }?.0
  }

  /// Trains `network` for `steps` steps on `train`, measuring on `evaluation` every
  /// `evaluateEvery` steps (and at step 0). `observe` sees every training step (for
  /// example to record layer inputs through `trainer.model`); it runs after the step.
  public static func record(
    network: Sequential<Float>, optimizer: any Optimizer<Float>, batchSize: Int, seed: UInt64,
    train: LabeledSamples<Float>, evaluation: LabeledSamples<Float>, steps: Int, evaluateEvery: Int,
    observer: (_ layerIndex: Int, _ input: Tensor<Float>) -> Void = { _, _ in },
    onStep: (StepReport<Float>) -> Void = { _ in }
  ) throws -> TrainingRun {
    var trainer = Trainer(
      model: network, optimizer: optimizer, configuration: TrainingConfiguration(batchSize: batchSize, seed: seed))
    var run = TrainingRun(model: network)
    run.steps.append(0)
    run.testAccuracy.append(try trainer.evaluate(evaluation).accuracy)
    run.trainingLoss.append(.nan)
    var lossSum = 0.0
    var lossCount = 0
    while trainer.stepCount < steps {
      let chunk = min(evaluateEvery, steps - trainer.stepCount)
      do {
        try trainer.train(steps: chunk, on: train, observer: observer) { report in
          lossSum += report.loss
          lossCount += 1
          onStep(report)
        }
      } catch is TrainingError {
        run.diverged = true
        run.model = trainer.model
        for step in stride(from: trainer.stepCount + evaluateEvery, through: steps, by: evaluateEvery) {
          run.steps.append(step)
          run.testAccuracy.append(.nan)
          run.trainingLoss.append(.nan)
        }
        return run
      }
      run.steps.append(trainer.stepCount)
      run.testAccuracy.append(try trainer.evaluate(evaluation).accuracy)
      run.trainingLoss.append(lossCount > 0 ? lossSum / Double(lossCount) : .nan)
      lossSum = 0
      lossCount = 0
    }
    run.model = trainer.model
    return run
  }
}
