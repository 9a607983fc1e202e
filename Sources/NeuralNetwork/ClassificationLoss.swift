/// A loss on a batch of logits and class labels, and its gradient with respect to the
/// logits: what ``Trainer`` minimizes (``SoftmaxCrossEntropy`` by default).
public protocol ClassificationLoss: Sendable {
  /// The batch's loss and ∂loss/∂logits.
  /// - Parameters:
  ///   - logits: [N, classes].
  ///   - labels: N labels in 0..<classes.
  ///   - batchSize: the count to average over instead of N (nil: N). In data-parallel
  ///     training it is the whole batch's, so that the processes' losses and gradients
  ///     add up to the whole batch's.
  func evaluate<Scalar: NetworkScalar>(
    logits: Tensor<Scalar>, labels: [Int], averagedOver batchSize: Int?
  ) throws -> (loss: Scalar, gradient: Tensor<Scalar>)
}

extension SoftmaxCrossEntropy: ClassificationLoss {}
