import BatchNormalization
import Foundation
import NeuralNetwork
import Plots

/// Higher learning rates and less care for initialization (§3.3 of the paper).
///
/// (a) The 784-100-100-100-10 sigmoid MLP trained with plain SGD at learning rates over
/// three decades, with and without BN, same steps and seeds: final test accuracy, loss
/// curves, divergence. (b) The same networks at Gaussian initializations over two decades
/// of standard deviation, each at its best learning rate from (a). (c) The mechanism the
/// paper gives: BN(Wu) = BN((aW)u), so ∂L/∂(aW) = (1/a)·∂L/∂W and ∂L/∂u is unchanged,
/// measured on one batch.
public struct LearningRateExperiment: Experiment {
  public let name = "learning-rate"

  /// The experiment, with its fixed settings.
  public init() {}

  static let batchSize = 60
  static let architectureWithBN = "linear:100,bn,sigmoid,linear:100,bn,sigmoid,linear:100,bn,sigmoid,linear:10"
  static let architectureWithoutBN = "linear:100,sigmoid,linear:100,sigmoid,linear:100,sigmoid,linear:10"
  /// A learning rate or initialization counts as usable for a network when no seed
  /// diverged and its mean final accuracy is within this of the network's best (and above
  /// ``chanceLevel``).
  static let usableTolerance = 0.05
  /// A final accuracy below this counts as left at chance (10 classes).
  static let chanceLevel = 0.15
  /// The weight scales of the invariance check.
  static let scales = [0.1, 10.0]

  /// The sizes of one budget.
  struct Plan {
    var learningRates: [Double]
    var standardDeviations: [Double]
    var seeds: Int
    var steps: Int
    var every: Int
    var trainCount: Int?
    var curveTestCount: Int
    var finalTestCount: Int
  }

  static func plan(_ budget: LabBudget) -> Plan {
    switch budget {
    case .quick:
      return Plan(
        learningRates: [0.1, 3], standardDeviations: [0.03, 0.3], seeds: 1, steps: 20, every: 10, trainCount: 2_000,
        curveTestCount: 500, finalTestCount: 1_000)
    case .standard:
      return Plan(
        learningRates: [0.01, 0.03, 0.1, 0.3, 1, 3, 10], standardDeviations: [0.01, 0.03, 0.1, 0.3, 1], seeds: 2,
        steps: 1_500, every: 100, trainCount: nil, curveTestCount: 1_000, finalTestCount: 10_000)
    case .full:
      return Plan(
        learningRates: [0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30], standardDeviations: [0.003, 0.01, 0.03, 0.1, 0.3, 1, 3],
        seeds: 3, steps: 10_000, every: 250, trainCount: nil, curveTestCount: 2_000, finalTestCount: 10_000)
    }
  }

  static let sweepColumns = [
    "learning_rate", "batch_norm", "seed", "final_test_accuracy", "final_train_loss", "diverged", "diverged_at_step",
  ]
  static let curveColumns = ["learning_rate", "batch_norm", "seed", "step", "train_loss", "test_accuracy_subset"]
  static let initColumns = [
    "init_std", "batch_norm", "seed", "learning_rate", "final_test_accuracy", "final_train_loss", "diverged",
    "diverged_at_step",
  ]
  static let invarianceColumns = [
    "a", "epsilon", "float64", "max_abs_bn_output_difference", "weight_grad_norm_ratio", "expected_ratio",
    "ratio_relative_error", "max_input_grad_difference_relative",
  ]

