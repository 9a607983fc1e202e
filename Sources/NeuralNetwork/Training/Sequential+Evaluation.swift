import BatchNormalization

extension Sequential {
  /// The mean softmax cross-entropy and the confusion matrix of `data`, in
  /// ``ExecutionMode/inference`` (running statistics, no dropout), `batchSize` samples
  /// at a time. Runs on a copy: the network keeps nothing of it.
  /// - Parameters:
  ///   - data: the samples and their labels.
  ///   - batchSize: samples per forward pass.
  ///   - classCount: the confusion matrix's size; by default the network's output count.
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

  /// ``evaluate(_:batchSize:classCount:)`` shared by the processes of `group`: each
  /// evaluates a contiguous shard of `data` (as ``DataParallelism/shard(ofBatch:)``
  /// cuts a batch) and the losses and confusion counts are summed over the processes, so
  /// every process gets the whole set's evaluation: the same counts, and so the same
  /// accuracy, as one process.
  public func evaluate(
    _ data: LabeledSamples<Scalar>, batchSize: Int = 1000, classCount: Int? = nil, sharedBy group: any BatchNormProcessGroup
  ) throws -> Evaluation {
    let shard = DataParallelism(group: group, synchronizesBatchNormalization: false).shard(ofBatch: data.count)
    let (samples, labels) = data.gather(shard)
    let local = try evaluate(LabeledSamples(samples: samples, labels: labels), batchSize: batchSize, classCount: classCount)
    let totals = try group.allReduceSum(
      [local.loss * Double(shard.count)] + local.confusionMatrix.counts.map { Double($0) })
    var matrix = local.confusionMatrix
    matrix.replaceCounts(totals.dropFirst().map { Int($0) })
    return Evaluation(loss: totals[0] / Double(max(data.count, 1)), confusionMatrix: matrix)
  }
}
