import BatchNormalization
import Foundation
import NeuralNetwork
import Plots

/// Which statistics a network trained with small batches should use at test time
/// (Ioffe & Szegedy 2015, Algorithm 2; Wu & Johnson 2021, "Rethinking 'Batch' in
/// BatchNorm"), and Batch Renormalization against batch normalization with tiny and
/// non-i.i.d. batches (Ioffe 2017).
///
/// Part 1 trains the same MLP at batch sizes 2 … 256 on the same number of examples and
/// evaluates the SAME weights five ways. The three running-statistics policies come from
/// one training run per batch size and seed: in training a batch-normalization layer
/// normalizes with its batch's statistics, so the policy of its running statistics does
/// not change the weights, and copies of each layer fed the same inputs
/// (``RunningStatisticsCopies``) hold exactly what separate runs would have ended with.
///
/// Part 2 trains the network without BN, with BN and with BRN (the same seed, both
/// normalizations with running-statistics momentum 0.01, the BRN paper's rate) with i.i.d.
/// micro-batches, with batches drawn from two classes only, and with ordinary i.i.d.
/// batches, and evaluates them with their running statistics and with recalibrated
/// population statistics.
public struct SmallBatchExperiment: Experiment {
  public let name = "small-batch"

  /// The experiment, with its fixed settings.
  public init() {}

  /// The training batch sizes of part 1.
  static let batchSizes = [2, 4, 8, 16, 64, 256]
  /// The network: the paper's sigmoid MLP with one hidden layer fewer, BN before each sigmoid.
  static let architecture = "linear:100,bn,sigmoid,linear:100,bn,sigmoid,linear:10"
  /// The evaluation methods of part 1, as (CSV column, legend label).
  static let methods: [(column: String, label: String)] = [
    ("test_accuracy_ema_0.1", "running averages, momentum 0.1"),
    ("test_accuracy_ema_0.01", "running averages, momentum 0.01"),
    ("test_accuracy_cumulative", "cumulative average"),
    ("test_accuracy_recalibrated", "recalibrated population statistics (Alg. 2)"),
    ("test_accuracy_batch_statistics", "batch statistics at test time"),
  ]
  /// The settings of part 2: (label, sampler).
  static let renormSettings: [(label: String, sampler: BatchStatisticsSupport.Sampler)] = [
    ("i.i.d., m = 4", .iid(batchSize: 4)),
    ("2 classes, m = 16", .classGrouped(batchSize: 16, classesPerBatch: 2)),
    ("i.i.d., m = 16", .iid(batchSize: 16)),
  ]
  static let momentum = 0.9

  /// SGD's learning rate at batch size m: 0.1·√(m/64), the square-root scaling rule
  /// (Hoffer et al. 2017), so small batches do not take steps as large as large ones.
  static func learningRate(batchSize: Int) -> Double {
    0.1 * (Double(batchSize) / 64).squareRoot()
  }

  struct Setup {
    var trainCount: Int
    var testCount: Int
    /// Training examples per run (steps = examples / m).
    var examples: Int
    /// Examples the recalibration pass averages over (in batches of m).
    var recalibrationExamples: Int
    var seeds: Int
  }

  static func setup(_ budget: LabBudget) -> Setup {
    budget.choose(
      quick: Setup(trainCount: 512, testCount: 256, examples: 512, recalibrationExamples: 256, seeds: 1),
      standard: Setup(trainCount: 60_000, testCount: 9_984, examples: 60_000, recalibrationExamples: 10_240, seeds: 3),
      full: Setup(trainCount: 60_000, testCount: 9_984, examples: 300_000, recalibrationExamples: 20_480, seeds: 3))
  }

