import BatchNormalization
import Foundation
import NeuralNetwork
import Plots

/// Why the running variance uses m/(m − 1): the variance around the batch mean
/// underestimates the population variance by (m − 1)/m on average, because the batch
/// mean minimises the sum of squares: Σ(x − x̄)² = Σ(x − µ)² − m(x̄ − µ)² ≤ Σ(x − µ)².
///
/// Monte Carlo over batch sizes m: batches of N(µ, σ²) values, each batch one channel of
/// a single batch-normalization call, so the library's own statistics are measured.
///
/// When the lab has data, the consequence for a network as well: the same MLP as the
/// small-batch experiment, trained with batches of m = 2, 4, 8 and evaluated with its
/// running variance kept unbiased (the default) or biased (`bn:biased`), with population
/// statistics recalibrated either way (Algorithm 2), and with batch statistics. The two
/// running variances come from one training run (``RunningStatisticsCopies``): the
/// estimator of the running variance does not change the weights.
public struct BesselExperiment: Experiment {
  public let name = "bessel"
  public var needsData: Bool { false }

  /// The experiment, with its fixed settings.
  public init() {}

  /// The batch sizes of the Monte Carlo study.
  static let batchSizes = [2, 3, 4, 8, 16, 32, 64, 128, 256]
  /// Population mean and standard deviation of the simulated values.
  static let populationMean = 3.0
  static let populationDeviation = 2.0
  /// z for a two-sided 99.9% confidence interval: with nine batch sizes and two
  /// estimators, a 95% interval would miss somewhere by chance in most runs.
  static let confidenceZ = 3.29

  /// Runs it and reports; see the type's description.
  public func run(_ context: LabContext) throws -> ExperimentReport {
    let start = Date()
    let trials = context.budget.choose(quick: 2_000, standard: 20_000, full: 100_000)
    var table = DataTable(
      name: "bessel_monte_carlo",
      columns: [
        "m", "trials", "expected_biased_ratio", "biased_ratio", "biased_ci_low", "biased_ci_high", "unbiased_ratio",
        "unbiased_ci_low", "unbiased_ci_high", "violations", "smallest_gap",
      ])
    var generator = SeededGenerator(seed: context.seed &+ 4)
    let variance = Self.populationDeviation * Self.populationDeviation
    for m in Self.batchSizes {
      context.progress("bessel: m = \(m), \(trials) batches")
      let row = try Self.simulate(batchSize: m, trials: trials, using: &generator)
      let biased = Self.meanAndInterval(row.biased.map { $0 / variance })
      let unbiased = Self.meanAndInterval(row.biased.map { $0 / variance * Double(m) / Double(m - 1) })
      table.append([
        "m": Double(m), "trials": Double(trials), "expected_biased_ratio": Double(m - 1) / Double(m),
        "biased_ratio": biased.mean, "biased_ci_low": biased.low, "biased_ci_high": biased.high,
        "unbiased_ratio": unbiased.mean, "unbiased_ci_low": unbiased.low, "unbiased_ci_high": unbiased.high,
        "violations": Double(row.violations), "smallest_gap": row.smallestGap,
      ])
    }
    var verdict = Self.verdict(table)
    var configuration = [
      "values ~ N(\(Self.populationMean), \(Self.populationDeviation)²), \(trials) batches per batch size m ∈ "
        + "\(Self.batchSizes.map(String.init).joined(separator: ", "))",
      "statistics from BatchNorm<Double> in .batchStatistics mode, one channel per batch",
      "intervals: mean ± \(Self.confidenceZ) standard errors (99.9%)", "seed \(context.seed)",
    ]
    var tables = [table]
    var figures = [Self.figure(table)]
    if let data = context.data {
      let network = try Self.network(context, data: data)
      tables.append(network.table)
      figures.append(Self.networkFigure(network.table))
      configuration += network.configuration
      let consequence = Self.networkVerdict(network.table)
      verdict.findings += " " + consequence.findings
      if verdict.verdict == .holds && !consequence.holds { verdict.verdict = .mixed }
    } else {
      configuration.append("network half skipped: no data set loaded")
    }
    return ExperimentReport(
      name: name, title: "Bessel's correction: why inference uses m/(m − 1)",
      claim: "The biased batch variance underestimates the population variance by (m − 1)/m on average; "
        + "m/(m − 1) times it is unbiased, because the squared deviations around the sample mean never exceed "
        + "those around the population mean"
        + (context.data == nil ? "." : "; in a network trained with small batches, a biased running variance costs test accuracy."),
      configuration: configuration, tables: tables, figures: figures, verdict: verdict.verdict,
      findings: verdict.findings,
      wallSeconds: Date().timeIntervalSince(start))
  }

