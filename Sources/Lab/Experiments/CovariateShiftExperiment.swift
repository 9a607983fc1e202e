import Foundation
import NeuralNetwork
import Plots

/// Internal covariate shift (§2 of the paper): "the change in the distribution of network
/// activations due to the change in network parameters during training", which the article
/// says BN reduces and which it gives as the reason BN trains faster. Santurkar et al. 2018
/// ("How Does Batch Normalization Help Optimization?") measured it and found that BN need
/// not reduce it.
///
/// The paper's sigmoid MLP (784-100-100-100-10, batch 60, SGD with momentum) with and
/// without BN, over several seeds. At regular steps t, for the input of each Linear layer
/// i = 2, 3, 4 (the previous sigmoid's output, on the same scale with and without BN), it
/// measures the change that the one training step t → t + 1 makes:
/// - distributional: on a fixed probe batch (training mode, a copy of the network, so the
///   running statistics are untouched), per unit the shift of the mean in units of the
///   standard deviation |µ′ − µ|/σ, the log ratio of standard deviations |ln(σ′/σ)|, and
///   the 1-D Wasserstein distance W₁ between the unit's values before and after, each
///   averaged over the units;
/// - Santurkar's Definition 2.1: G = ∂L/∂W_i on the step's batch with every layer at t,
///   and G′ the same gradient on the same batch after the layers below i have taken the
///   step's update (layers i and above at t; BN with batch statistics, on a copy):
///   ‖G − G′‖₂/‖G‖₂ and cos(G, G′).
public struct CovariateShiftExperiment: Experiment {
  public let name = "ics"

  /// The experiment, with its fixed settings.
  public init() {}

  /// SGD's learning rate, the one at which the convergence experiment's two networks both train.
  static let learningRate = 0.1
  /// The probe batch's size: enough values per unit for a distribution.
  static let probeSize = 500
  /// The Linear layers whose inputs are measured (1-based; layer 1's input is the data).
  static let measuredLayers = [2, 3, 4]
  /// A measure must fall below this share of the baseline's to count as reduced by BN.
  static let reductionShare = 0.8

  typealias Setup = SigmoidMLP.Schedule

  static func setup(_ budget: LabBudget) -> Setup {
    budget.choose(
      quick: Setup(steps: 20, every: 10, seeds: 1, testCount: 500),
      standard: Setup(steps: 3_000, every: 100, seeds: 3, testCount: 5_000),
      full: Setup(steps: 20_000, every: 500, seeds: 5, testCount: 10_000))
  }

  static let shiftColumns = [
    "batch_norm", "seed", "step", "layer", "mean_shift", "std_log_ratio", "wasserstein", "gradient_change",
    "gradient_cosine",
  ]
  static let trainingColumns = ["batch_norm", "seed", "step", "train_loss", "test_accuracy"]

  /// Runs it and reports; see the type's description.
  public func run(_ context: LabContext) throws -> ExperimentReport {
    let start = Date()
    let data = try context.requireData(for: name)
    let setup = Self.setup(context.budget)
    let train = context.budget == .quick ? try data.trainPrefix(2_000) : data.train
    let test = try data.testPrefix(setup.testCount)
    let probe = try data.trainPrefix(Self.probeSize).samples
    var shifts = DataTable(name: "ics_shift", columns: Self.shiftColumns)
    var training = DataTable(name: "ics_training", columns: Self.trainingColumns)
    for batchNorm in [false, true] {
      for seedOffset in 0..<setup.seeds {
        let seed = context.seed &+ UInt64(seedOffset)
        context.progress("ics: \(batchNorm ? "with" : "without") BN, seed \(seed), \(setup.steps) steps")
        try Self.measure(
          batchNorm: batchNorm, seed: seed, train: train, test: test, probe: probe, setup: setup, shifts: &shifts,
          training: &training)
      }
    }
    let summaries = [false, true].map { Self.summary(shifts, training, batchNorm: $0) }
    let verdict = Self.verdict(summaries)
    return ExperimentReport(
      name: name, title: "Internal covariate shift: does BN reduce it?",
      claim: "BN reduces internal covariate shift, the change of each layer's input distribution as the layers "
        + "below it learn, and that is why it trains faster (Santurkar et al. 2018 found that it need not).",
      configuration: [
        "data: \(data.source), \(train.count) training samples, \(test.count) test samples for the accuracy",
        "networks: \(SigmoidMLP.withBatchNorm) against \(SigmoidMLP.baseline), weights N(0, "
          + "\(SigmoidMLP.initialStandardDeviation)²), biases 0",
        "SGD, learning rate \(Self.learningRate), momentum \(SigmoidMLP.momentum), batch \(SigmoidMLP.batchSize), "
          + "\(setup.steps) steps, measured every \(setup.every) steps",
        "distributional shift of each Linear layer's input (layers \(Self.measuredLayers.map(String.init).joined(separator: ", "))) "
          + "over one training step, on a fixed probe of \(Self.probeSize) training images in training mode: per unit "
          + "|µ′ − µ|/σ, |ln(σ′/σ)| and W₁ (values in [0, 1], the sigmoid's output), averaged over units",
        "Santurkar's Definition 2.1: G = ∂L/∂W_i on the step's batch, G′ after the layers below i took the step's "
          + "update; ‖G − G′‖/‖G‖ and cos(G, G′)",
        "seeds \(context.seed) + 0…\(setup.seeds - 1) (initialization and batch order); a measure counts as reduced "
          + "by BN below \(Int(Self.reductionShare * 100)) % of the baseline's",
      ],
      tables: [shifts, training], figures: [Self.figure(shifts, training)], verdict: verdict.verdict,
      findings: verdict.findings, wallSeconds: Date().timeIntervalSince(start))
  }

