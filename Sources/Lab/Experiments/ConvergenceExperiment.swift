import Foundation
import NeuralNetwork
import Plots

/// The paper's Figure 1 (§4.1): the 784-100-100-100-10 sigmoid network trained with and
/// without batch normalization from the same small Gaussian initialization, the same
/// seeds and the same optimizer: (a) test accuracy against training steps; (b, c) the
/// 15th, 50th and 85th percentiles over training of the input to one sigmoid of the last
/// hidden layer (Wu + b without BN, BN(Wu) with it).
///
/// Both networks run at every learning rate of a small sweep and over several seeds, so
/// they are compared at a shared learning rate and each at its own best (chosen by
/// accuracy on held-out training images, never on the test set).
public struct ConvergenceExperiment: Experiment {
  public let name = "convergence"

  /// The experiment, with its fixed settings.
  public init() {}

  /// The learning rates swept for both networks (SGD with momentum 0.9).
  static let rates = [0.02, 0.1, 0.5]
  /// The learning rate both networks share, fixed before any run.
  static let sharedRate = 0.1
  /// The accuracies whose first crossing is reported.
  static let targets = [0.80, 0.85]
  /// The unit of the last hidden layer whose sigmoid input is recorded.
  static let observedUnit = 0

  struct Setup {
    var trainCount: Int
    var validationCount: Int
    /// Test images for the curve (a prefix of the test set).
    var curveTestCount: Int
    /// Test images for the final accuracy.
    var finalTestCount: Int
    var steps: Int
    var evaluateEvery: Int
    var recordEvery: Int
    var seedCount: Int
    var rates: [Double]
  }

  static func setup(_ budget: LabBudget) -> Setup {
    budget.choose(
      quick: Setup(
        trainCount: 2_000, validationCount: 500, curveTestCount: 1_000, finalTestCount: 1_000, steps: 150,
        evaluateEvery: 50, recordEvery: 10, seedCount: 1, rates: [sharedRate, 0.5]),
      standard: Setup(
        trainCount: 55_000, validationCount: 5_000, curveTestCount: 2_000, finalTestCount: 10_000, steps: 5_000,
        evaluateEvery: 250, recordEvery: 50, seedCount: 3, rates: rates),
      full: Setup(
        trainCount: 55_000, validationCount: 5_000, curveTestCount: 10_000, finalTestCount: 10_000, steps: 50_000,
        evaluateEvery: 1_000, recordEvery: 250, seedCount: 3, rates: rates))
  }

  /// The percentiles of the observed sigmoid input over one training batch.
  struct PercentilePoint {
    var step: Int
    var p15: Double
    var p50: Double
    var p85: Double
    var width: Double { p85 - p15 }
  }

  /// One network trained at one learning rate from one seed.
  struct Run {
    var withBatchNorm: Bool
    var rate: Double
    var seedIndex: Int
    var training: TrainingRun
    var percentiles: [PercentilePoint]
    var validationAccuracy: Double
    var testAccuracy: Double

    func stepsToReach(_ target: Double) -> Double { training.stepsToReach(target).map(Double.init) ?? .infinity }
  }