  /// The mean estimate over σ² against m, with its interval, next to the theory.
  static func figure(_ table: DataTable) -> Figure {
    let m = table.column("m")
    let chart = LineChart(
      title: "Batch variance over population variance, by batch size",
      xAxis: Axis("batch size m", scale: .logarithmic, ticks: batchSizes.map(Double.init)),
      yAxis: Axis("mean estimate / σ²"),
      series: [
        Series(
          name: "theory for the biased variance, (m − 1)/m", x: m, y: table.column("expected_biased_ratio"),
          color: Palette.neutral, style: .dashed),
        Series(
          name: "biased: 1/m · Σ(x − x̄)²", x: m, y: table.column("biased_ratio"), color: Palette.withoutBatchNorm,
          marker: .circle,
          band: BandPoint.band(x: m, lower: table.column("biased_ci_low"), upper: table.column("biased_ci_high"))),
        Series(
          name: "unbiased: 1/(m − 1) · Σ(x − x̄)²", x: m, y: table.column("unbiased_ratio"),
          color: Palette.withBatchNorm, marker: .square,
          band: BandPoint.band(x: m, lower: table.column("unbiased_ci_low"), upper: table.column("unbiased_ci_high"))),
      ],
      referenceLines: [ReferenceLine(.horizontal, at: 1, label: "population variance")],
      legend: .below)
    return Figure(
      name: "bessel_ratio",
      caption: "Mean over many batches of the batch variance divided by σ², with 99.9% intervals (bands). "
        + "The biased estimate follows (m − 1)/m; multiplied by m/(m − 1) it is unbiased at every m.",
      svg: chart.svg())
  }

  /// The biased variance of each of `trials` batches of `batchSize` values, and how often
  /// Σ(x − x̄)² exceeded Σ(x − µ)².
  static func simulate(
    batchSize: Int, trials: Int, using generator: inout SeededGenerator
  ) throws -> (biased: [Double], violations: Int, smallestGap: Double) {
    // Batch n = sample index, channel c = trial: (N, C) = (m, trials).
    var values = [Double](repeating: 0, count: batchSize * trials)
    for index in values.indices { values[index] = populationMean + populationDeviation * generator.nextGaussian() }
    var layer = try BatchNorm<Double>(channels: trials, configuration: .init(isAffine: false, tracksRunningStatistics: false))
    let context = try layer.forward(values, shape: BatchNormShape(batch: batchSize, channels: trials), mode: .batchStatistics).context
    guard let statistics = context.batchStatistics else { preconditionFailure("batch statistics mode measures statistics") }
    var violations = 0
    var smallestGap = Double.infinity
    for trial in 0..<trials {
      var aroundPopulationMean = 0.0
      for sample in 0..<batchSize {
        let deviation = values[sample * trials + trial] - populationMean
        aroundPopulationMean += deviation * deviation
      }
      let gap = aroundPopulationMean - statistics.channels[trial].sumOfSquaredDeviations
      if gap < 0 { violations += 1 }
      smallestGap = min(smallestGap, gap)
    }
    return (statistics.biasedVariance, violations, smallestGap)
  }

