/// The softmax cross-entropy of logits against class labels, averaged over the batch,
/// as `torch.nn.CrossEntropyLoss()`:
/// ```
/// loss = 1/N · Σ_n ( log Σ_j exp z[n, j] − z[n, label_n] )
/// ∂loss/∂z[n, j] = (softmax(z[n])_j − [j = label_n]) / N,   softmax(z)_j = exp z_j / Σ_i exp z_i
/// ```
/// Each row is shifted by its maximum m before exponentiating (log Σ exp z = m +
/// log Σ exp(z − m)), so logits of any size give finite results.
public struct SoftmaxCrossEntropy: Hashable, Sendable {
  /// The loss.
  public init() {}

  /// The mean loss over the batch and its gradient with respect to `logits`.
  /// - Parameters:
  ///   - logits: [N, classes].
  ///   - labels: N labels in 0..<classes.
  ///   - batchSize: the count to average over instead of N: in data-parallel training,
  ///     the whole batch's, so that each process's loss and gradient are its shard's
  ///     share of the whole batch's mean and add up to it over the processes.
  /// - Throws: ``NetworkError/shapeMismatch(layer:expected:actual:)`` when `logits` is
  ///   not [labels.count, classes], ``NetworkError/invalidLabel(sample:label:classCount:)``.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func evaluate<Scalar: NetworkScalar>(
    logits: Tensor<Scalar>, labels: [Int], averagedOver batchSize: Int? = nil
  ) throws -> (loss: Scalar, gradient: Tensor<Scalar>) {
    let classCount = try checkLogits(logits, labels: labels, user: "softmax cross-entropy")
    precondition(batchSize.map { $0 >= labels.count } ?? true, "the batch averaged over holds these \(labels.count) samples")
    let batch = batchSize ?? labels.count
    var gradient = [Scalar](repeating: 0, count: logits.scalars.count)
    var total = 0.0
    let inverseBatch = 1 / Scalar(batch)
    let logits = logits.scalars
    for (sample, label) in labels.enumerated() {
      let start = sample * classCount
      let row = logits[start..<start + classCount]
      let maximum = row.max()!
      var sum: Scalar = 0
      for column in 0..<classCount {
        let shifted = Scalar.exponential(row[start + column] - maximum)
        gradient[start + column] = shifted
        sum += shifted
      }
      // −log softmax_label = (m − z_label) + log Σ exp(z − m), in that order for precision.
      total += Double((maximum - row[start + label]) + Scalar.logarithm(sum))
      let scale = inverseBatch / sum
      for column in 0..<classCount { gradient[start + column] *= scale }
      gradient[start + label] -= inverseBatch
    }
    return (Scalar(total / Double(batch)), Tensor(shape: [labels.count, classCount], scalars: gradient))
  }
}

/// Checks logits [labels.count, classes] and labels in 0..<classes; returns classes.
func checkLogits<Scalar>(_ logits: Tensor<Scalar>, labels: [Int], user: String) throws -> Int {
  guard logits.shape.count == 2, logits.shape[0] == labels.count, labels.count > 0, logits.shape[1] > 0 else {
    throw NetworkError.shapeMismatch(layer: user, expected: "logits [\(labels.count), classes] for \(labels.count) labels", actual: logits.shape)
  }
  let classCount = logits.shape[1]
  if let sample = labels.firstIndex(where: { !(0..<classCount).contains($0) }) {
    throw NetworkError.invalidLabel(sample: sample, label: labels[sample], classCount: classCount)
  }
  return classCount
}