  /// Runs it and reports; see the type's description.
  public func run(_ context: LabContext) throws -> ExperimentReport {
    let start = Date()
    let data = try context.requireData(for: name)
    let setup = Self.setup(context.budget)
    let train = try SigmoidMLP.slice(data.train, 0..<setup.trainCount)
    let validation = try SigmoidMLP.slice(data.train, setup.trainCount..<(setup.trainCount + setup.validationCount))
    let curveTest = try data.testPrefix(setup.curveTestCount)
    let finalTest = try data.testPrefix(setup.finalTestCount)

    var runs: [Run] = []
    func trainOne(_ withBatchNorm: Bool, _ rate: Double, _ seedIndex: Int) throws {
      let runStart = Date()
      let run = try Self.train(
        withBatchNorm: withBatchNorm, rate: rate, seedIndex: seedIndex, seed: context.seed &+ UInt64(seedIndex),
        setup: setup, train: train, validation: validation, curveTest: curveTest, finalTest: finalTest)
      context.progress(
        "convergence: \(withBatchNorm ? "with BN   " : "without BN") η = \(rate), seed \(seedIndex + 1)/\(setup.seedCount): "
          + (run.training.diverged ? "diverged" : "test accuracy \(percent(run.testAccuracy))")
          + " after \(setup.steps) steps (\(String(format: "%.1f", Date().timeIntervalSince(runStart))) s)")
      runs.append(run)
    }
    // The sweep: every rate with the first seed; then the other seeds at the shared rate
    // and at each network's best.
    for withBatchNorm in [false, true] {
      for rate in setup.rates { try trainOne(withBatchNorm, rate, 0) }
    }
    let best = [false, true].map { Self.bestRate(runs, withBatchNorm: $0, rates: setup.rates) }
    for withBatchNorm in [false, true] {
      for rate in Set([Self.sharedRate, best[withBatchNorm ? 1 : 0]]).sorted() {
        for seedIndex in 1..<max(setup.seedCount, 1) { try trainOne(withBatchNorm, rate, seedIndex) }
      }
    }
    let tables = Self.tables(runs, setup: setup, bestRates: best)
    let analysis = Self.analyze(runs, setup: setup, bestRates: best)
    return ExperimentReport(
      name: name, title: "Figure 1: faster training and a stable sigmoid input with batch normalization",
      claim: "With batch normalization the sigmoid MLP trains faster and reaches a higher test accuracy, and the "
        + "distribution of a sigmoid's input stays stable over training, while without it the distribution moves "
        + "in mean and variance (Ioffe & Szegedy 2015, Figure 1).",
      configuration: [
        "data: \(data.source); training on the first \(train.count) training images, learning rates chosen on the "
          + "next \(validation.count) (held out), curves on the first \(curveTest.count) test images, final accuracy on "
          + "\(finalTest.count)",
        "network: 784-100-100-100-10, sigmoid; baseline \(SigmoidMLP.baseline); with BN \(SigmoidMLP.withBatchNorm)",
        "initialization: weights N(0, \(SigmoidMLP.initialStandardDeviation)²), biases 0; the same weights for both "
          + "networks at each seed",
        "optimizer: SGD, momentum \(SigmoidMLP.momentum), constant learning rate η ∈ "
          + "{\(setup.rates.map(SigmoidMLP.rate).joined(separator: ", "))}; shared η = \(Self.sharedRate) "
          + "(fixed in advance); batch \(SigmoidMLP.batchSize), \(setup.steps) steps",
        "seeds \(context.seed) … \(context.seed + UInt64(setup.seedCount - 1)) (initial weights and batch order; "
          + "the same for both networks); the sweep runs every rate with the first seed and chooses each network's "
          + "best rate by its held-out accuracy; the other seeds run at the shared and the best rates; bands are "
          + "min–max over seeds",
        "sigmoid input: unit \(Self.observedUnit) of the last hidden layer, percentiles over the current training "
          + "batch of \(SigmoidMLP.batchSize) every \(setup.recordEvery) steps",
        "test accuracy every \(setup.evaluateEvery) steps (inference mode, running statistics)",
      ],
      tables: tables, figures: Self.figures(runs, setup: setup, bestRates: best), verdict: analysis.verdict,
      findings: analysis.findings, wallSeconds: Date().timeIntervalSince(start))
  }