  /// The mean of `values` and its confidence interval.
  static func meanAndInterval(_ values: [Double]) -> (mean: Double, low: Double, high: Double) {
    let count = Double(values.count)
    let mean = values.reduce(0, +) / count
    let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (count - 1)
    let halfWidth = confidenceZ * (variance / count).squareRoot()
    return (mean, mean - halfWidth, mean + halfWidth)
  }

  static func verdict(_ table: DataTable) -> (verdict: Verdict, findings: String) {
    let m = table.column("m")
    let expected = table.column("expected_biased_ratio")
    let biased = zip(table.column("biased_ci_low"), table.column("biased_ci_high"))
    let unbiased = zip(table.column("unbiased_ci_low"), table.column("unbiased_ci_high"))
    let biasedMisses = zip(biased, expected).filter { !($0.0...$0.1).contains($1) }.count
    let unbiasedMisses = unbiased.filter { !($0.0...$0.1).contains(1) }.count
    let violations = Int(table.column("violations").reduce(0, +))
    let ratioAtTwo = table.column("biased_ratio")[0]
    let holds = biasedMisses == 0 && unbiasedMisses == 0 && violations == 0
    let findings = """
      At m = \(Int(m[0])) the biased batch variance averaged \(String(format: "%.3f", ratioAtTwo)) of σ² \
      (theory: \(String(format: "%.3f", expected[0]))); multiplied by m/(m − 1) it averaged \
      \(String(format: "%.3f", table.column("unbiased_ratio")[0])). Over all \(m.count) batch sizes the 99.9% \
      interval of the biased ratio missed (m − 1)/m \(biasedMisses) times and that of the corrected ratio missed 1 \
      \(unbiasedMisses) times. Σ(x − x̄)² exceeded Σ(x − µ)² in \(violations) of \
      \(Int(table.column("trials").reduce(0, +))) batches.
      """
    return (holds ? .holds : .doesNotHold, findings)
  }
}

// MARK: The network half

extension BesselExperiment {
  /// The training batch sizes of the network half.
  static let networkBatchSizes = [2, 4, 8]
  /// The evaluation methods of the network half, as (CSV column, legend label).
  static let networkMethods: [(column: String, label: String)] = [
    ("test_accuracy_running_unbiased", "running variance, unbiased (default)"),
    ("test_accuracy_running_biased", "running variance, biased (bn:biased)"),
    ("test_accuracy_recalibrated_unbiased", "recalibrated, × m/(m − 1) (Alg. 2)"),
    ("test_accuracy_recalibrated_biased", "recalibrated, biased"),
    ("test_accuracy_batch_statistics", "batch statistics at test time"),
  ]