  /// Runs it and reports; see the type's description.
  public func run(_ context: LabContext) throws -> ExperimentReport {
    let start = Date()
    let data = try context.requireData(for: name)
    let setup = Self.setup(context.budget)
    let train = try BatchStatisticsSupport.shuffledPrefix(data.train, count: setup.trainCount, seed: context.seed &+ 60)
    let test = try BatchStatisticsSupport.shuffledPrefix(data.test, count: setup.testCount, seed: context.seed &+ 61)
    let sweep = try Self.sweep(context, setup: setup, train: train, test: test)
    let renorm = try Self.renormalization(context, setup: setup, train: train, test: test, sweep: sweep)
    let summary = Self.summary(sweep)
    let verdict = Self.verdict(sweep: sweep, summary: summary, renorm: renorm)
    return ExperimentReport(
      name: name, title: "Small batches: which statistics at test time, and Batch Renormalization",
      claim: "With small batches a BN network comes to depend on its batch's statistics: population statistics "
        + "(the paper's Algorithm 2) should do at least as well as moving averages, but fall behind batch statistics "
        + "at tiny batches (Wu & Johnson 2021); Batch Renormalization restores accuracy with tiny and non-i.i.d. "
        + "batches (Ioffe 2017).",
      configuration: [
        "data: \(data.source), \(train.count) training images (a fixed shuffle), \(test.count) test images",
        "network: \(Self.architecture) (784-100-100-10, BN before each sigmoid), PyTorch's default initialization",
        "SGD, momentum \(Self.momentum), learning rate 0.1·√(m/64) (square-root scaling), \(setup.examples) "
          + "training examples per run at every batch size (the same number of EXAMPLES: \(setup.examples / 2) steps "
          + "at m = 2, \(setup.examples / 256) at m = 256)",
        "running statistics: momentum 0.1, 0.01 and the cumulative average, kept from the same training run by "
          + "copies of each BN layer fed the same training inputs (the policy does not affect the weights)",
        "recalibrated: Algorithm 2 over \(setup.recalibrationExamples) training examples in batches of the "
          + "training batch size m, weights frozen, variance × m/(m − 1)",
        "batch statistics: the test set in batches of m (a random order, so the batches are i.i.d.)",
        "Batch Renormalization: bn:momentum=0.01:renorm against bn:momentum=0.01 and against no BN, the same seeds; "
          + "the BN runs with i.i.d. batches are part 1's runs (same weights; their momentum-0.01 statistics); "
          + "the paper's rMax/dMax schedule "
          + "scaled to the run (warm-up 1/16 of the steps, dMax = 5 by 5/16, rMax = 3 by 1/2); "
          + "non-i.i.d. batches: 8 images of each of 2 random classes; population statistics recalibrated over "
          + "i.i.d. training batches of the same size",
        "seeds \(context.seed) + 0…\(setup.seeds - 1) (network initialization and batch order); bands and error bars: "
          + "min–max over seeds",
      ],
      tables: [sweep, summary, renorm],
      figures: [Self.sweepFigure(summary), Self.renormFigure(renorm)],
      verdict: verdict.verdict, findings: verdict.findings, wallSeconds: Date().timeIntervalSince(start))
  }

  // MARK: Part 1: evaluation methods against batch size

  static func sweep(
    _ context: LabContext, setup: Setup, train: LabeledSamples<Float>, test: LabeledSamples<Float>
  ) throws -> DataTable {
    var table = DataTable(
      name: "small_batch_accuracy",
      columns: ["batch_size", "seed", "learning_rate", "steps", "diverged", "final_training_loss"] + methods.map(\.column))
    let architecture = try Architecture(parsing: architecture)
    for m in batchSizes {
      for seedOffset in 0..<setup.seeds {
        let seed = context.seed &+ UInt64(seedOffset)
        let steps = setup.examples / m
        context.progress("small-batch: m = \(m), seed \(seed), \(steps) steps")
        var generator = SeededGenerator(seed: seed)
        let network: Sequential<Float> = try architecture.makeNetwork(sampleShape: [784], using: &generator)
        var copies = RunningStatisticsCopies(
          model: network,
          policies: [
            { $0.momentum = .exponential(0.1) }, { $0.momentum = .exponential(0.01) }, { $0.momentum = .cumulative },
          ])
        let outcome = try BatchStatisticsSupport.train(
          network, optimizer: SGD(schedule: .constant(learningRate(batchSize: m)), momentum: momentum), data: train,
          sampler: .iid(batchSize: m), steps: steps, seed: seed &+ 1000
        ) { copies.observe(layerIndex: $0, input: $1) }
        var accuracies: [Double] = []
        for policy in 0..<3 {
          accuracies.append(try copies.applying(policy, to: outcome.model).evaluate(test).accuracy)
        }
        let recalibrated = try BatchStatisticsSupport.recalibrated(
          outcome.model, data: train, sampler: .iid(batchSize: m),
          batchCount: max(1, setup.recalibrationExamples / m), seed: seed &+ 2000)
        accuracies.append(try recalibrated.evaluate(test).accuracy)
        accuracies.append(
          try BatchStatisticsSupport.usingBatchStatistics(outcome.model).evaluate(test, batchSize: m).accuracy)
        precondition(copies.failures == 0, "a running-statistics copy failed")
        let run: DataTable.Row = [
          ("batch_size", Double(m)), ("seed", Double(seed)), ("learning_rate", learningRate(batchSize: m)),
          ("steps", Double(outcome.steps)), ("diverged", outcome.diverged ? 1 : 0), ("final_training_loss", outcome.finalLoss),
        ]
        table.append(run + Array(zip(methods.map(\.column), accuracies)))
      }
    }
    return table
  }