  static func train(
    withBatchNorm: Bool, rate: Double, seedIndex: Int, seed: UInt64, setup: Setup, train: LabeledSamples<Float>,
    validation: LabeledSamples<Float>, curveTest: LabeledSamples<Float>, finalTest: LabeledSamples<Float>
  ) throws -> Run {
    let network = try SigmoidMLP.network(withBatchNorm ? SigmoidMLP.withBatchNorm : SigmoidMLP.baseline, seed: seed)
    guard let observed = SigmoidMLP.sigmoidIndices(network).last else { preconditionFailure("the MLP has sigmoids") }
    var forwardPasses = 0
    var percentiles: [PercentilePoint] = []
    let training = try TrainingRun.record(
      network: network, optimizer: SigmoidMLP.optimizer(rate: rate), batchSize: SigmoidMLP.batchSize, seed: seed,
      train: train, evaluation: curveTest, steps: setup.steps, evaluateEvery: setup.evaluateEvery,
      observer: { layer, input in
        if layer == 0 { forwardPasses += 1 }
        // The forward pass of step s (0-based) sees the weights after s updates.
        let step = forwardPasses - 1
        guard layer == observed, step % setup.recordEvery == 0 else { return }
        let values = SigmoidMLP.column(input, unit: observedUnit).sorted()
        percentiles.append(
          PercentilePoint(
            step: step, p15: SigmoidMLP.quantile(sorted: values, 0.15), p50: SigmoidMLP.quantile(sorted: values, 0.5),
            p85: SigmoidMLP.quantile(sorted: values, 0.85)))
      })
    let validationAccuracy = training.diverged ? .nan : try training.model.evaluate(validation).accuracy
    let testAccuracy = training.diverged ? .nan : try training.model.evaluate(finalTest).accuracy
    return Run(
      withBatchNorm: withBatchNorm, rate: rate, seedIndex: seedIndex, training: training, percentiles: percentiles,
      validationAccuracy: validationAccuracy, testAccuracy: testAccuracy)
  }

  /// The rate with the highest held-out accuracy with the first seed (a diverged run
  /// counts as worst).
  static func bestRate(_ runs: [Run], withBatchNorm: Bool, rates: [Double]) -> Double {
    let scores = rates.map { rate -> Double in
      let mean = SigmoidMLP.mean(
        runs.filter { $0.withBatchNorm == withBatchNorm && $0.rate == rate && $0.seedIndex == 0 }.map(\.validationAccuracy))
      return mean.isFinite ? mean : -1
    }
    return rates[scores.indices.max { scores[$0] < scores[$1] } ?? 0]
  }

  static func runs(_ runs: [Run], withBatchNorm: Bool, rate: Double) -> [Run] {
    runs.filter { $0.withBatchNorm == withBatchNorm && $0.rate == rate }.sorted { $0.seedIndex < $1.seedIndex }
  }

  // MARK: Tables

  static func tables(_ runs: [Run], setup: Setup, bestRates: [Double]) -> [DataTable] {
    var summary = DataTable(
      name: "convergence_runs",
      columns: [
        "with_bn", "learning_rate", "seed_index", "is_shared_rate", "is_own_best_rate", "diverged",
        "validation_accuracy", "final_test_accuracy",
      ] + targets.map { "steps_to_\(Int(($0 * 100).rounded()))pct" } + [
        "sigmoid_p50_start", "sigmoid_p50_end", "sigmoid_width_start", "sigmoid_width_end",
      ])
    var curves = DataTable(
      name: "convergence_curves",
      columns: ["with_bn", "learning_rate", "seed_index", "step", "test_accuracy", "training_loss"])
    var sigmoid = DataTable(
      name: "convergence_sigmoid_input",
      columns: ["with_bn", "learning_rate", "seed_index", "step", "p15", "p50", "p85"])
    for run in runs {
      let flag = run.withBatchNorm ? 1.0 : 0.0
      let first = run.percentiles.first
      let last = run.percentiles.last
      var row: DataTable.Row = [
        ("with_bn", flag), ("learning_rate", run.rate), ("seed_index", Double(run.seedIndex)),
        ("is_shared_rate", run.rate == sharedRate ? 1 : 0),
        ("is_own_best_rate", run.rate == bestRates[run.withBatchNorm ? 1 : 0] ? 1 : 0),
        ("diverged", run.training.diverged ? 1 : 0), ("validation_accuracy", run.validationAccuracy),
        ("final_test_accuracy", run.testAccuracy),
      ]
      for target in targets {
        row.append(("steps_to_\(Int((target * 100).rounded()))pct", run.training.stepsToReach(target).map(Double.init) ?? .nan))
      }
      row += [
        ("sigmoid_p50_start", first?.p50 ?? .nan), ("sigmoid_p50_end", last?.p50 ?? .nan),
        ("sigmoid_width_start", first?.width ?? .nan), ("sigmoid_width_end", last?.width ?? .nan),
      ]
      summary.append(row)
      for index in run.training.steps.indices {
        curves.append([
          "with_bn": flag,
          "learning_rate": run.rate,
          "seed_index": Double(run.seedIndex),
          "step": Double(run.training.steps[index]),
          "test_accuracy": run.training.testAccuracy[index],
          "training_loss": run.training.trainingLoss[index],
        ])
      }
      for point in run.percentiles {
        sigmoid.append([
          "with_bn": flag,
          "learning_rate": run.rate,
          "seed_index": Double(run.seedIndex),
          "step": Double(point.step),
          "p15": point.p15,
          "p50": point.p50,
          "p85": point.p85,
        ])
      }
    }
    return [summary, curves, sigmoid]
  }

