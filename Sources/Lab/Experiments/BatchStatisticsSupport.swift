import BatchNormalization
import Foundation
import NeuralNetwork

/// What the experiments on batch statistics (small-batch, bessel, regularization) share:
/// a training loop over explicit batch plans (i.i.d. or a few classes per batch), running
/// statistics kept under several policies from one training run, and the ways to evaluate
/// one set of trained weights (running, recalibrated or batch statistics).
enum BatchStatisticsSupport {
  /// How the batches of an epoch are drawn.
  enum Sampler: Sendable, Equatable {
    /// A shuffle of the samples cut into batches of `batchSize`; the rest is left out
    /// (a new shuffle each epoch, so every sample is seen).
    case iid(batchSize: Int)
    /// Non-i.i.d. batches: each holds `batchSize / classesPerBatch` samples of each of
    /// `classesPerBatch` classes drawn at random, as in the Batch Renormalization paper's
    /// "16 labels × 2 examples" setting; an epoch ends when fewer than
    /// `classesPerBatch` classes have enough samples left.
    case classGrouped(batchSize: Int, classesPerBatch: Int)

    var batchSize: Int {
      switch self {
      case .iid(let batchSize), .classGrouped(let batchSize, _): return batchSize
      }
    }

    /// The batches of one epoch over samples with `labels`.
    func epoch(labels: [Int], using generator: inout SeededGenerator) -> [[Int]] {
      switch self {
      case .iid(let batchSize):
        let order = Array(labels.indices).shuffled(using: &generator)
        return stride(from: 0, to: order.count - order.count % batchSize, by: batchSize).map {
          Array(order[$0..<($0 + batchSize)])
        }
      case .classGrouped(let batchSize, let classesPerBatch):
        precondition(batchSize % classesPerBatch == 0, "the batch must split evenly over its classes")
        let perClass = batchSize / classesPerBatch
        let classCount = (labels.max() ?? 0) + 1
        var pools = [[Int]](repeating: [], count: classCount)
        for (index, label) in labels.enumerated() { pools[label].append(index) }
        for label in pools.indices { pools[label].shuffle(using: &generator) }
        var batches: [[Int]] = []
        while true {
          let candidates = pools.indices.filter { pools[$0].count >= perClass }
          guard candidates.count >= classesPerBatch else { break }
          var batch: [Int] = []
          for label in candidates.shuffled(using: &generator).prefix(classesPerBatch) {
            batch += pools[label].suffix(perClass)
            pools[label].removeLast(perClass)
          }
          batches.append(batch)
        }
        return batches
      }
    }
  }

  /// The samples at `indices` as one batch [count, …sampleShape], and their labels.
  static func batch(_ data: LabeledSamples<Float>, _ indices: [Int]) -> (Tensor<Float>, [Int]) {
    data.gather(indices)
  }

  /// The first `count` samples in a fixed shuffled order: a class-balanced subset of a
  /// data set whose stored order might not be (the same seed gives the same subset).
  static func shuffledPrefix(_ data: LabeledSamples<Float>, count: Int, seed: UInt64) throws -> LabeledSamples<Float> {
    var generator = SeededGenerator(seed: seed)
    let indices = Array(Array(data.labels.indices).shuffled(using: &generator).prefix(count))
    let (samples, labels) = batch(data, indices)
    return try LabeledSamples(samples: samples, labels: labels)
  }

  /// What a training run ended with.
  struct Outcome {
    var model: Sequential<Float>
    var steps: Int
    /// Whether a step had a non-finite loss or gradient (training stopped before it).
    var diverged: Bool
    /// The mean training loss over the last tenth of the steps.
    var finalLoss: Double
  }

  /// Trains `model` with SGD for `steps` steps on batches from `sampler`, the epochs
  /// shuffled by `seed`. Batch Renormalization layers get their limits from
  /// `renormalization` each step. `observer` sees each layer's input in every training
  /// forward pass (for ``RunningStatisticsCopies``).
  static func train(
    _ model: Sequential<Float>, optimizer: SGD<Float>, data: LabeledSamples<Float>, sampler: Sampler, steps: Int,
    seed: UInt64, renormalization: RenormalizationSchedule? = nil,
    observer: (_ layerIndex: Int, _ input: Tensor<Float>) -> Void = { _, _ in }
  ) throws -> Outcome {
    var model = model
    var optimizer = optimizer
    var generator = SeededGenerator(seed: seed)
    var queue: [[Int]] = []
    var next = 0
    var losses: [Double] = []
    losses.reserveCapacity(steps)
    for step in 0..<steps {
      if next == queue.count {
        queue = sampler.epoch(labels: data.labels, using: &generator)
        next = 0
        precondition(!queue.isEmpty, "\(data.count) samples give no batch under \(sampler)")
      }
      let (input, labels) = batch(data, queue[next])
      next += 1
      if let renormalization {
        let limits = renormalization.limits(atStep: step)
        model.updateLayers(ofType: BatchNormLayer<Float>.self) { layer in
          if layer.configuration.renormalization != nil { layer.configuration.renormalization = limits }
        }
      }
      let logits = try model.forward(input, mode: .training, observer: observer)
      let (loss, gradient) = try SoftmaxCrossEntropy().evaluate(logits: logits, labels: labels)
      guard loss.isFinite else { return Outcome(model: model, steps: step, diverged: true, finalLoss: .nan) }
      model.zeroGradients()
      _ = try model.backward(gradient)
      guard model.gradients.allSatisfy({ $0.scalars.allSatisfy(\.isFinite) }) else {
        return Outcome(model: model, steps: step, diverged: true, finalLoss: .nan)
      }
      optimizer.step(&model)
      losses.append(Double(loss))
    }
    let tail = losses.suffix(max(1, steps / 10))
    return Outcome(model: model, steps: steps, diverged: false, finalLoss: tail.reduce(0, +) / Double(tail.count))
  }