  /// Runs it and reports; see the type's description.
  public func run(_ context: LabContext) throws -> ExperimentReport {
    let start = Date()
    let data = try context.requireData(for: name)
    let plan = Self.plan(context.budget)
    let train = try plan.trainCount.map { try data.trainPrefix($0) } ?? data.train
    let curveTest = try data.testPrefix(plan.curveTestCount)
    let finalTest = try data.testPrefix(plan.finalTestCount)
    let seeds = (0..<UInt64(plan.seeds)).map { context.seed &+ $0 }

    // (a) Learning rates.
    var sweep = DataTable(name: "learning_rate_sweep", columns: Self.sweepColumns)
    var curves = DataTable(name: "learning_rate_curves", columns: Self.curveColumns)
    for rate in plan.learningRates {
      for batchNorm in [false, true] {
        for seed in seeds {
          context.progress("learning-rate: lr \(rate), \(batchNorm ? "with" : "without") BN, seed \(seed)")
          let outcome = try Self.train(
            batchNorm: batchNorm, initializer: .pytorchDefault, learningRate: rate, seed: seed, train: train,
            curveTest: curveTest, finalTest: finalTest, plan: plan)
          sweep.append([
            "learning_rate": rate, "batch_norm": batchNorm ? 1 : 0, "seed": Double(seed),
            "final_test_accuracy": outcome.finalAccuracy, "final_train_loss": outcome.finalLoss,
            "diverged": outcome.run.diverged ? 1 : 0, "diverged_at_step": outcome.divergedAt.map(Double.init) ?? .nan,
          ])
          for (index, step) in outcome.run.steps.enumerated() {
            curves.append([
              "learning_rate": rate, "batch_norm": batchNorm ? 1 : 0, "seed": Double(seed), "step": Double(step),
              "train_loss": outcome.run.trainingLoss[index], "test_accuracy_subset": outcome.run.testAccuracy[index],
            ])
          }
        }
      }
    }
    let rateSummary = Self.summarize(sweep, key: "learning_rate", values: plan.learningRates)

    // (b) Initial weight scale, each network at its best learning rate of (a).
    let bestRate = [false, true].map { bn in Self.best(rateSummary[bn ? 1 : 0]).key }
    var initSweep = DataTable(name: "init_scale_sweep", columns: Self.initColumns)
    for deviation in plan.standardDeviations {
      for batchNorm in [false, true] {
        for seed in seeds {
          let rate = bestRate[batchNorm ? 1 : 0]
          context.progress("learning-rate: init N(0, \(deviation)²), \(batchNorm ? "with" : "without") BN, lr \(rate), seed \(seed)")
          let outcome = try Self.train(
            batchNorm: batchNorm, initializer: .gaussian(standardDeviation: deviation), learningRate: rate, seed: seed,
            train: train, curveTest: curveTest, finalTest: finalTest, plan: plan)
          initSweep.append([
            "init_std": deviation, "batch_norm": batchNorm ? 1 : 0, "seed": Double(seed), "learning_rate": rate,
            "final_test_accuracy": outcome.finalAccuracy, "final_train_loss": outcome.finalLoss,
            "diverged": outcome.run.diverged ? 1 : 0, "diverged_at_step": outcome.divergedAt.map(Double.init) ?? .nan,
          ])
        }
      }
    }
    let initSummary = Self.summarize(initSweep, key: "init_std", values: plan.standardDeviations)

    // (c) Scale invariance on one batch.
    context.progress("learning-rate: scale invariance, a ∈ \(Self.scales)")
    let invariance = try Self.scaleInvariance(data: data, seed: context.seed)

    let verdict = Self.verdict(rates: rateSummary, inits: initSummary, invariance: invariance, bestRate: bestRate)
    return ExperimentReport(
      name: name, title: "Learning rate and initialization: what BN tolerates",
      claim: "BN allows much higher learning rates and less care about initialization, because BN(Wu) = BN((aW)u): "
        + "scaling the weights leaves the layer's output unchanged and divides their gradient by a.",
      configuration: [
        "data: \(data.source), \(train.count) training samples; final accuracy on \(finalTest.count) test samples, "
          + "curves on the first \(curveTest.count)",
        "network: 784-100-100-100-10 sigmoid MLP, BN (PyTorch defaults, ε = 1e-5) after each hidden Linear or none",
        "optimizer: plain SGD (no momentum, no weight decay), constant learning rate, batch \(Self.batchSize), "
          + "\(plan.steps) steps per run",
        "(a) learning rates \(plan.learningRates.map { significant($0) }.joined(separator: ", ")), PyTorch's default "
          + "initialization U(±1/√fan_in)",
        "(b) every weight N(0, σ²), σ ∈ \(plan.standardDeviations.map { significant($0) }.joined(separator: ", ")), "
          + "biases 0 (PyTorch's default has std 0.021 in layer 1, 0.058 after); learning rate: each network's best "
          + "of (a): \(significant(bestRate[0])) without BN, \(significant(bestRate[1])) with BN",
        "usable: no seed diverged and the mean final accuracy is within \(Int(Self.usableTolerance * 100)) points of "
          + "that network's best in the sweep and above \(Int(Self.chanceLevel * 100))% (chance is 10%)",
        "(c) Linear 784→100 without bias (PyTorch's default init), BN, sigmoid, Linear 100→10, cross-entropy, on the "
          + "first \(Self.batchSize) training samples; W scaled by a ∈ \(Self.scales.map { significant($0) }.joined(separator: ", ")); "
          + "in Double with ε = 0 (the paper's identity) and in Float with ε = 1e-5 (what training uses)",
        "seeds \(seeds.map(String.init).joined(separator: ", ")) (initial weights and batch order; the same for both networks)",
      ],
      tables: [sweep, curves, initSweep, invariance],
      figures: [
        Self.sweepFigure(
          rateSummary, name: "learning_rate_accuracy", title: "Final test accuracy against learning rate",
          xAxis: Axis("learning rate", scale: .logarithmic, ticks: plan.learningRates),
          caption: "Test accuracy after \(plan.steps) SGD steps at each learning rate (PyTorch's default init): mean over "
            + "\(plan.seeds) seed(s), band from the lowest to the highest seed. A missing point and × mark runs whose "
            + "loss or gradient became non-finite."),
        Self.curvesFigure(curves, rates: plan.learningRates, seed: seeds[0]),
        Self.sweepFigure(
          initSummary, name: "init_scale_accuracy", title: "Final test accuracy against initial weight scale",
          xAxis: Axis("initial weight standard deviation σ", scale: .logarithmic, ticks: plan.standardDeviations),
          caption: "Test accuracy after \(plan.steps) SGD steps with every weight drawn from N(0, σ²), each network at "
            + "its best learning rate of the sweep (\(significant(bestRate[0])) without BN, \(significant(bestRate[1])) "
            + "with BN): mean over \(plan.seeds) seed(s), band from the lowest to the highest. PyTorch's default has "
            + "std 0.021 in layer 1 and 0.058 in layers 2–4."),
      ],
      verdict: verdict.verdict, findings: verdict.findings, wallSeconds: Date().timeIntervalSince(start))
  }

