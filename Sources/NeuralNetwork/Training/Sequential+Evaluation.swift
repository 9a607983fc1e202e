extension Sequential {
  /// The mean softmax cross-entropy and the confusion matrix of `data`, in
  /// ``ExecutionMode/inference`` (running statistics, no dropout), `batchSize` samples
  /// at a time. Runs on a copy: the network keeps nothing of it.
  /// - Parameter classCount: the confusion matrix's size; by default the network's
  ///   output count.
  /// - Throws: the network's shape errors, ``NetworkError/invalidLabel(sample:label:classCount:)``.
  public func evaluate(_ data: LabeledSamples<Scalar>, batchSize: Int = 1000, classCount: Int? = nil) throws -> Evaluation {
    precondition(batchSize >= 1, "the batch size must be ≥ 1")
    var network = self
    let outputs = try network.outputShape(forInputShape: [1] + data.sampleShape)
    var matrix = ConfusionMatrix(classCount: classCount ?? outputs.reduce(1, *))
    var totalLoss = 0.0
    for start in stride(from: 0, to: data.count, by: batchSize) {
      let (input, labels) = data.gather(start..<min(start + batchSize, data.count))
      let logits = try network.forward(input, mode: .inference)
      totalLoss += Double(try SoftmaxCrossEntropy().evaluate(logits: logits, labels: labels).loss) * Double(labels.count)
      try matrix.record(logits: logits, labels: labels)
    }
    return Evaluation(loss: totalLoss / Double(max(data.count, 1)), confusionMatrix: matrix)
  }
}
