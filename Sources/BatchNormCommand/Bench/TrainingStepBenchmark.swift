import BatchNormalization
import ComputeRuntime
import Foundation
import NeuralNetwork

/// A network `bn bench --training-steps` times, with its sample shape and default batches.
enum TrainingStepModel: String, CaseIterable {
  /// The paper's MLP (784-100-100-100-10, sigmoid, batch normalization after each hidden linear layer).
  case mlp
  /// A small CNN on 28 × 28 images.
  case cnn

  var architecture: String {
    switch self {
    case .mlp: return "linear:100,bn,sigmoid,linear:100,bn,sigmoid,linear:100,bn,sigmoid,linear:10"
    case .cnn: return "conv:32:3:1:1,bn,relu,maxpool:2,conv:64:3:1:1,bn,relu,maxpool:2,flatten,linear:10"
    }
  }

  var sampleShape: [Int] {
    switch self {
    case .mlp: return [784]
    case .cnn: return [1, 28, 28]
    }
  }

  var defaultBatches: [Int] {
    switch self {
    case .mlp: return [60, 1024]
    case .cnn: return [64]
    }
  }
}

/// One measured training-step row of `bn bench --training-steps`.
struct TrainingStepRow {
  let model: TrainingStepModel
  /// The global batch (split over ``processes``).
  let batch: Int
  let threads: Int
  /// Processes sharing each batch (1 outside mpirun).
  let processes: Int
  let medianSeconds: Double
  let minimumSeconds: Double
  /// Mean seconds per step spent in exchanges (0 for one process).
  let communicationSeconds: Double
  let steps: Int

  var stepsPerSecond: Double { 1 / medianSeconds }

  static let header = [
    "model".padding(7), "batch".padding(7), "proc".padding(5), "thr".padding(4), "median ms".padding(11),
    "min ms".padding(11), "comm ms".padding(9), "steps/s".padding(9), "samples/s".padding(11), "steps timed",
  ].joined()

  var tableLine: String {
    [
      model.rawValue.padding(7), String(batch).padding(7), String(processes).padding(5), String(threads).padding(4),
      String(format: "%.3f", medianSeconds * 1e3).padding(11), String(format: "%.3f", minimumSeconds * 1e3).padding(11),
      String(format: "%.3f", communicationSeconds * 1e3).padding(9), String(format: "%.1f", stepsPerSecond).padding(9),
      String(format: "%.0f", Double(batch) * stepsPerSecond).padding(11), String(steps),
    ].joined()
  }

  var dictionary: [String: Any] {
    [
      "op": "training-step", "model": model.rawValue, "architecture": model.architecture, "batch": batch,
      "threads": threads, "processes": processes, "dtype": "float32", "median_seconds": medianSeconds,
      "min_seconds": minimumSeconds, "communication_seconds": communicationSeconds, "steps_per_second": stepsPerSecond,
      "samples_per_second": Double(batch) * stepsPerSecond, "steps_timed": steps,
    ]
  }
}

extension String {
  fileprivate func padding(_ width: Int) -> String {
    padding(toLength: max(width, count + 1), withPad: " ", startingAt: 0)
  }
}

/// Times one full training step (forward in training mode, softmax cross-entropy, zero
/// gradients, backward, SGD with lr 0.01 and momentum 0.9) on one fixed seeded random
/// batch, as `torch.optim.SGD` + `nn.CrossEntropyLoss` would run it. No gather, no
/// finiteness checks, no gradient for the input batch: the same work as the PyTorch loop
/// in benchmarks/compare_pytorch.py.
struct TrainingStepBenchmark {
  let model: TrainingStepModel
  let batch: Int
  let threads: Int
  let seconds: Double
  /// Steps run before timing (the first builds the momentum buffers and warms caches); at least 1.
  var warmUpSteps = 3
  /// Timed steps at the least, however short `seconds` is.
  var minimumSteps = 3
  /// The processes sharing each batch (under mpirun), or nil for one process.
  var group: (any BatchNormProcessGroup)? = nil