  // MARK: Training

  struct Outcome {
    var run: TrainingRun
    var finalAccuracy: Double
    var finalLoss: Double
    var divergedAt: Int?
  }

  static func train(
    batchNorm: Bool, initializer: Initializer, learningRate: Double, seed: UInt64, train: LabeledSamples<Float>,
    curveTest: LabeledSamples<Float>, finalTest: LabeledSamples<Float>, plan: Plan
  ) throws -> Outcome {
    var generator = SeededGenerator(seed: seed)
    let network: Sequential<Float> = try Architecture(parsing: batchNorm ? architectureWithBN : architectureWithoutBN)
      .makeNetwork(sampleShape: [784], initializer: initializer, using: &generator)
    var completed = 0
    let run = try TrainingRun.record(
      network: network, optimizer: SGD<Float>(schedule: .constant(learningRate)), batchSize: batchSize, seed: seed,
      train: train, evaluation: curveTest, steps: plan.steps, evaluateEvery: plan.every,
      onStep: { report in completed = report.step + 1 })
    let finalAccuracy: Double = run.diverged ? .nan : try run.model.evaluate(finalTest).accuracy
    let finalLoss: Double = run.diverged ? .nan : run.trainingLoss.last ?? .nan
    return Outcome(run: run, finalAccuracy: finalAccuracy, finalLoss: finalLoss, divergedAt: run.diverged ? completed + 1 : nil)
  }

  // MARK: Summaries

