import BatchNormalization
import Foundation
import NeuralNetwork
import Plots

/// Data-parallel training with synchronized against per-process batch normalization:
/// when a batch is split over P processes, each normalizing its shard of m samples alone
/// brings back the small-batch problem; synchronized BN (statistics of all P·m) should
/// train the network one process trains on the whole batch.
///
/// P = 4 real processes (`mpirun`, started through ``LabContext/distributedRunner``) train
/// the same MLP with m ∈ {2, 4, 8, 16} samples each, with per-process and with synchronized
/// statistics; this process trains it with batches of P·m. Each run reports its test
/// accuracy and how far its running statistics are from the exact population statistics
/// of each BN layer's input under its final weights.
public struct SyncBatchNormExperiment: DistributedExperiment {
  public let name = "sync-bn"
  public let processes = 4

  /// The experiment, with its fixed settings.
  public init() {}

  /// Samples per process.
  static let shardSizes = [2, 4, 8, 16]
  static let architecture = "linear:100,bn,sigmoid,linear:100,bn,sigmoid,linear:10"
  /// The three ways of training, as the `mode` column codes them.
  static let modes: [(code: Double, label: String)] = [
    (0, "per-process BN, 4 processes × m samples"), (1, "synchronized BN, 4 processes × m samples"),
    (2, "one process, batches of 4·m"),
  ]
  static let momentum = 0.9

  /// SGD's learning rate for the global batch B = P·m: 0.1·√(B/64) (square-root scaling),
  /// the same in all three modes.
  static func learningRate(globalBatch: Int) -> Double { 0.1 * (Double(globalBatch) / 64).squareRoot() }

  struct Setup {
    var trainCount: Int
    var testCount: Int
    /// Training examples per run (steps = examples / (P·m)).
    var examples: Int
    /// Training samples the population statistics are measured over.
    var populationCount: Int
    var seeds: Int
  }

  static func setup(_ budget: LabBudget) -> Setup {
    budget.choose(
      quick: Setup(trainCount: 1_024, testCount: 512, examples: 1_024, populationCount: 512, seeds: 1),
      standard: Setup(trainCount: 60_000, testCount: 10_000, examples: 12_000, populationCount: 10_000, seeds: 3),
      full: Setup(trainCount: 60_000, testCount: 10_000, examples: 120_000, populationCount: 60_000, seeds: 3))
  }

  static let columns = [
    "shard_size", "mode", "seed", "steps", "diverged", "test_accuracy", "running_mean_error", "running_variance_error",
  ]

  /// Runs it and reports; see the type's description.
  public func run(_ context: LabContext) throws -> ExperimentReport {
    let start = Date()
    let data = try context.requireData(for: name)
    guard let runner = context.distributedRunner else { throw LabError.needsProcesses(experiment: name) }
    let setup = Self.setup(context.budget)
    context.progress("starting \(processes) processes (mpirun) for per-process and synchronized BN")
    var runs = try runner(processes, name)
    guard runs.columns == Self.columns else { throw LabError.workerFailed(experiment: name, reason: "unexpected columns \(runs.columns)") }
    let (train, test) = try Self.splits(data, setup: setup, seed: context.seed)
    for m in Self.shardSizes {
      for seed in 0..<setup.seeds {
        runs.append(
          try Self.measure(
            shardSize: m, mode: 2, seed: seed, context: context, setup: setup, train: train, test: test, group: nil))
      }
    }
    runs = runs.sorted(by: ["shard_size", "mode", "seed"])
    let summary = Self.summary(runs)
    let verdict = Self.verdict(summary)
    return ExperimentReport(
      name: name, title: "Synchronized batch normalization across processes",
      claim: "When one batch is split over P processes, normalizing each shard alone brings back the small-batch "
        + "problem; synchronized BN (the statistics of all P·m samples) trains as one process with batches of P·m.",
      configuration: [
        "data: \(data.source), \(train.count) training images (a fixed shuffle), \(test.count) test images",
        "network: \(Self.architecture) (BN before each sigmoid), PyTorch's default initialization",
        "P = \(processes) processes started by mpirun (Open MPI), m ∈ \(Self.shardSizes) samples each; "
          + "per-process BN normalizes each shard alone (rank 0's running statistics are kept, as PyTorch DDP "
          + "broadcasts its buffers); synchronized BN merges every shard's (count, mean, M2) with Chan's formula",
        "the one-process runs train with batches of P·m in this process, with the same seeds (so the same "
          + "initialization and the same global batches)",
        "SGD, momentum \(Self.momentum), learning rate 0.1·√(P·m/64), \(setup.examples) training examples per run "
          + "(\(setup.examples / (processes * Self.shardSizes[0])) steps at m = \(Self.shardSizes[0]))",
        "running-statistics error: each BN layer's running mean and variance (momentum 0.1, unbiased) against the "
          + "exact mean and variance of its input over \(setup.populationCount) training images under the final "
          + "weights: mean over channels and layers of |Δmean|/σ and of |variance ratio − 1|",
        "seeds \(context.seed) + 0…\(setup.seeds - 1); bands: min–max over seeds",
        "CSV: mode 0 = per-process BN, 1 = synchronized BN, 2 = one process; shard_size = m; errors as fractions",
      ],
      tables: [runs, summary],
      figures: [Self.accuracyFigure(summary), Self.statisticsFigure(summary)],
      verdict: verdict.verdict, findings: verdict.findings, wallSeconds: Date().timeIntervalSince(start))
  }