  /// Trains one network, appending a row per measured layer and point to `shifts` and a
  /// row per point to `training`.
  static func measure(
    batchNorm: Bool, seed: UInt64, train: LabeledSamples<Float>, test: LabeledSamples<Float>, probe: Tensor<Float>,
    setup: Setup, shifts: inout DataTable, training: inout DataTable
  ) throws {
    var network = try SigmoidMLP.network(batchNorm ? SigmoidMLP.withBatchNorm : SigmoidMLP.baseline, seed: seed)
    var optimizer = SigmoidMLP.optimizer(rate: learningRate)
    let linear = network.layers.indices.filter { network.layers[$0] is Linear<Float> }
    let weights = linear.map { layer in network.parameterNames.firstIndex(of: "\(layer).weight")! }
    var batches = SigmoidMLP.Batches(train, seed: seed &+ 500)
    var lossSum = 0.0
    var lossCount = 0
    for step in 0..<setup.steps {
      let (input, labels) = batches.next()
      let measuring = step % setup.every == 0
      // A copy only where it is measured: held across the step, it would make the step
      // copy every layer's storage (copy on write).
      let before = measuring ? network : nil
      let probeBefore = try before.map { try layerInputs($0, probe: probe, linear: linear) } ?? []
      let logits = try network.forward(input, mode: .training)
      let (loss, gradient) = try SoftmaxCrossEntropy().evaluate(logits: logits, labels: labels)
      network.zeroGradients()
      _ = try network.backward(gradient)
      let gradients = network.gradients
      optimizer.step(&network)
      lossSum += Double(loss)
      lossCount += 1
      guard let before else { continue }
      let probeAfter = try layerInputs(network, probe: probe, linear: linear)
      for layer in measuredLayers {
        let distribution = distributionChange(probeBefore[layer - 1], probeAfter[layer - 1])
        // Layers below Linear i at t + 1, the rest at t; the same batch, batch statistics.
        var mixed = before
        for index in 0..<linear[layer - 1] { mixed.layers[index] = network.layers[index] }
        mixed.zeroGradients()
        let mixedLogits = try mixed.forward(input, mode: .training)
        _ = try mixed.backward(try SoftmaxCrossEntropy().evaluate(logits: mixedLogits, labels: labels).gradient)
        let change = gradientChange(gradients[weights[layer - 1]].scalars, mixed.gradients[weights[layer - 1]].scalars)
        shifts.append([
          "batch_norm": batchNorm ? 1 : 0, "seed": Double(seed), "step": Double(step), "layer": Double(layer),
          "mean_shift": distribution.meanShift, "std_log_ratio": distribution.stdLogRatio,
          "wasserstein": distribution.wasserstein, "gradient_change": change.relative, "gradient_cosine": change.cosine,
        ])
      }
      training.append([
        "batch_norm": batchNorm ? 1 : 0, "seed": Double(seed), "step": Double(step + 1),
        "train_loss": lossSum / Double(lossCount), "test_accuracy": try network.evaluate(test).accuracy,
      ])
      lossSum = 0
      lossCount = 0
    }
  }