  /// One network at one learning rate (or initialization) over the seeds.
  struct Point {
    var key: Double
    /// Mean, lowest and highest final accuracy over the seeds that did not diverge;
    /// NaN when all diverged.
    var mean: Double
    var lowest: Double
    var highest: Double
    var diverged: Int
    var seeds: Int
  }

  /// Per network (index 0 without BN, 1 with), one point per value of `key`.
  static func summarize(_ table: DataTable, key: String, values: [Double]) -> [[Point]] {
    let keys = table.column(key)
    let batchNorm = table.column("batch_norm")
    let accuracy = table.column("final_test_accuracy")
    let diverged = table.column("diverged")
    return [0.0, 1.0].map { bn in
      values.map { value in
        let rows = table.rows.indices.filter { keys[$0] == value && batchNorm[$0] == bn }
        let finite = rows.map { accuracy[$0] }.filter(\.isFinite)
        return Point(
          key: value, mean: finite.isEmpty ? .nan : finite.reduce(0, +) / Double(finite.count),
          lowest: finite.min() ?? .nan, highest: finite.max() ?? .nan,
          diverged: rows.filter { diverged[$0] == 1 }.count, seeds: rows.count)
      }
    }
  }

  /// The point with the highest mean accuracy (the first of equals).
  static func best(_ points: [Point]) -> Point {
    points.filter { $0.mean.isFinite }.max { $0.mean < $1.mean } ?? points[0]
  }

  /// The points within ``usableTolerance`` of the network's best and above ``chanceLevel``,
  /// without divergence.
  static func usable(_ points: [Point]) -> [Point] {
    let top = best(points).mean
    return points.filter { $0.diverged == 0 && $0.mean.isFinite && $0.mean >= max(top - usableTolerance, chanceLevel) }
  }

  // MARK: Scale invariance

  /// For each a and each precision: how far BN((aW)u) is from BN(Wu), ‖∂L/∂(aW)‖/‖∂L/∂W‖
  /// against 1/a, and how far ∂L/∂u moves.
  static func scaleInvariance(data: LabData, seed: UInt64) throws -> DataTable {
    let batch = try data.trainPrefix(batchSize)
    var table = DataTable(name: "scale_invariance", columns: invarianceColumns)
    for a in scales {
      table.append(try invarianceRow(Double.self, a: a, epsilon: 0, batch: batch, seed: seed))
      table.append(try invarianceRow(Float.self, a: a, epsilon: 1e-5, batch: batch, seed: seed))
    }
    return table
  }

  static func invarianceRow<Scalar: NetworkScalar>(
    _: Scalar.Type, a: Double, epsilon: Double, batch: LabeledSamples<Float>, seed: UInt64
  ) throws -> DataTable.Row {
    var generator = SeededGenerator(seed: seed)
    let first = try Linear<Scalar>(inputFeatures: 784, outputFeatures: 100, hasBias: false, using: &generator)
    let head = try Linear<Scalar>(inputFeatures: 100, outputFeatures: 10, using: &generator)
    let input = Tensor<Scalar>(shape: batch.samples.shape, scalars: batch.samples.scalars.map { Scalar(Double($0)) })
    func pass(scale: Double) throws -> (output: [Double], weightGradient: [Double], inputGradient: [Double]) {
      let weight = Tensor<Scalar>(shape: first.weight.shape, scalars: first.weight.scalars.map { $0 * Scalar(scale) })
      var network = Sequential<Scalar>([
        try Linear(weight: weight, bias: nil),
        try BatchNormLayer<Scalar>(.batchNorm1d, channels: 100, configuration: BatchNormConfiguration(epsilon: epsilon)),
        Sigmoid(), head,
      ])
      var output: [Double] = []
      let logits = try network.forward(input, mode: .training) { index, input in
        if index == 2 { output = input.scalars.map { Double($0) } }
      }
      let (_, gradLogits) = try SoftmaxCrossEntropy().evaluate(logits: logits, labels: batch.labels)
      network.zeroGradients()
      let inputGradient = try network.backward(gradLogits)
      return (output, network.gradients[0].scalars.map { Double($0) }, inputGradient.scalars.map { Double($0) })
    }
    let reference = try pass(scale: 1)
    let scaled = try pass(scale: a)
    let outputDifference = zip(reference.output, scaled.output).map { abs($0 - $1) }.max() ?? .nan
    let norm = { (values: [Double]) in values.reduce(0) { $0 + $1 * $1 }.squareRoot() }
    let ratio = norm(scaled.weightGradient) / norm(reference.weightGradient)
    let inputGradientDifference =
      (zip(reference.inputGradient, scaled.inputGradient).map { abs($0 - $1) }.max() ?? .nan)
      / (reference.inputGradient.map(abs).max() ?? .nan)
    return [
      ("a", a), ("epsilon", epsilon), ("float64", Scalar.self == Double.self ? 1 : 0),
      ("max_abs_bn_output_difference", outputDifference), ("weight_grad_norm_ratio", ratio), ("expected_ratio", 1 / a),
      ("ratio_relative_error", abs(ratio * a - 1)), ("max_input_grad_difference_relative", inputGradientDifference),
    ]
  }