  /// Trains at each m and seed and evaluates the same weights every way; also the ratio of
  /// the first BN layer's running variance to the variance of its input over the
  /// recalibration examples (mean over features), for each estimator.
  static func network(_ context: LabContext, data: LabData) throws -> (table: DataTable, configuration: [String]) {
    // The small-batch experiment's setup, subsets, network and seeds: its runs at m = 2, 4, 8 are these.
    let setup = SmallBatchExperiment.setup(context.budget)
    let train = try BatchStatisticsSupport.shuffledPrefix(data.train, count: setup.trainCount, seed: context.seed &+ 60)
    let test = try BatchStatisticsSupport.shuffledPrefix(data.test, count: setup.testCount, seed: context.seed &+ 61)
    let architecture = try Architecture(parsing: SmallBatchExperiment.architecture)
    var table = DataTable(
      name: "bessel_network",
      columns: ["m", "seed", "steps", "diverged"] + networkMethods.map(\.column) + [
        "variance_ratio_running_unbiased", "variance_ratio_running_biased",
      ])
    for m in networkBatchSizes {
      for seedOffset in 0..<setup.seeds {
        let seed = context.seed &+ UInt64(seedOffset)
        let steps = setup.examples / m
        context.progress("bessel: network, m = \(m), seed \(seed), \(steps) steps")
        var generator = SeededGenerator(seed: seed)
        let network: Sequential<Float> = try architecture.makeNetwork(sampleShape: [784], using: &generator)
        var copies = RunningStatisticsCopies(
          model: network, policies: [{ $0.runningVarianceEstimator = .unbiased }, { $0.runningVarianceEstimator = .biased }])
        let outcome = try BatchStatisticsSupport.train(
          network,
          optimizer: SGD(
            schedule: .constant(SmallBatchExperiment.learningRate(batchSize: m)), momentum: SmallBatchExperiment.momentum),
          data: train, sampler: .iid(batchSize: m), steps: steps, seed: seed &+ 1000
        ) { copies.observe(layerIndex: $0, input: $1) }
        let unbiased = try copies.applying(0, to: outcome.model)
        let biased = try copies.applying(1, to: outcome.model)
        let batchCount = max(1, setup.recalibrationExamples / m)
        var accuracies = [try unbiased.evaluate(test).accuracy, try biased.evaluate(test).accuracy]
        for model in [unbiased, biased] {
          let recalibrated = try BatchStatisticsSupport.recalibrated(
            model, data: train, sampler: .iid(batchSize: m), batchCount: batchCount, seed: seed &+ 2000)
          accuracies.append(try recalibrated.evaluate(test).accuracy)
        }
        accuracies.append(
          try BatchStatisticsSupport.usingBatchStatistics(outcome.model).evaluate(test, batchSize: m).accuracy)
        let population = try firstLayerInputVariance(
          outcome.model, layerIndex: copies.layerIndices[0], data: train, count: setup.recalibrationExamples)
        func ratio(_ policy: Int) -> Double {
          let running = copies.firstLayerVariance(policy)
          return zip(running, population).map { Double($0) / $1 }.reduce(0, +) / Double(population.count)
        }
        let run: DataTable.Row = [
          ("m", Double(m)), ("seed", Double(seed)), ("steps", Double(outcome.steps)), ("diverged", outcome.diverged ? 1 : 0),
        ]
        table.append(
          run + Array(zip(networkMethods.map(\.column), accuracies))
            + [("variance_ratio_running_unbiased", ratio(0)), ("variance_ratio_running_biased", ratio(1))])
      }
    }
    let configuration = [
      "network half: \(data.source), \(train.count) training and \(test.count) test images; "
        + "\(SmallBatchExperiment.architecture); SGD momentum \(SmallBatchExperiment.momentum), learning rate "
        + "0.1·√(m/64), \(setup.examples) training examples per run (the small-batch experiment's runs at these m)",
      "running statistics with momentum 0.1, variance unbiased and biased kept from the same run; recalibration: "
        + "Algorithm 2 over \(setup.recalibrationExamples) training examples in batches of m; batch statistics: "
        + "test batches of m; seeds \(context.seed) + 0…\(setup.seeds - 1), error bars min–max",
      "variance ratio: the first BN layer's running variance over the variance of its input across the "
        + "\(setup.recalibrationExamples) recalibration examples, averaged over its 100 features",
    ]
    return (table, configuration)
  }

  /// The variance of each input feature of layer `layerIndex` over the first `count` samples of `data`.
  static func firstLayerInputVariance(
    _ model: Sequential<Float>, layerIndex: Int, data: LabeledSamples<Float>, count: Int
  ) throws -> [Double] {
    var model = model
    var sum: [Double] = []
    var sumOfSquares: [Double] = []
    var seen = 0
    let count = min(count, data.count)
    for start in stride(from: 0, to: count, by: 1000) {
      let (input, _) = BatchStatisticsSupport.batch(data, Array(start..<min(start + 1000, count)))
      _ = try model.forward(input, mode: .inference) { index, activation in
        guard index == layerIndex else { return }
        let features = activation.shape[1]
        if sum.isEmpty {
          sum = Array(repeating: 0, count: features)
          sumOfSquares = Array(repeating: 0, count: features)
        }
        for row in 0..<activation.shape[0] {
          for feature in 0..<features {
            let value = Double(activation.scalars[row * features + feature])
            sum[feature] += value
            sumOfSquares[feature] += value * value
          }
        }
        seen += activation.shape[0]
      }
    }
    let n = Double(seen)
    return zip(sum, sumOfSquares).map { ($1 - $0 * $0 / n) / (n - 1) }
  }