  /// `model` with its batch-normalization layers' running statistics replaced by the
  /// paper's Algorithm 2: the exact average over `batchCount` training batches from
  /// `sampler` (weights frozen) of the batch means and of the batch variances under each
  /// layer's estimator (m/(m − 1) times the biased ones unless `bn:biased`).
  static func recalibrated(
    _ model: Sequential<Float>, data: LabeledSamples<Float>, sampler: Sampler, batchCount: Int, seed: UInt64
  ) throws -> Sequential<Float> {
    var model = model
    var generator = SeededGenerator(seed: seed)
    model.beginRecalibration()
    var done = 0
    while done < batchCount {
      for indices in sampler.epoch(labels: data.labels, using: &generator) where done < batchCount {
        _ = try model.forward(batch(data, indices).0, mode: .recalibration)
        done += 1
      }
    }
    return model
  }

  /// `model` normalizing with the statistics of each evaluation batch (and leaving its
  /// running statistics alone): "batch statistics at test time".
  static func usingBatchStatistics(_ model: Sequential<Float>) -> Sequential<Float> {
    var model = model
    model.updateLayers(ofType: BatchNormLayer<Float>.self) { $0.modeOverride = .batchStatistics }
    return model
  }

  /// `model` with every batch-normalization layer's configuration changed by `change`.
  static func configured(
    _ model: Sequential<Float>, _ change: (inout BatchNormConfiguration) -> Void
  ) -> Sequential<Float> {
    var model = model
    model.updateLayers(ofType: BatchNormLayer<Float>.self) { layer in
      var configuration = layer.configuration
      change(&configuration)
      layer.configuration = configuration
    }
    return model
  }

  /// The mean and the smallest and largest of `values` (the spread over seeds).
  static func spread(_ values: [Double]) -> (mean: Double, low: Double, high: Double) {
    guard !values.isEmpty else { return (.nan, .nan, .nan) }
    return (values.reduce(0, +) / Double(values.count), values.min()!, values.max()!)
  }

}

/// Running statistics kept under several policies (momentum, cumulative average, biased
/// or unbiased variance) from ONE training run.
///
/// In training, a batch-normalization layer normalizes with its batch's statistics; its
/// running statistics never enter the forward or backward pass. So the weights of runs
/// that differ only in the running-statistics policy are identical, and feeding each
/// layer's training inputs to copies of it configured with other policies gives exactly
/// the running statistics those runs would have ended with. (Not for Batch
/// Renormalization, whose training pass reads its running statistics.)
struct RunningStatisticsCopies {
  /// The positions of the batch-normalization layers in the network.
  let layerIndices: [Int]
  /// [policy][layer]: the copies that track the statistics.
  private(set) var copies: [[BatchNormLayer<Float>]]
  /// Forward calls of a copy that threw (none expected).
  private(set) var failures = 0

  /// Copies of every batch-normalization layer of `model` (fresh running statistics), one
  /// set per configuration change in `policies`.
  init(model: Sequential<Float>, policies: [(inout BatchNormConfiguration) -> Void]) {
    var indices: [Int] = []
    var layers: [BatchNormLayer<Float>] = []
    for (index, layer) in model.layers.enumerated() {
      if let layer = layer as? BatchNormLayer<Float> {
        precondition(layer.configuration.renormalization == nil, "renormalization reads its running statistics")
        indices.append(index)
        layers.append(layer)
      }
    }
    layerIndices = indices
    copies = policies.map { change in
      layers.map { layer in
        var copy = layer
        var configuration = copy.configuration
        change(&configuration)
        copy.configuration = configuration
        return copy
      }
    }
  }

  /// Feeds a training-pass input of layer `layerIndex` to that layer's copies.
  mutating func observe(layerIndex: Int, input: Tensor<Float>) {
    guard let position = layerIndices.firstIndex(of: layerIndex) else { return }
    for policy in copies.indices {
      do {
        _ = try copies[policy][position].forward(input, mode: .training)
      } catch {
        failures += 1
      }
    }
  }

  /// `model` (trained alongside) with the running statistics of policy `policy`.
  func applying(_ policy: Int, to model: Sequential<Float>) throws -> Sequential<Float> {
    var model = model
    for (position, index) in layerIndices.enumerated() {
      guard var layer = model.layers[index] as? BatchNormLayer<Float> else {
        preconditionFailure("layer \(index) is no longer batch normalization")
      }
      try layer.loadBuffers(copies[policy][position].buffers)
      layer.configuration.runningVarianceEstimator = copies[policy][position].configuration.runningVarianceEstimator
      model.layers[index] = layer
    }
    return model
  }

  /// Policy `policy`'s running variance of the first batch-normalization layer.
  func firstLayerVariance(_ policy: Int) -> [Float] {
    copies[policy].first?.normalization.runningStatistics.variance ?? []
  }
}