  // MARK: Figures

  static func label(_ withBatchNorm: Bool) -> String { withBatchNorm ? "with BN" : "without BN" }
  static func color(_ withBatchNorm: Bool) -> Color { withBatchNorm ? Palette.withBatchNorm : Palette.withoutBatchNorm }

  static func figures(_ runs: [Run], setup: Setup, bestRates: [Double]) -> [Figure] {
    let seeds = setup.seedCount
    let seedText = seeds == 1 ? "1 seed" : "mean of \(seeds) seeds, band min–max"
    // The paper's panel spans 0.7–1.0; here the top follows the data and the range is
    // 0.35 tall, so the end differences show (the first points fall below it).
    let top = min(1, ((runs.flatMap(\.training.testAccuracy).filter(\.isFinite).max() ?? 1) / 0.05 + 0.5).rounded(.up) * 0.05)
    let accuracyRange = max(0, top - 0.35)...top
    func accuracyChart(title: String, rates: [Double]) -> LineChart {
      let series = [false, true].map { withBatchNorm -> Series in
        let rate = rates[withBatchNorm ? 1 : 0]
        let group = Self.runs(runs, withBatchNorm: withBatchNorm, rate: rate)
        let steps = group[0].training.steps.map(Double.init)
        let spread = SigmoidMLP.spread(group.map(\.training.testAccuracy))
        return Series(
          name: "\(label(withBatchNorm)), η = \(rate) (\(seedText))", x: steps, y: spread.mean,
          color: color(withBatchNorm), band: BandPoint.band(x: steps, lower: spread.low, upper: spread.high))
      }
      return LineChart(
        title: title, xAxis: Axis("training steps", unit: "batches of \(SigmoidMLP.batchSize)"),
        yAxis: Axis("test accuracy", range: accuracyRange), series: series,
        referenceLines: targets.map { ReferenceLine(.horizontal, at: $0, label: percent($0)) },
        legend: .below, width: 520, height: 400)
    }
    let accuracy = ChartGrid(
      title: "(a) Test accuracy during training", columns: 2,
      charts: [
        accuracyChart(title: "Shared learning rate η = \(sharedRate)", rates: [sharedRate, sharedRate]),
        accuracyChart(title: "Each at its own best learning rate", rates: bestRates),
      ])

    // (b, c): one seed, as the paper, with the same y range in every panel.
    let panels: [(withBatchNorm: Bool, rate: Double, title: String)] = [
      (false, sharedRate, "without BN, shared η = \(sharedRate)"), (true, sharedRate, "with BN, shared η = \(sharedRate)"),
      (false, bestRates[0], "without BN, its best η = \(bestRates[0])"),
      (true, bestRates[1], "with BN, its best η = \(bestRates[1])"),
    ]
    let panelRuns = panels.compactMap { panel in Self.runs(runs, withBatchNorm: panel.withBatchNorm, rate: panel.rate).first }
    let finite = panelRuns.flatMap { $0.percentiles.flatMap { [$0.p15, $0.p85] } }.filter(\.isFinite)
    let low = (finite.min() ?? -1).rounded(.down)
    let high = (finite.max() ?? 1).rounded(.up)
    let range = low < high ? low...high : (low - 1)...(high + 1)
    let percentileCharts = zip(panels, panelRuns).map { panel, run -> any Chart in
      let steps = run.percentiles.map { Double($0.step) }
      let p15 = run.percentiles.map(\.p15)
      let p50 = run.percentiles.map(\.p50)
      let p85 = run.percentiles.map(\.p85)
      let color = color(panel.withBatchNorm)
      return LineChart(
        title: panel.title, xAxis: Axis("training steps", unit: "batches of \(SigmoidMLP.batchSize)"),
        yAxis: Axis("input to the sigmoid", range: range),
        series: [
          Series(name: "85th percentile", x: steps, y: p85, color: color, style: .dashed),
          Series(
            name: "median", x: steps, y: p50, color: color,
            band: BandPoint.band(x: steps, lower: p15, upper: p85)),
          Series(name: "15th percentile", x: steps, y: p15, color: color, style: .dotted),
        ],
        referenceLines: [ReferenceLine(.horizontal, at: 0, label: "0")], legend: .below, width: 460, height: 340)
    }
    let sigmoid = ChartGrid(
      title: "(b, c) Input to sigmoid unit \(observedUnit) of the last hidden layer (seed 1)", columns: 2,
      charts: percentileCharts)

    let sweepSeries = [false, true].map { withBatchNorm -> Series in
      let rates = setup.rates
      let groups = rates.map { Self.runs(runs, withBatchNorm: withBatchNorm, rate: $0).map(\.validationAccuracy) }
      let means = groups.map { SigmoidMLP.mean($0) }
      let lows = groups.map { $0.min() ?? .nan }
      let highs = groups.map { $0.max() ?? .nan }
      return Series(
        name: label(withBatchNorm), x: rates, y: means, color: color(withBatchNorm),
        marker: withBatchNorm ? .square : .circle, band: BandPoint.band(x: rates, lower: lows, upper: highs))
    }
    let sweep = LineChart(
      title: "Held-out accuracy after \(setup.steps) steps, by learning rate",
      xAxis: Axis("learning rate η", scale: .logarithmic, ticks: setup.rates),
      yAxis: Axis("held-out accuracy"), series: sweepSeries,
      referenceLines: [ReferenceLine(.vertical, at: sharedRate, label: "shared η")], legend: .right)
    return [
      Figure(
        name: "convergence_accuracy",
        caption: "Test accuracy (\(setup.curveTestCount) test images) against training steps, \(seedText). "
          + "Left: both networks at the same learning rate; right: each at the rate that did best on held-out "
          + "training images. Dashed lines: the target accuracies. The y axis starts at \(decimals(accuracyRange.lowerBound, digits: 2)), "
          + "so the first points (chance, 10%) lie below it.",
        svg: accuracy.svg()),
      Figure(
        name: "convergence_sigmoid_input",
        caption: "The 15th, 50th and 85th percentiles of the input to one sigmoid of the last hidden layer "
          + "(Wu + b without BN, BN(Wu) with it) over the current training batch, every \(setup.recordEvery) steps; "
          + "the band spans the 15th to the 85th percentile. All panels share one y range.",
        svg: sigmoid.svg()),
      Figure(
        name: "convergence_learning_rates",
        caption: "The learning-rate sweep: accuracy on \(setup.validationCount) held-out training images at the end, "
          + "mean over the seeds run at that rate (all seeds at the shared and the best rates, the first elsewhere), "
          + "band min–max. A missing point means a seed diverged.",
        svg: sweep.svg()),
    ]
  }