  /// One process's part of the distributed runs: every (m, per-process or synchronized,
  /// seed) in the same order on every process; rank 0's table holds the results.
  public func worker(group: any BatchNormProcessGroup, context: LabContext) throws -> DataTable {
    let data = try context.requireData(for: name)
    let setup = Self.setup(context.budget)
    let (train, test) = try Self.splits(data, setup: setup, seed: context.seed)
    var table = DataTable(name: "sync_bn_runs", columns: Self.columns)
    for m in Self.shardSizes {
      for mode in [0, 1] {
        for seed in 0..<setup.seeds {
          table.append(
            try Self.measure(
              shardSize: m, mode: mode, seed: seed, context: context, setup: setup, train: train, test: test,
              group: group))
        }
      }
    }
    return table
  }

  static func splits(
    _ data: LabData, setup: Setup, seed: UInt64
  ) throws -> (train: LabeledSamples<Float>, test: LabeledSamples<Float>) {
    (
      try BatchStatisticsSupport.shuffledPrefix(data.train, count: setup.trainCount, seed: seed &+ 120),
      try BatchStatisticsSupport.shuffledPrefix(data.test, count: setup.testCount, seed: seed &+ 121)
    )
  }

  /// One run: trains, evaluates and measures the running statistics; a row of ``columns``.
  /// With a group, `mode` 0 or 1 (per-process or synchronized statistics); without, one
  /// process with batches of P·m.
  static func measure(
    shardSize m: Int, mode: Int, seed: Int, context: LabContext, setup: Setup, train: LabeledSamples<Float>,
    test: LabeledSamples<Float>, group: (any BatchNormProcessGroup)?
  ) throws -> DataTable.Row {
    let processes = SyncBatchNormExperiment().processes
    let globalBatch = processes * m
    let runSeed = context.seed &+ UInt64(seed)
    var generator = SeededGenerator(seed: runSeed)
    let network: Sequential<Float> = try Architecture(parsing: architecture).makeNetwork(
      sampleShape: train.sampleShape, using: &generator)
    var trainer = Trainer(
      model: network, optimizer: SGD(schedule: .constant(learningRate(globalBatch: globalBatch)), momentum: momentum),
      configuration: TrainingConfiguration(batchSize: globalBatch, seed: runSeed),
      dataParallelism: group.map { DataParallelism(group: $0, synchronizesBatchNormalization: mode == 1) })
    let steps = setup.examples / globalBatch
    var diverged = false
    do {
      try trainer.train(steps: steps, on: train)
    } catch is TrainingError {
      diverged = true
    }
    let accuracy = try trainer.evaluate(test).accuracy
    let isReporter = (group?.rank ?? 0) == 0
    var errors = (mean: Double.nan, variance: Double.nan)
    if isReporter {
      errors = try populationErrors(trainer.model, data: train, count: setup.populationCount)
      context.progress(
        "m = \(m), \(modes[mode].label), seed \(seed): test accuracy \(percent(accuracy)), "
          + "running statistics off by \(decimals(errors.mean)) σ (mean), "
          + "\(percent(errors.variance)) (variance)")
    }
    return [
      ("shard_size", Double(m)), ("mode", Double(mode)), ("seed", Double(seed)), ("steps", Double(steps)),
      ("diverged", diverged ? 1 : 0), ("test_accuracy", accuracy), ("running_mean_error", errors.mean),
      ("running_variance_error", errors.variance),
    ]
  }