  // MARK: Verdict

  static func verdict(
    rates: [[Point]], inits: [[Point]], invariance: DataTable, bestRate: [Double]
  ) -> (verdict: Verdict, findings: String) {
    func describe(_ points: [Point]) -> String {
      points.map { point in
        let accuracy = point.mean.isFinite ? percent(point.mean) : "n/a"
        return "\(significant(point.key)): \(accuracy)" + (point.diverged > 0 ? " (\(point.diverged)/\(point.seeds) diverged)" : "")
      }.joined(separator: ", ")
    }
    func span(_ points: [Point]) -> String {
      guard let low = points.first?.key, let high = points.last?.key else { return "none" }
      return low == high ? significant(low) : "\(significant(low))–\(significant(high)) (\(significant(log10(high / low), digits: 2)) decades)"
    }
    let usableRates = rates.map(usable)
    let usableInits = inits.map(usable)
    let maxUsableRate = usableRates.map { $0.last?.key ?? .nan }
    // (a) BN trains well at a higher learning rate than the baseline can.
    let ratesHold = maxUsableRate[1] > maxUsableRate[0]
    let ratesWider = usableRates[1].count > usableRates[0].count
    // (b) BN is usable over more initial scales.
    let initsHold = usableInits[1].count > usableInits[0].count
    // (c) the identity, in Double with ε = 0.
    let exact = invariance.filter { $0("float64") == 1 }
    let worstDifference = exact.column("max_abs_bn_output_difference").max() ?? .nan
    let worstRatioError = exact.column("ratio_relative_error").max() ?? .nan
    let worstInputGradient = exact.column("max_input_grad_difference_relative").max() ?? .nan
    let invarianceHolds = worstDifference < 1e-6 && worstRatioError < 1e-3
    let float = invariance.filter { $0("float64") == 0 }
    let (scales, differences) = (float.column("a"), float.column("max_abs_bn_output_difference"))
    let (ratios, expected) = (float.column("weight_grad_norm_ratio"), float.column("expected_ratio"))
    let floatText = scales.indices.map { row in
      "a = \(significant(scales[row])): output difference \(significant(differences[row], digits: 2)), "
        + "gradient ratio \(significant(ratios[row], digits: 5)) (1/a = \(significant(expected[row])))"
    }.joined(separator: "; ")

    let bestPoints = rates.map(best)
    var findings = """
      (a) Final test accuracy by learning rate, without BN: \(describe(rates[0])); with BN: \(describe(rates[1])). \
      Best: \(percent(bestPoints[0].mean)) at lr \(significant(bestPoints[0].key)) without BN, \(percent(bestPoints[1].mean)) \
      at lr \(significant(bestPoints[1].key)) with BN. Usable learning rates (within \(Int(usableTolerance * 100)) points of \
      the network's best, no divergence): \(span(usableRates[0])) without BN, \(span(usableRates[1])) with BN. \
      (b) By initial σ, without BN at lr \(significant(bestRate[0])): \(describe(inits[0])); with BN at lr \
      \(significant(bestRate[1])): \(describe(inits[1])). Usable σ: \(span(usableInits[0])) without BN, \
      \(span(usableInits[1])) with BN. (c) In Double with ε = 0, scaling W by a ∈ \
      {\(scales.map { significant($0) }.joined(separator: ", "))} changed the BN output by at most \
      \(significant(worstDifference, digits: 2)), ‖∂L/∂(aW)‖/‖∂L/∂W‖ matched 1/a to a relative \
      \(significant(worstRatioError, digits: 2)), and ∂L/∂u moved by \(significant(worstInputGradient, digits: 2)) of its largest \
      entry. In Float with ε = 1e-5: \(floatText); ε breaks the identity where a²·Var(Wu) is not much larger than ε.
      """
    let divergedRuns = rates.joined().map(\.diverged).reduce(0, +)
    findings += divergedRuns == 0
      ? " No run's loss or gradient became non-finite;"
      : " \(divergedRuns) run(s) of the learning-rate sweep diverged (non-finite loss or gradient);"
    let stalled = [0, 1].map { network in rates[network].filter { $0.mean.isFinite && $0.mean < chanceLevel } }
    let stalledText = stalled.map { points in points.isEmpty ? "none" : points.map { significant($0.key) }.joined(separator: ", ") }
    findings += " learning rates left at chance (final accuracy below \(percent(chanceLevel))): \(stalledText[0]) without "
      + "BN, \(stalledText[1]) with BN."
    if !ratesHold {
      findings += " In this measurement BN did not extend the usable learning rates beyond the baseline's."
    } else if !ratesWider {
      findings += " BN's usable range reaches higher but does not contain more of the swept rates."
    }
    if !initsHold { findings += " BN was not usable over more initial scales than the baseline here." }
    let parts = [ratesHold, initsHold, invarianceHolds]
    let verdict: Verdict = parts.allSatisfy { $0 } ? .holds : parts.contains(true) ? .mixed : .doesNotHold
    return (verdict, findings)
  }