  // MARK: Verdict

  /// Whether the BN network beat the baseline at one pair of learning rates, and the numbers.
  struct Comparison {
    var name: String
    var rates: [Double]
    /// Per target: whether BN's slowest seed got there before the baseline's fastest.
    var faster: Bool
    /// BN's worst seed above the baseline's best at the end.
    var higher: Bool
    /// The baseline within half a point of BN, or above it, at the end.
    var caughtUp: Bool
    var text: String
  }

  static func compare(_ runs: [Run], name: String, rates: [Double], setup: Setup) -> Comparison {
    let groups = [false, true].map { Self.runs(runs, withBatchNorm: $0, rate: rates[$0 ? 1 : 0]) }
    func stepsText(_ group: [Run], _ target: Double) -> String {
      let steps = group.map { $0.stepsToReach(target) }
      let reached = steps.filter(\.isFinite)
      guard !reached.isEmpty else { return "not reached in \(setup.steps)" }
      let mean = SigmoidMLP.mean(reached)
      let missing = steps.count - reached.count
      let range = reached.count > 1 ? " [\(Int(reached.min()!))–\(Int(reached.max()!))]" : ""
      return "\(Int(mean.rounded()))\(range)" + (missing > 0 ? " (\(missing) seed\(missing > 1 ? "s" : "") never)" : "")
    }
    let faster = targets.allSatisfy { target in
      let bn = groups[1].map { $0.stepsToReach(target) }.max() ?? .infinity
      let baseline = groups[0].map { $0.stepsToReach(target) }.min() ?? .infinity
      return bn < baseline
    }
    let accuracies = groups.map { $0.map(\.testAccuracy) }
    let finite = accuracies.map { $0.allSatisfy(\.isFinite) }
    let higher = finite[1] && (!finite[0] || accuracies[1].min()! > accuracies[0].max()!)
    let means = accuracies.map { SigmoidMLP.mean($0) }
    let caughtUp = finite[0] && finite[1] && means[0] >= means[1] - 0.005
    let text =
      "\(name) (without BN η = \(rates[0]), with BN η = \(rates[1])): steps to "
      + targets.map { target in
        "\(percent(target)) \(stepsText(groups[1], target)) with BN vs \(stepsText(groups[0], target)) without"
      }.joined(separator: "; ")
      + "; final test accuracy \(percent(means[1])) with BN vs \(percent(means[0])) without "
      + "(\(accuracies.map { $0.map { percent($0) }.joined(separator: "/") }.reversed().joined(separator: " vs ")) per seed)."
    return Comparison(name: name, rates: rates, faster: faster, higher: higher, caughtUp: caughtUp, text: text)
  }