  func run() throws -> TrainingStepRow {
    if let group, group.size > 1 { return try runDataParallel(group: TimedProcessGroup(group)) }
    ComputeThreads.setIncludingBLAS(threads)
    var generator = SeededGenerator(seed: 1)
    var network: Sequential<Float> = try Architecture(parsing: model.architecture)
      .makeNetwork(sampleShape: model.sampleShape, using: &generator)
    let elementCount = model.sampleShape.reduce(batch, *)
    let input = Tensor<Float>(
      shape: [batch] + model.sampleShape, scalars: (0..<elementCount).map { _ in Float(generator.nextGaussian()) })
    let labels = (0..<batch).map { _ in Int(generator.next() % 10) }
    var optimizer = SGD<Float>(schedule: .constant(0.01), momentum: 0.9)
    let loss = SoftmaxCrossEntropy()

    func step() {
      let logits = try! network.forward(input, mode: .training)
      let (value, gradLogits) = try! loss.evaluate(logits: logits, labels: labels)
      network.zeroGradients()
      try! network.accumulateParameterGradients(gradLogits)
      optimizer.step(&network)
      Stopwatch.keep(value)
    }

    for _ in 1..<max(1, warmUpSteps) { step() }  // Stopwatch.measure runs one more
    let durations = Stopwatch.measure(seconds: seconds, minimumRuns: max(1, minimumSteps), step)
    return TrainingStepRow(
      model: model, batch: batch, threads: threads, processes: 1, medianSeconds: Stopwatch.median(durations),
      minimumSeconds: durations.min()!, communicationSeconds: 0, steps: durations.count)
  }

  /// The same step shared by the processes of `group`, as data-parallel training runs it:
  /// every process makes the same batch and takes its shard, batch normalization is
  /// synchronized, the loss is averaged over the whole batch and one all-reduce sums the
  /// gradients. Every process runs the same number of steps (the mean of their first
  /// timed step decides it), and `group` adds up the time spent exchanging.
  func runDataParallel(group: TimedProcessGroup) throws -> TrainingStepRow {
    ComputeThreads.setIncludingBLAS(threads)
    var generator = SeededGenerator(seed: 1)
    var network: Sequential<Float> = try Architecture(parsing: model.architecture)
      .makeNetwork(sampleShape: model.sampleShape, using: &generator)
    network.shareBatchStatistics(over: group)
    let sampleSize = model.sampleShape.reduce(1, *)
    let scalars = (0..<batch * sampleSize).map { _ in Float(generator.nextGaussian()) }
    let labels = (0..<batch).map { _ in Int(generator.next() % 10) }
    let shard = DataParallelism(group: group, synchronizesBatchNormalization: true).shard(ofBatch: batch)
    precondition(!shard.isEmpty, "a batch of \(batch) leaves process \(group.rank) without samples")
    let input = Tensor<Float>(
      shape: [shard.count] + model.sampleShape,
      scalars: Array(scalars[shard.lowerBound * sampleSize..<shard.upperBound * sampleSize]))
    let shardLabels = Array(labels[shard])
    var optimizer = SGD<Float>(schedule: .constant(0.01), momentum: 0.9)
    let loss = SoftmaxCrossEntropy()

    func step() {
      let logits = try! network.forward(input, mode: .training)
      let (value, gradLogits) = try! loss.evaluate(logits: logits, labels: shardLabels, averagedOver: batch)
      network.zeroGradients()
      try! network.accumulateParameterGradients(gradLogits)
      _ = try! network.sumGradients(over: group)
      optimizer.step(&network)
      Stopwatch.keep(value)
    }

    for _ in 0..<max(1, warmUpSteps) { step() }
    let first = Stopwatch.now()
    step()
    let meanStep = try group.allReduceSum([Stopwatch.now() - first])[0] / Double(group.size)
    let count = max(minimumSteps, min(100_000, Int(seconds / max(meanStep, 1e-9))))
    group.reset()
    var durations: [Double] = []
    for _ in 0..<count {
      let start = Stopwatch.now()
      step()
      durations.append(Stopwatch.now() - start)
    }
    return TrainingStepRow(
      model: model, batch: batch, threads: threads, processes: group.size, medianSeconds: Stopwatch.median(durations),
      minimumSeconds: durations.min()!, communicationSeconds: group.seconds / Double(count), steps: count)
  }
}
