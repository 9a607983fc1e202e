/// The predicted class of each row of `logits` [N, classes]: the index of its largest
/// value (the first on ties; a NaN row predicts its first NaN).
/// - Precondition: `logits` has rank 2 and at least one class.
public func predictedClasses<Scalar: NetworkScalar>(logits: Tensor<Scalar>) -> [Int] {
  precondition(logits.shape.count == 2 && logits.shape[1] > 0, "logits must be [N, classes], got \(logits.shape)")
  let classCount = logits.shape[1]
  return (0..<logits.shape[0]).map { sample in
    let row = logits.scalars[sample * classCount..<(sample + 1) * classCount]
    var best = row.startIndex
    for index in row.indices where row[index] > row[best] || (row[index].isNaN && !row[best].isNaN) {
      best = index
    }
    return best - row.startIndex
  }
}

/// The fraction of rows of `logits` [N, classes] whose largest value is at the label.
/// - Throws: ``NetworkError/shapeMismatch(layer:expected:actual:)`` or
///   ``NetworkError/invalidLabel(sample:label:classCount:)``.
public func accuracy<Scalar: NetworkScalar>(logits: Tensor<Scalar>, labels: [Int]) throws -> Double {
  _ = try checkLogits(logits, labels: labels, user: "accuracy")
  let correct = zip(predictedClasses(logits: logits), labels).count { $0 == $1 }
  return Double(correct) / Double(labels.count)
}