  /// How the observed sigmoid input moved from the first to the last record, averaged
  /// over seeds: the median's shift in units of the final 15–85% width, and the factor by
  /// which the width changed, over the whole run and over its second half.
  struct Movement {
    var medianShift: Double
    var widthFactor: Double
    var lateWidthFactor: Double
    var lateMedianShift: Double
    var start: PercentilePoint
    var end: PercentilePoint

    /// Stable: the median moved less than half a width and the width stayed within a factor 2.
    var stable: Bool { medianShift < 0.5 && widthFactor < 2 && widthFactor > 0.5 }
  }

  static func movement(_ group: [Run]) -> Movement? {
    let usable = group.filter { $0.percentiles.count >= 3 && !$0.training.diverged }
    guard !usable.isEmpty else { return nil }
    func average(_ value: (Run) -> Double) -> Double { SigmoidMLP.mean(usable.map(value)) }
    func shift(_ a: PercentilePoint, _ b: PercentilePoint) -> Double { abs(b.p50 - a.p50) / max(b.width, 1e-12) }
    func factor(_ a: PercentilePoint, _ b: PercentilePoint) -> Double { b.width / max(a.width, 1e-12) }
    let middle = { (run: Run) in run.percentiles[run.percentiles.count / 2] }
    return Movement(
      medianShift: average { shift($0.percentiles.first!, $0.percentiles.last!) },
      widthFactor: exp(average { log(factor($0.percentiles.first!, $0.percentiles.last!)) }),
      lateWidthFactor: exp(average { log(factor(middle($0), $0.percentiles.last!)) }),
      lateMedianShift: average { shift(middle($0), $0.percentiles.last!) },
      start: usable[0].percentiles.first!, end: usable[0].percentiles.last!)
  }