  static func networkFigure(_ table: DataTable) -> Figure {
    let colors = [Palette.withBatchNorm, Palette.withoutBatchNorm, Color(0x73B1D5), Color(0xE8A673), Palette.categorical(2)]
    let m = table.column("m")
    let series = zip(networkMethods, colors).map { method, color in
      let spreads = networkBatchSizes.map { size in
        BatchStatisticsSupport.spread(m.indices.filter { m[$0] == Double(size) }.map { table.column(method.column)[$0] })
      }
      return BarSeries(
        name: method.label, values: spreads.map(\.mean), color: color,
        errors: spreads.map { ErrorBar(lower: $0.low, upper: $0.high) })
    }
    let chart = BarChart(
      title: "Test accuracy after training with batches of m, by evaluation statistics",
      categories: networkBatchSizes.map { "m = \($0)" }, categoryTitle: "training batch size",
      yAxis: Axis("test accuracy", range: 0...1), series: series, legend: .below)
    return Figure(
      name: "bessel_network",
      caption: "The same trained weights evaluated with the running variance kept unbiased (m/(m − 1) times the batch "
        + "variance, the default) or biased, with population statistics recalibrated either way, and with the "
        + "statistics of test batches of m. Error bars: min–max over seeds.",
      svg: chart.svg())
  }

  /// Whether the biased running variance cost accuracy at the smallest m (more than half a
  /// point, mean over seeds), and the findings.
  static func networkVerdict(_ table: DataTable) -> (holds: Bool, findings: String) {
    typealias S = BatchStatisticsSupport
    let m = table.column("m")
    func mean(_ column: String, _ size: Int) -> Double {
      S.spread(m.indices.filter { m[$0] == Double(size) }.map { table.column(column)[$0] }).mean
    }
    let smallest = networkBatchSizes[0]
    let runningCost = mean("test_accuracy_running_unbiased", smallest) - mean("test_accuracy_running_biased", smallest)
    let recalibratedCost =
      mean("test_accuracy_recalibrated_unbiased", smallest) - mean("test_accuracy_recalibrated_biased", smallest)
    let holds = runningCost > 0.005
    let rows = networkBatchSizes.map { size in
      "m = \(size): running unbiased \(percent(mean("test_accuracy_running_unbiased", size))), biased "
        + "\(percent(mean("test_accuracy_running_biased", size))), recalibrated unbiased "
        + "\(percent(mean("test_accuracy_recalibrated_unbiased", size))), biased "
        + "\(percent(mean("test_accuracy_recalibrated_biased", size))), batch statistics "
        + "\(percent(mean("test_accuracy_batch_statistics", size))); running variance over the input's variance "
        + "\(decimals(mean("variance_ratio_running_unbiased", size), digits: 2)) unbiased, "
        + "\(decimals(mean("variance_ratio_running_biased", size), digits: 2)) biased "
        + "((m − 1)/m = \(decimals(Double(size - 1) / Double(size), digits: 2)))"
    }
    let findings = """
      In a network trained with small batches (mean over seeds), \(rows.joined(separator: "; ")). So the unbiased \
      running variance does estimate the population variance, and the biased one falls short by about (m − 1)/m. \
      At m = \(smallest) the unbiased running variance scored \(decimals(100 * abs(runningCost), digits: 1)) points \
      \(runningCost >= 0 ? "above" : "below") the biased one (recalibrated: \(decimals(100 * abs(recalibratedCost), digits: 1)) \
      points \(recalibratedCost >= 0 ? "above" : "below")): \(holds ? "the correction pays off in accuracy" : "the statistically right estimate did not give the better network. Training normalizes with the biased batch variance (at m = 2 every normalized value is ±1), and the network does better at test time with the larger normalized values that the smaller, biased variance gives: a train–test mismatch that Bessel's correction does not address").
      """
    return (holds, findings)
  }
}