  /// How far each BN layer's running statistics are from the exact statistics of its
  /// input over the first `count` samples of `data` (the network in inference mode): the
  /// mean over channels and layers of |running mean − µ|/σ and of |running variance/σ² − 1|.
  static func populationErrors(
    _ model: Sequential<Float>, data: LabeledSamples<Float>, count: Int
  ) throws -> (mean: Double, variance: Double) {
    var network = model
    let layers = network.layers.indices.filter { network.layers[$0] is BatchNormLayer<Float> }
    var moments: [Int: [ChannelMoments]] = [:]
    let samples = try LabData.prefix(data, count)
    for start in stride(from: 0, to: samples.count, by: 1000) {
      let (input, _) = BatchStatisticsSupport.batch(samples, Array(start..<min(start + 1000, samples.count)))
      _ = try network.forward(input, mode: .inference) { index, input in
        guard layers.contains(index) else { return }
        let channels = input.shape[1]
        let rows = input.shape[0]
        let batch = (0..<channels).map { channel in
          ChannelMoments(of: (0..<rows).lazy.map { input.scalars[$0 * channels + channel] })
        }
        moments[index] = moments[index].map { zip($0, batch).map { $0.merged(with: $1) } } ?? batch
      }
    }
    var meanErrors: [Double] = []
    var varianceErrors: [Double] = []
    for index in layers {
      let running = (network.layers[index] as! BatchNormLayer<Float>).normalization.runningStatistics
      for (channel, exact) in moments[index, default: []].enumerated() {
        let variance = exact.unbiasedVariance
        meanErrors.append(abs(Double(running.mean[channel]) - exact.mean) / variance.squareRoot())
        varianceErrors.append(abs(Double(running.variance[channel]) / variance - 1))
      }
    }
    func average(_ values: [Double]) -> Double { values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count) }
    return (average(meanErrors), average(varianceErrors))
  }

  /// Per (m, mode): the mean, smallest and largest over seeds of each measure.
  static func summary(_ runs: DataTable) -> DataTable {
    let measures = ["test_accuracy", "running_mean_error", "running_variance_error"]
    var table = DataTable(
      name: "sync_bn_summary", columns: ["shard_size", "mode"] + measures.flatMap { [$0 + "_mean", $0 + "_min", $0 + "_max"] })
    for m in shardSizes {
      for mode in modes {
        let rows = runs.rows.indices.filter { runs.column("shard_size")[$0] == Double(m) && runs.column("mode")[$0] == mode.code }
        var row: DataTable.Row = [("shard_size", Double(m)), ("mode", mode.code)]
        for measure in measures {
          let spread = BatchStatisticsSupport.spread(rows.map { runs.column(measure)[$0] })
          row += [(measure + "_mean", spread.mean), (measure + "_min", spread.low), (measure + "_max", spread.high)]
        }
        table.append(row)
      }
    }
    return table
  }

  /// Holds when synchronized BN matches the one-process run at every m (mean test
  /// accuracy within half a point) and per-process BN falls behind at the smallest m (by
  /// more than a point, and by more than at the largest m); in part when one of the two.
  static func verdict(_ summary: DataTable) -> (verdict: Verdict, findings: String) {
    func accuracy(_ m: Int, _ mode: Double) -> Double {
      let index = summary.rows.indices.first { summary.column("shard_size")[$0] == Double(m) && summary.column("mode")[$0] == mode }!
      return summary.column("test_accuracy_mean")[index]
    }
    let syncGaps = shardSizes.map { abs(accuracy($0, 1) - accuracy($0, 2)) }
    let localGaps = shardSizes.map { accuracy($0, 2) - accuracy($0, 0) }
    let matches = syncGaps.allSatisfy { $0 <= 0.005 }
    let fallsBehind = localGaps[0] > 0.01 && localGaps[0] > localGaps[localGaps.count - 1]
    let verdict: Verdict = matches && fallsBehind ? .holds : matches || fallsBehind ? .mixed : .doesNotHold
    func points(_ difference: Double) -> String { String(format: "%.1f points", 100 * difference) }
    let rows = shardSizes.indices.map { index in
      let m = shardSizes[index]
      return "m = \(m): one process \(percent(accuracy(m, 2))), synchronized \(percent(accuracy(m, 1))), "
        + "per-process \(percent(accuracy(m, 0)))"
    }
    let findings =
      "Test accuracy (mean over seeds) — " + rows.joined(separator: "; ") + ". "
      + (matches
        ? "Synchronized BN matched the one-process run at every m (largest gap \(points(syncGaps.max()!))). "
        : "Synchronized BN differed from the one-process run by up to \(points(syncGaps.max()!)). ")
      + (fallsBehind
        ? "Per-process BN fell behind by \(points(localGaps[0])) at m = \(shardSizes[0]) and by \(points(localGaps.last!)) at m = \(shardSizes.last!): its statistics come from m samples, not 4·m."
        : "Per-process BN did not fall behind as expected (\(points(localGaps[0])) at m = \(shardSizes[0]), \(points(localGaps.last!)) at m = \(shardSizes.last!)).")
    return (verdict, findings)
  }

  static func series(_ summary: DataTable, measure: String) -> [Series] {
    let styles: [(Color, LineStyle, Marker)] = [
      (Palette.withoutBatchNorm, .solid, .triangle), (Palette.withBatchNorm, .solid, .circle),
      (Palette.neutral, .dashed, .square),
    ]
    return zip(modes, styles).map { mode, style in
      let rows = summary.rows.indices.filter { summary.column("mode")[$0] == mode.code }
      let x = rows.map { summary.column("shard_size")[$0] }
      return Series(
        name: mode.label, x: x, y: rows.map { summary.column(measure + "_mean")[$0] }, color: style.0, style: style.1,
        marker: style.2,
        band: BandPoint.band(
          x: x, lower: rows.map { summary.column(measure + "_min")[$0] }, upper: rows.map { summary.column(measure + "_max")[$0] }))
    }
  }

  static func accuracyFigure(_ summary: DataTable) -> Figure {
    let chart = LineChart(
      title: "Test accuracy: 4 processes × m samples",
      xAxis: Axis("samples per process m", scale: .logarithmic, ticks: shardSizes.map(Double.init)),
      yAxis: Axis("test accuracy"), series: series(summary, measure: "test_accuracy"), legend: .below)
    return Figure(
      name: "sync_bn_accuracy",
      caption: "The same network, seeds and global batches of 4·m: per-process statistics (each of 4 processes "
        + "normalizes its m samples), synchronized statistics (all 4·m), and one process with batches of 4·m. "
        + "Bands: min–max over seeds.",
      svg: chart.svg())
  }

  static func statisticsFigure(_ summary: DataTable) -> Figure {
    let chart = LineChart(
      title: "Running variance against the population variance",
      xAxis: Axis("samples per process m", scale: .logarithmic, ticks: shardSizes.map(Double.init)),
      yAxis: Axis("mean |running variance / population variance − 1|"),
      series: series(summary, measure: "running_variance_error"), legend: .below)
    return Figure(
      name: "sync_bn_running_variance",
      caption: "How far the running variances that inference uses are from the exact variances of each BN layer's "
        + "input over training images under the final weights (mean over channels and both layers).",
      svg: chart.svg())
  }
}