  // MARK: Figures

  static func sweepFigure(_ summary: [[Point]], name: String, title: String, xAxis: Axis, caption: String) -> Figure {
    let series = [false, true].map { bn in
      let points = summary[bn ? 1 : 0]
      return Series(
        name: bn ? "with BN" : "without BN", x: points.map(\.key), y: points.map(\.mean),
        color: bn ? Palette.withBatchNorm : Palette.withoutBatchNorm, marker: bn ? .square : .circle,
        band: BandPoint.band(x: points.map(\.key), lower: points.map(\.lowest), upper: points.map(\.highest)))
    }
    let chart = LineChart(
      title: title, xAxis: xAxis, yAxis: Axis("final test accuracy", range: 0...1), series: series,
      referenceLines: [ReferenceLine(.horizontal, at: 0.1, label: "chance (10 classes)")])
    return Figure(name: name, caption: caption, svg: chart.svg())
  }

  static func curvesFigure(_ curves: DataTable, rates: [Double], seed: UInt64) -> Figure {
    let colors = Palette.sequential(rates.count)
    let charts: [any Chart] = [false, true].map { bn in
      let series = rates.enumerated().map { index, rate in
        let rows = curves.filter {
          $0("learning_rate") == rate && $0("batch_norm") == (bn ? 1 : 0) && $0("seed") == Double(seed) && $0("step") > 0
        }
        return Series(
          name: "lr \(significant(rate))", x: rows.column("step"), y: rows.column("train_loss"), color: colors[index])
      }
      return LineChart(
        title: bn ? "with BN" : "without BN", xAxis: Axis("training step"),
        yAxis: Axis("training loss (cross-entropy)", scale: .logarithmic), series: series, width: 480, height: 380)
    }
    return Figure(
      name: "learning_rate_loss_curves",
      caption: "Training loss (mean over each window of steps, log scale) at every learning rate, seed \(seed), "
        + "without BN (left) and with BN (right); colours run from the smallest learning rate (dark) to the largest "
        + "(light). × marks a run whose loss or gradient became non-finite.",
      svg: ChartGrid(title: "Training loss by learning rate", columns: 2, charts: charts).svg())
  }


}