  static func analyze(_ runs: [Run], setup: Setup, bestRates: [Double]) -> (verdict: Verdict, findings: String) {
    let shared = compare(runs, name: "At the shared rate", rates: [sharedRate, sharedRate], setup: setup)
    let own = compare(runs, name: "Each at its own best rate", rates: bestRates, setup: setup)
    func describe(_ m: Movement, _ name: String) -> String {
      "\(name) the median went from \(decimals(m.start.p50, digits: 2)) to \(decimals(m.end.p50, digits: 2)) and the "
        + "15–85% width from \(decimals(m.start.width, digits: 2)) to \(decimals(m.end.width, digits: 2)) (seed 1); over "
        + "seeds the width changed ×\(decimals(m.widthFactor, digits: 2)) in all and ×\(decimals(m.lateWidthFactor, digits: 2)) "
        + "in the second half, and the median moved \(decimals(m.medianShift, digits: 2)) final widths in all and "
        + "\(decimals(m.lateMedianShift, digits: 2)) in the second half"
    }
    /// Whether BN's sigmoid input was stable and the baseline's was not, at `rates`, and the numbers.
    func stability(_ name: String, _ rates: [Double]) -> (Bool, String) {
      let movements = [false, true].map { movement(Self.runs(runs, withBatchNorm: $0, rate: rates[$0 ? 1 : 0])) }
      guard let baseline = movements[0], let bn = movements[1] else {
        return (false, "\(name) the sigmoid input could not be compared: a run diverged.")
      }
      let stable = bn.stable && !baseline.stable
      let conclusion =
        stable
        ? "so it is stable with BN and moves without it, as in Figure 1(b, c)."
        : bn.stable
          ? "so it is stable with BN, but without BN it also stays within the bounds of stability (median shift < 0.5 widths, width within ×2)."
          : "so with BN it does not stay within the bounds of stability (median shift < 0.5 widths, width within ×2): the learned γ and β move it."
      return (stable, "\(name) sigmoid input: " + describe(baseline, "without BN") + "; " + describe(bn, "with BN") + "; " + conclusion)
    }
    let (stable, movementText) = stability("At the shared rate, the", [sharedRate, sharedRate])
    let (stableOwn, ownMovementText) =
      bestRates == [sharedRate, sharedRate]
      ? (stable, "") : stability("At the own best rates, the", bestRates)
    let parts = [shared.faster, own.faster, shared.higher, own.higher, stable, stableOwn]
    let held = parts.filter { $0 }.count
    let verdict: Verdict = held == parts.count ? .holds : held == 0 ? .doesNotHold : .mixed
    func summary(_ comparison: Comparison) -> String {
      "\(comparison.name): BN \(comparison.faster ? "reached every target first in every seed" : "did not reach every target first in every seed")"
        + " and \(comparison.higher ? "ended higher in every seed" : comparison.caughtUp ? "the baseline caught up by the end" : "did not end higher in every seed")."
    }
    let findings =
      [shared.text, own.text, movementText, ownMovementText, summary(shared), summary(own)].filter { !$0.isEmpty }.joined(separator: " ")
      + " Learning rates for 'own best' were chosen on held-out training images: without BN η = \(bestRates[0]), "
      + "with BN η = \(bestRates[1]). \(held) of the \(parts.count) parts of the claim held (faster, higher and a stable "
      + "sigmoid input, at the shared rate and at the own best rates)."
    return (verdict, findings)
  }
}