  /// One row per batch size: mean, min and max over seeds of each method's accuracy.
  static func summary(_ sweep: DataTable) -> DataTable {
    var table = DataTable(
      name: "small_batch_summary",
      columns: ["batch_size", "seeds"]
        + methods.flatMap { method in ["mean", "min", "max"].map { method.column + "_" + $0 } })
    let sizes = sweep.column("batch_size")
    for m in batchSizes {
      let rows = sizes.indices.filter { sizes[$0] == Double(m) }
      var row: DataTable.Row = [("batch_size", Double(m)), ("seeds", Double(rows.count))]
      for method in methods {
        let values = rows.map { sweep.column(method.column)[$0] }
        let spread = BatchStatisticsSupport.spread(values)
        row += [(method.column + "_mean", spread.mean), (method.column + "_min", spread.low), (method.column + "_max", spread.high)]
      }
      table.append(row)
    }
    return table
  }

  static func sweepFigure(_ summary: DataTable) -> Figure {
    let m = summary.column("batch_size")
    let styles: [(Color, LineStyle, Marker)] = [
      (Palette.categorical(1), .solid, .circle), (Palette.categorical(4), .solid, .triangle),
      (Palette.categorical(3), .dashed, .diamond), (Palette.withBatchNorm, .solid, .square),
      (Palette.categorical(2), .dotted, .circle),
    ]
    let series = zip(methods, styles).map { method, style in
      Series(
        name: method.label, x: m, y: summary.column(method.column + "_mean"), color: style.0, style: style.1,
        marker: style.2,
        band: BandPoint.band(
          x: m, lower: summary.column(method.column + "_min"), upper: summary.column(method.column + "_max")))
    }
    let chart = LineChart(
      title: "Test accuracy of the same trained weights, by evaluation statistics",
      xAxis: Axis("training batch size m", scale: .logarithmic, ticks: batchSizes.map(Double.init)),
      yAxis: Axis("test accuracy"), series: series, legend: .below)
    return Figure(
      name: "small_batch_accuracy",
      caption: "Each point evaluates the same weights (trained with batches of m on the same number of examples) "
        + "with running averages (momentum 0.1, 0.01, cumulative), recalibrated population statistics (the paper's "
        + "Algorithm 2) or the statistics of test batches of m. Bands: min–max over seeds.",
      svg: chart.svg())
  }

  // MARK: Part 2: Batch Renormalization

  /// The normalizations compared in part 2, as the `normalization` column codes them.
  static let normalizations: [(code: Double, label: String, token: String)] = [
    (0, "without BN", ""), (1, "BN", "bn:momentum=0.01,"), (2, "BRN", "bn:momentum=0.01:renorm,"),
  ]

  static func renormalization(
    _ context: LabContext, setup: Setup, train: LabeledSamples<Float>, test: LabeledSamples<Float>, sweep: DataTable
  ) throws -> DataTable {
    var table = DataTable(
      name: "small_batch_renorm",
      columns: [
        "setting", "batch_size", "classes_per_batch", "normalization", "seed", "steps", "diverged",
        "test_accuracy_running", "test_accuracy_population",
      ])
    for (settingIndex, setting) in renormSettings.enumerated() {
      let m = setting.sampler.batchSize
      let classes: Int
      if case .classGrouped(_, let count) = setting.sampler { classes = count } else { classes = 0 }
      let steps = setup.examples / m
      let schedule = RenormalizationSchedule().scaled(by: Double(steps) / 80_000)
      for normalization in normalizations {
        let architecture = try Architecture(
          parsing: "linear:100,\(normalization.token)sigmoid,linear:100,\(normalization.token)sigmoid,linear:10")
        for seedOffset in 0..<setup.seeds {
          let seed = context.seed &+ UInt64(seedOffset)
          let prefix: DataTable.Row = [
            ("setting", Double(settingIndex)), ("batch_size", Double(m)), ("classes_per_batch", Double(classes)),
            ("normalization", normalization.code), ("seed", Double(seed)),
          ]
          // BN with i.i.d. batches of a part-1 batch size is a part-1 run: the same network, seed and batches
          // (its momentum-0.01 copy is this run's running statistics, its recalibration this recalibration).
          let (sizes, seeds) = (sweep.column("batch_size"), sweep.column("seed"))
          if normalization.code == 1, classes == 0,
            let row = sweep.rows.indices.first(where: { sizes[$0] == Double(m) && seeds[$0] == Double(seed) })
          {
            func value(_ column: String) -> Double { sweep.column(column)[row] }
            table.append(
              prefix + [
                ("steps", value("steps")), ("diverged", value("diverged")),
                ("test_accuracy_running", value("test_accuracy_ema_0.01")),
                ("test_accuracy_population", value("test_accuracy_recalibrated")),
              ])
            continue
          }
          context.progress("small-batch: \(normalization.label), \(setting.label), seed \(seed), \(steps) steps")
          var generator = SeededGenerator(seed: seed)
          let network: Sequential<Float> = try architecture.makeNetwork(sampleShape: [784], using: &generator)
          let outcome = try BatchStatisticsSupport.train(
            network, optimizer: SGD(schedule: .constant(learningRate(batchSize: m)), momentum: momentum), data: train,
            sampler: setting.sampler, steps: steps, seed: seed &+ 1000,
            renormalization: normalization.code == 2 ? schedule : nil)
          let running = try outcome.model.evaluate(test).accuracy
          let population =
            normalization.code == 0
            ? running
            : try BatchStatisticsSupport.recalibrated(
              outcome.model, data: train, sampler: .iid(batchSize: m),
              batchCount: max(1, setup.recalibrationExamples / m), seed: seed &+ 2000
            ).evaluate(test).accuracy
          table.append(
            prefix + [
              ("steps", Double(outcome.steps)), ("diverged", outcome.diverged ? 1 : 0), ("test_accuracy_running", running),
              ("test_accuracy_population", population),
            ])
        }
      }
    }
    return table
  }

