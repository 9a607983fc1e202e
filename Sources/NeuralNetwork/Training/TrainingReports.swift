/// What one training step did, given to the per-step callback after the update.
public struct StepReport<Scalar: NetworkScalar> {
  /// The epoch, from 0.
  public let epoch: Int
  /// The step over the whole run, from 0.
  public let step: Int
  /// The samples in the batch.
  public let batchSize: Int
  /// The batch's mean softmax cross-entropy, before the update.
  public let loss: Double
  /// The fraction of the batch classified correctly, before the update.
  public let accuracy: Double
  /// η of this step.
  public let learningRate: Double
  /// The logits of the batch, [batchSize, classes].
  public let logits: Tensor<Scalar>
  /// The network after the update (a value: keeping it copies the parameters at the
  /// next update, so keep what you need instead).
  public let model: Sequential<Scalar>
}

/// Training metrics over the steps since the last report.
public struct TrainingMetrics: Hashable, Sendable {
  /// The epoch, from 0.
  public let epoch: Int
  /// The last step covered, from 0.
  public let step: Int
  /// The samples covered.
  public let examples: Int
  /// Their mean loss (each sample weighs the same).
  public let loss: Double
  /// The fraction of them classified correctly, before each step's update.
  public let accuracy: Double
  /// Samples trained on per second of wall time, callbacks included.
  public let examplesPerSecond: Double
  /// η of the last step.
  public let learningRate: Double
}

/// A data set's loss and confusion matrix under the network in inference mode.
public struct Evaluation: Sendable {
  /// The mean softmax cross-entropy.
  public let loss: Double
  /// Rows: true class; columns: predicted class.
  public let confusionMatrix: ConfusionMatrix
  /// The fraction classified correctly.
  public var accuracy: Double { confusionMatrix.accuracy }
}