  /// Each Linear layer's input on the probe, as [probe, units], in training mode on a copy.
  static func layerInputs(_ network: Sequential<Float>, probe: Tensor<Float>, linear: [Int]) throws -> [Tensor<Float>] {
    var copy = network
    var inputs = [Tensor<Float>?](repeating: nil, count: linear.count)
    _ = try copy.forward(probe, mode: .training) { index, input in
      if let position = linear.firstIndex(of: index) { inputs[position] = input }
    }
    return inputs.map { $0! }
  }

  /// The change of each unit's distribution from `before` to `after` ([samples, units]),
  /// averaged over the units: |µ′ − µ|/σ, |ln(σ′/σ)| and W₁ (the mean absolute difference
  /// of the sorted values). A unit with σ = 0 before is left out of the first two.
  static func distributionChange(_ before: Tensor<Float>, _ after: Tensor<Float>)
    -> (meanShift: Double, stdLogRatio: Double, wasserstein: Double)
  {
    let units = before.shape[1]
    var shift = 0.0, ratio = 0.0, distance = 0.0
    var spread = 0
    for unit in 0..<units {
      let old = SigmoidMLP.column(before, unit: unit), new = SigmoidMLP.column(after, unit: unit)
      let (oldMean, oldStd) = meanAndStandardDeviation(old), (newMean, newStd) = meanAndStandardDeviation(new)
      if oldStd > 0 && newStd > 0 {
        shift += abs(newMean - oldMean) / oldStd
        ratio += abs(log(newStd / oldStd))
        spread += 1
      }
      distance += zip(old.sorted(), new.sorted()).map { abs($0 - $1) }.reduce(0, +) / Double(old.count)
    }
    return (
      spread > 0 ? shift / Double(spread) : .nan, spread > 0 ? ratio / Double(spread) : .nan, distance / Double(units)
    )
  }

  static func meanAndStandardDeviation(_ values: [Double]) -> (mean: Double, standardDeviation: Double) {
    let mean = values.reduce(0, +) / Double(values.count)
    let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
    return (mean, variance.squareRoot())
  }

  /// ‖G − G′‖₂/‖G‖₂ and cos(G, G′).
  static func gradientChange(_ gradient: [Float], _ shifted: [Float]) -> (relative: Double, cosine: Double) {
    var difference = 0.0, norm = 0.0, shiftedNorm = 0.0, dot = 0.0
    for (g, h) in zip(gradient, shifted) {
      let (a, b) = (Double(g), Double(h))
      difference += (a - b) * (a - b)
      norm += a * a
      shiftedNorm += b * b
      dot += a * b
    }
    return (difference.squareRoot() / norm.squareRoot(), dot / (norm * shiftedNorm).squareRoot())
  }

  /// One network's measures, averaged over the measured layers, the points after step 0
  /// and the seeds, and its training at the end.
  struct Summary: Equatable {
    var batchNorm: Bool
    var meanShift: Double
    var stdLogRatio: Double
    var wasserstein: Double
    var gradientChange: Double
    var gradientCosine: Double
    /// The mean training loss over the last window, averaged over seeds.
    var finalLoss: Double
    /// The test accuracy at the end, averaged over seeds.
    var finalAccuracy: Double
  }

  static func summary(_ shifts: DataTable, _ training: DataTable, batchNorm: Bool) -> Summary {
    let flag = batchNorm ? 1.0 : 0.0
    let rows = shifts.rows.indices.filter { shifts.column("batch_norm")[$0] == flag && shifts.column("step")[$0] > 0 }
    func mean(_ column: String) -> Double {
      let values = rows.map { shifts.column(column)[$0] }.filter(\.isFinite)
      return SigmoidMLP.mean(values)
    }
    let trainingRows = training.rows.indices.filter { training.column("batch_norm")[$0] == flag }
    let lastStep = trainingRows.map { training.column("step")[$0] }.max() ?? 0
    let last = trainingRows.filter { training.column("step")[$0] == lastStep }
    return Summary(
      batchNorm: batchNorm, meanShift: mean("mean_shift"), stdLogRatio: mean("std_log_ratio"),
      wasserstein: mean("wasserstein"), gradientChange: mean("gradient_change"),
      gradientCosine: mean("gradient_cosine"),
      finalLoss: SigmoidMLP.mean(last.map { training.column("train_loss")[$0] }),
      finalAccuracy: SigmoidMLP.mean(last.map { training.column("test_accuracy")[$0] }))
  }