  /// The mean, min and max over seeds of `column` for one setting and normalization (0 none, 1 BN, 2 BRN).
  static func renormSpread(_ table: DataTable, setting: Int, normalization: Double, column: String) -> (
    mean: Double, low: Double, high: Double
  ) {
    let settings = table.column("setting")
    let codes = table.column("normalization")
    let values = table.column(column)
    return BatchStatisticsSupport.spread(
      settings.indices.filter { settings[$0] == Double(setting) && codes[$0] == normalization }.map { values[$0] })
  }

  static func renormFigure(_ table: DataTable) -> Figure {
    func bars(_ normalization: Double, _ column: String, _ name: String, _ color: Color) -> BarSeries {
      let spreads = renormSettings.indices.map {
        renormSpread(table, setting: $0, normalization: normalization, column: column)
      }
      return BarSeries(
        name: name, values: spreads.map(\.mean), color: color,
        errors: spreads.map { ErrorBar(lower: $0.low, upper: $0.high) })
    }
    let chart = BarChart(
      title: "Batch Renormalization against BN, evaluated with population statistics",
      categories: renormSettings.map(\.label), categoryTitle: "training batches",
      yAxis: Axis("test accuracy", range: 0...1),
      series: [
        bars(0, "test_accuracy_running", "without BN", Palette.withoutBatchNorm),
        bars(1, "test_accuracy_running", "BN, running averages", Palette.withBatchNorm),
        bars(1, "test_accuracy_population", "BN, recalibrated", Color(0x73B1D5)),
        bars(2, "test_accuracy_running", "BRN, running averages", Palette.categorical(2)),
        bars(2, "test_accuracy_population", "BRN, recalibrated", Color(0x73C9B2)),
      ],
      legend: .below)
    return Figure(
      name: "small_batch_renorm",
      caption: "The same network without BN, with BN and with Batch Renormalization (the same seed; running-average "
        + "momentum 0.01) trained with micro-batches of 4, with batches of 16 drawn from 2 classes, and with i.i.d. "
        + "batches of 16; evaluated with the running averages and with population statistics recalibrated over "
        + "i.i.d. training batches. Error bars: min–max over seeds.",
      svg: chart.svg())
  }

  // MARK: Verdict

