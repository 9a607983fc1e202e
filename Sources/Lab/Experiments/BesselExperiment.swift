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
public struct BesselExperiment: Experiment {
  public let name = "bessel"
  public var needsData: Bool { false }

  public init() {}

  /// The batch sizes of the Monte Carlo study.
  static let batchSizes = [2, 3, 4, 8, 16, 32, 64, 128, 256]
  /// Population mean and standard deviation of the simulated values.
  static let populationMean = 3.0
  static let populationDeviation = 2.0
  /// z for a two-sided 99.9% confidence interval: with nine batch sizes and two
  /// estimators, a 95% interval would miss somewhere by chance in most runs.
  static let confidenceZ = 3.29

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
        Double(m), Double(trials), Double(m - 1) / Double(m), biased.mean, biased.low, biased.high, unbiased.mean,
        unbiased.low, unbiased.high, Double(row.violations), row.smallestGap,
      ])
    }
    let verdict = Self.verdict(table)
    return ExperimentReport(
      name: name, title: "Bessel's correction: why inference uses m/(m − 1)",
      claim: "The biased batch variance underestimates the population variance by (m − 1)/m on average; "
        + "m/(m − 1) times it is unbiased, because the squared deviations around the sample mean never exceed "
        + "those around the population mean.",
      configuration: [
        "values ~ N(\(Self.populationMean), \(Self.populationDeviation)²), \(trials) batches per batch size m ∈ "
          + "\(Self.batchSizes.map(String.init).joined(separator: ", "))",
        "statistics from BatchNorm<Double> in .batchStatistics mode, one channel per batch",
        "intervals: mean ± \(Self.confidenceZ) standard errors (99.9%)", "seed \(context.seed)",
      ],
      tables: [table], figures: [Self.figure(table)], verdict: verdict.verdict, findings: verdict.findings,
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