  /// The verdict on "BN reduces ICS, and that is why it trains faster": the distributional
  /// measure counts as reduced when BN's mean shift and W₁ are both below
  /// ``reductionShare`` of the baseline's, Santurkar's when BN's ‖G − G′‖/‖G‖ is;
  /// faster training is a final training loss below 0.9 of the baseline's. Holds when
  /// both measures are reduced and BN trains faster; does not hold when neither is
  /// reduced; mixed otherwise.
  static func verdict(_ summaries: [Summary]) -> (verdict: Verdict, findings: String) {
    guard let plain = summaries.first(where: { !$0.batchNorm }), let normalized = summaries.first(where: \.batchNorm)
    else { return (.mixed, "no measurements") }
    let distributional =
      normalized.meanShift < reductionShare * plain.meanShift
      && normalized.wasserstein < reductionShare * plain.wasserstein
    let gradient = normalized.gradientChange < reductionShare * plain.gradientChange
    let faster = normalized.finalLoss < 0.9 * plain.finalLoss
    let verdict: Verdict = distributional && gradient && faster ? .holds : !distributional && !gradient ? .doesNotHold : .mixed
    func yes(_ claim: Bool) -> String { claim ? "yes" : "no" }
    let answer =
      switch (distributional, gradient) {
      case (true, true): "BN reduced internal covariate shift by both measures"
      case (true, false): "BN steadied the layer inputs' distributions, but not the gradients they induce (Santurkar's measure)"
      case (false, true): "BN reduced Santurkar's gradient measure of ICS but not the distributional one"
      case (false, false): "BN did not reduce internal covariate shift by either measure"
      }
    let findings = """
      \(answer), and it \(faster ? "trained faster" : "did not train faster") (final training loss \
      \(decimals(normalized.finalLoss)) with BN, \(decimals(plain.finalLoss)) without; test accuracy \
      \(percent(normalized.finalAccuracy)) and \(percent(plain.finalAccuracy))). Mean over layers 2–4, points and \
      seeds, with BN against without: mean shift |µ′ − µ|/σ \(significant(normalized.meanShift)) against \
      \(significant(plain.meanShift)); |ln(σ′/σ)| \(significant(normalized.stdLogRatio)) against \
      \(significant(plain.stdLogRatio)); W₁ \(significant(normalized.wasserstein)) against \
      \(significant(plain.wasserstein)); ‖G − G′‖/‖G‖ \(significant(normalized.gradientChange)) against \
      \(significant(plain.gradientChange)); cos(G, G′) \(decimals(normalized.gradientCosine, digits: 4)) against \
      \(decimals(plain.gradientCosine, digits: 4)). Reduced by BN (below \(Int(reductionShare * 100)) % of the \
      baseline's): distributional \(yes(distributional)), gradient \(yes(gradient)); faster training \(yes(faster)).
      """
    return (verdict, findings)
  }

  static func figure(_ shifts: DataTable, _ training: DataTable) -> Figure {
    let kinds: [(label: String, flag: Double, color: Color, marker: Marker)] = [
      ("without BN", 0, Palette.withoutBatchNorm, .circle), ("with BN", 1, Palette.withBatchNorm, .square),
    ]
    /// Mean over layers and seeds at each step, with the min–max over seeds as the band.
    func chart(_ table: DataTable, _ column: String, _ title: String, _ axis: String, scale: Axis.Scale = .linear)
      -> LineChart
    {
      let series = kinds.map { kind in
        SigmoidMLP.overSteps(
          table, rows: SigmoidMLP.rows(table, where: "batch_norm", is: kind.flag), name: kind.label, color: kind.color,
          marker: kind.marker
        ) { table.column(column)[$0] }
      }
      return LineChart(
        title: title, xAxis: Axis("training step"), yAxis: Axis(axis, scale: scale), series: series, legend: .below,
        width: 520, height: 380)
    }
    let grid = ChartGrid(
      title: "Internal covariate shift over one training step, layers 2–4", columns: 2,
      charts: [
        chart(shifts, "mean_shift", "Input mean shift |µ′ − µ|/σ", "mean shift (σ)", scale: .logarithmic),
        chart(shifts, "wasserstein", "Input distribution change W₁", "W₁", scale: .logarithmic),
        chart(shifts, "gradient_change", "Santurkar's ICS ‖G − G′‖/‖G‖", "relative change", scale: .logarithmic),
        chart(training, "train_loss", "Training loss", "cross-entropy"),
      ])
    return Figure(
      name: "ics_shift",
      caption: "How much one training step moves each layer's input (top) and the gradient it induces (bottom left), "
        + "with and without BN, and how fast each network trains (bottom right). Lines: mean over layers 2–4 and "
        + "seeds; bands: min–max over seeds.",
      svg: grid.svg())
  }
}