  static func verdict(sweep: DataTable, summary: DataTable, renorm: DataTable) -> (verdict: Verdict, findings: String) {
    typealias S = BatchStatisticsSupport
    func meanLoss(_ m: Double) -> Double {
      let sizes = sweep.column("batch_size")
      return S.spread(sizes.indices.filter { sizes[$0] == m }.map { sweep.column("final_training_loss")[$0] }).mean
    }
    let finalLoss = meanLoss(summary.column("batch_size").first ?? 0)
    let finalLossLast = meanLoss(summary.column("batch_size").last ?? 0)
    func mean(_ column: String, _ row: Int) -> Double { summary.column(column + "_mean")[row] }
    let last = summary.rows.count - 1
    let ema = methods[0].column, slowEMA = methods[1].column, cumulative = methods[2].column
    let recalibrated = methods[3].column, batch = methods[4].column
    // (1) Precise statistics at least as good as the moving average (0.5 points of slack) at every m.
    let preciseShortfalls = summary.rows.indices.filter { mean(recalibrated, $0) < mean(ema, $0) - 0.005 }
    // (2) At tiny batches (m = 2 or 4) batch statistics at test time beat population statistics (Wu & Johnson's
    // train–test inconsistency), by more than at the largest m.
    let margins = summary.rows.indices.map { mean(batch, $0) - mean(recalibrated, $0) }
    let tiny = summary.column("batch_size").indices.filter { summary.column("batch_size")[$0] <= 4 }
    let inconsistency = tiny.contains { margins[$0] > 0.005 && margins[$0] > margins[last] }
    // (3) BRN beats BN (population statistics, running averages) with tiny and non-i.i.d. batches.
    func gain(_ setting: Int, _ column: String) -> Double {
      renormSpread(renorm, setting: setting, normalization: 2, column: column).mean
        - renormSpread(renorm, setting: setting, normalization: 1, column: column).mean
    }
    let tinyGain = gain(0, "test_accuracy_running"), nonIIDGain = gain(1, "test_accuracy_running")
    let referenceGain = gain(2, "test_accuracy_running")
    let renormHolds = tinyGain > 0.005 && nonIIDGain > 0.005
    let parts = [preciseShortfalls.isEmpty, inconsistency, renormHolds]
    let verdict: Verdict = parts.allSatisfy { $0 } ? .holds : parts.contains(true) ? .mixed : .doesNotHold
    let m = summary.column("batch_size").map { Int($0) }
    func row(_ index: Int) -> String {
      "at m = \(m[index]): momentum 0.1 \(percent(mean(ema, index))), momentum 0.01 "
        + "\(percent(mean(slowEMA, index))), cumulative \(percent(mean(cumulative, index))), recalibrated "
        + "\(percent(mean(recalibrated, index))), batch statistics \(percent(mean(batch, index)))"
    }
    func renormText(_ setting: Int) -> String {
      func value(_ code: Double, _ column: String) -> String {
        percent(renormSpread(renorm, setting: setting, normalization: code, column: column).mean)
      }
      return "\(renormSettings[setting].label): BN \(value(1, "test_accuracy_running")) vs BRN "
        + "\(value(2, "test_accuracy_running")) with running averages (recalibrated: "
        + "\(value(1, "test_accuracy_population")) vs \(value(2, "test_accuracy_population"))), without BN "
        + "\(value(0, "test_accuracy_running"))"
    }
    let findings = """
      Mean test accuracy over seeds, \(row(0)); \(row(2)); \(row(last)). \
      Recalibrated population statistics were \(preciseShortfalls.isEmpty ? "within 0.5 points of or better than" : "more than 0.5 points below") \
      the momentum-0.1 moving average at \(preciseShortfalls.isEmpty ? "every batch size" : "m = " + preciseShortfalls.map { String(m[$0]) }.joined(separator: ", ")). \
      The moving averages lag the weights where few large steps are taken: at m = \(m[last]) momentum 0.1 was \
      \(decimals(100 * (mean(recalibrated, last) - mean(ema, last)), digits: 1)) points and momentum 0.01 \
      \(decimals(100 * (mean(recalibrated, last) - mean(slowEMA, last)), digits: 1)) points below recalibration. \
      Batch statistics at test time minus recalibrated population statistics, in points: \
      \(zip(m, margins).map { "\(decimals(100 * $1, digits: 1)) at m = \($0)" }.joined(separator: ", ")) \
      (\(inconsistency ? "the train–test inconsistency of tiny batches shows: batch statistics win there" : "population statistics were never beaten by batch statistics at tiny batches: the noise of test batches of m costs more than the inconsistency; Wu & Johnson's effect does not show here")). \
      At m = \(m[0]) training itself fails (final training loss \(decimals(finalLoss, digits: 2)), against \
      \(decimals(finalLossLast, digits: 2)) at m = \(m[last])): with two samples every normalized feature is ±1. \
      Batch Renormalization, \(renormText(0)); \(renormText(1)); \(renormText(2)). BRN's gain with running averages: \
      \(decimals(100 * tinyGain, digits: 1)) points with micro-batches, \(decimals(100 * nonIIDGain, digits: 1)) with non-i.i.d. \
      batches, \(decimals(100 * referenceGain, digits: 1)) with ordinary batches.
      """
    return (verdict, findings)
  }
}
