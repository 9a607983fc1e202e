import Foundation
import NeuralNetwork
import Plots

/// §3 of the paper: normalizing a layer's inputs may change what the layer can represent
/// (normalized sigmoid inputs stay in its near-linear range), so BN adds a learned scale γ
/// and shift β per unit, which "can represent the identity transform" (γ = √Var[x],
/// β = E[x]). The sigmoid MLP of Figure 1 with BN, trained with and without γ and β
/// (`bn:noaffine`): accuracy, the learned γ and β, and the sigmoid inputs they produce.
public struct AffineExperiment: Experiment {
  public let name = "affine"

  /// The experiment, with its fixed settings.
  public init() {}

  /// |z| beyond which a sigmoid is no longer close to linear (σ'(2) = 0.105, 42% of σ'(0)).
  static let linearLimit = 2.0
  /// Test images the sigmoid inputs are measured on, after training (inference mode).
  static let probeCount = 1_000

  struct Setup {
    var trainCount: Int
    var curveTestCount: Int
    var finalTestCount: Int
    var steps: Int
    var evaluateEvery: Int
    var seedCount: Int
  }

  static func setup(_ budget: LabBudget) -> Setup {
    budget.choose(
      quick: Setup(
        trainCount: 2_000, curveTestCount: 1_000, finalTestCount: 1_000, steps: 150, evaluateEvery: 50, seedCount: 1),
      standard: Setup(
        trainCount: 55_000, curveTestCount: 2_000, finalTestCount: 10_000, steps: 5_000, evaluateEvery: 250,
        seedCount: 3),
      full: Setup(
        trainCount: 55_000, curveTestCount: 10_000, finalTestCount: 10_000, steps: 50_000, evaluateEvery: 1_000,
        seedCount: 3))
  }

  /// A hidden layer's normalization after training, unit by unit.
  struct LayerParameters {
    var gamma: [Double]
    var beta: [Double]
    var runningMean: [Double]
    var runningStd: [Double]
  }

  /// A hidden layer's sigmoid inputs on the probe images.
  struct SigmoidInputs {
    /// The standard deviation of one unit's input over the images, averaged over units.
    var unitStd: Double
    /// |mean| of one unit's input, averaged over units.
    var unitMeanAbs: Double
    /// The fraction of all inputs with |z| > ``linearLimit``.
    var fractionBeyondLinear: Double
  }

  struct Run {
    var affine: Bool
    var seedIndex: Int
    var training: TrainingRun
    var testAccuracy: Double
    var parameters: [LayerParameters]
    var inputs: [SigmoidInputs]
  }

  /// Runs it and reports; see the type's description.
  public func run(_ context: LabContext) throws -> ExperimentReport {
    let start = Date()
    let data = try context.requireData(for: name)
    let setup = Self.setup(context.budget)
    let rate = ConvergenceExperiment.sharedRate
    let train = try SigmoidMLP.slice(data.train, 0..<setup.trainCount)
    let curveTest = try data.testPrefix(setup.curveTestCount)
    let finalTest = try data.testPrefix(setup.finalTestCount)
    let probe = try data.testPrefix(Self.probeCount)

    var runs: [Run] = []
    for affine in [true, false] {
      for seedIndex in 0..<setup.seedCount {
        let runStart = Date()
        let seed = context.seed &+ UInt64(seedIndex)
        let network = try SigmoidMLP.network(affine ? SigmoidMLP.withBatchNorm : SigmoidMLP.withoutAffine, seed: seed)
        let training = try TrainingRun.record(
          network: network, optimizer: SigmoidMLP.optimizer(rate: rate), batchSize: SigmoidMLP.batchSize, seed: seed,
          train: train, evaluation: curveTest, steps: setup.steps, evaluateEvery: setup.evaluateEvery)
        let testAccuracy = training.diverged ? .nan : try training.model.evaluate(finalTest).accuracy
        let run = Run(
          affine: affine, seedIndex: seedIndex, training: training, testAccuracy: testAccuracy,
          parameters: Self.parameters(training.model), inputs: try Self.sigmoidInputs(training.model, probe: probe))
        context.progress(
          "affine: BN \(affine ? "with γ, β   " : "without γ, β") seed \(seedIndex + 1)/\(setup.seedCount): "
            + (training.diverged ? "diverged" : "test accuracy \(percent(testAccuracy))")
            + " after \(setup.steps) steps (\(String(format: "%.1f", Date().timeIntervalSince(runStart))) s)")
        runs.append(run)
      }
    }
    let analysis = Self.analyze(runs)
    return ExperimentReport(
      name: name, title: "The learned scale and shift γ, β",
      claim: "Normalizing alone can change what a layer represents (it keeps sigmoid inputs in their near-linear "
        + "range and throws away the scale lower layers learned); the learned γ and β restore that freedom and can "
        + "represent the identity.",
      configuration: [
        "data: \(data.source); training on the first \(train.count) training images, curves on the first "
          + "\(curveTest.count) test images, final accuracy on \(finalTest.count), sigmoid inputs on the first "
          + "\(probe.count) (inference mode)",
        "networks: \(SigmoidMLP.withBatchNorm) against \(SigmoidMLP.withoutAffine)",
        "initialization: weights N(0, \(SigmoidMLP.initialStandardDeviation)²), biases 0, γ = 1, β = 0",
        "optimizer: SGD, momentum \(SigmoidMLP.momentum), learning rate \(rate) (the convergence experiment's shared "
          + "rate), batch \(SigmoidMLP.batchSize), \(setup.steps) steps",
        "seeds \(context.seed) … \(context.seed + UInt64(setup.seedCount - 1)), the same for both variants; bands "
          + "and error bars are min–max over seeds",
        "near-linear range of the sigmoid: |z| ≤ \(Self.linearLimit)",
      ],
      tables: Self.tables(runs), figures: Self.figures(runs, setup: setup), verdict: analysis.verdict,
      findings: analysis.findings, wallSeconds: Date().timeIntervalSince(start))
  }

  /// γ, β and the running statistics of every batch-normalization layer (γ = 1 and β = 0
  /// where the layer has none).
  static func parameters(_ network: Sequential<Float>) -> [LayerParameters] {
    network.layers.compactMap { $0 as? BatchNormLayer<Float> }.map { layer in
      let normalization = layer.normalization
      let channels = layer.channels
      let epsilon = normalization.configuration.epsilon
      return LayerParameters(
        gamma: normalization.scale.isEmpty ? Array(repeating: 1, count: channels) : normalization.scale.map(Double.init),
        beta: normalization.shift.isEmpty ? Array(repeating: 0, count: channels) : normalization.shift.map(Double.init),
        runningMean: normalization.runningStatistics.mean.map(Double.init),
        runningStd: normalization.runningStatistics.variance.map { (Double($0) + epsilon).squareRoot() })
    }
  }

  /// The inputs of each sigmoid layer on `probe`, in inference mode.
  static func sigmoidInputs(_ network: Sequential<Float>, probe: LabeledSamples<Float>) throws -> [SigmoidInputs] {
    var network = network
    let sigmoids = SigmoidMLP.sigmoidIndices(network)
    var captured: [Int: Tensor<Float>] = [:]
    _ = try network.forward(probe.samples, mode: .inference) { index, input in
      if sigmoids.contains(index) { captured[index] = input }
    }
    return sigmoids.map { index in
      let input = captured[index]!
      let units = input.shape[1]
      var stds: [Double] = []
      var means: [Double] = []
      for unit in 0..<units {
        let values = SigmoidMLP.column(input, unit: unit)
        let mean = SigmoidMLP.mean(values)
        means.append(abs(mean))
        stds.append((values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)).squareRoot())
      }
      let beyond = input.scalars.count { abs(Double($0)) > linearLimit }
      return SigmoidInputs(
        unitStd: SigmoidMLP.mean(stds), unitMeanAbs: SigmoidMLP.mean(means),
        fractionBeyondLinear: Double(beyond) / Double(input.scalars.count))
    }
  }

  static func runs(_ runs: [Run], affine: Bool) -> [Run] {
    runs.filter { $0.affine == affine }.sorted { $0.seedIndex < $1.seedIndex }
  }

  // MARK: Tables

  static func tables(_ runs: [Run]) -> [DataTable] {
    var summary = DataTable(name: "affine_runs", columns: ["affine", "seed_index", "diverged", "final_test_accuracy"])
    var curves = DataTable(
      name: "affine_curves", columns: ["affine", "seed_index", "step", "test_accuracy", "training_loss"])
    var parameters = DataTable(
      name: "affine_parameters",
      columns: ["seed_index", "layer", "unit", "gamma", "beta", "running_mean", "running_std"])
    var inputs = DataTable(
      name: "affine_sigmoid_inputs",
      columns: ["affine", "seed_index", "layer", "unit_std", "unit_mean_abs", "fraction_beyond_linear"])
    for run in runs {
      let flag = run.affine ? 1.0 : 0.0
      let seed = Double(run.seedIndex)
      summary.append([
        "affine": flag,
        "seed_index": seed,
        "diverged": run.training.diverged ? 1 : 0,
        "final_test_accuracy": run.testAccuracy,
      ])
      for index in run.training.steps.indices {
        curves.append([
          "affine": flag,
          "seed_index": seed,
          "step": Double(run.training.steps[index]),
          "test_accuracy": run.training.testAccuracy[index],
          "training_loss": run.training.trainingLoss[index],
        ])
      }
      if run.affine {
        for (layer, values) in run.parameters.enumerated() {
          for unit in values.gamma.indices {
            parameters.append([
              "seed_index": seed,
              "layer": Double(layer + 1),
              "unit": Double(unit),
              "gamma": values.gamma[unit],
              "beta": values.beta[unit],
              "running_mean": values.runningMean[unit],
              "running_std": values.runningStd[unit],
            ])
          }
        }
      }
      for (layer, input) in run.inputs.enumerated() {
        inputs.append([
          "affine": flag,
          "seed_index": seed,
          "layer": Double(layer + 1),
          "unit_std": input.unitStd,
          "unit_mean_abs": input.unitMeanAbs,
          "fraction_beyond_linear": input.fractionBeyondLinear,
        ])
      }
    }
    return [summary, curves, parameters, inputs]
  }

  // MARK: Figures

  static let noAffineColor = Palette.categorical(2)

  static func label(_ affine: Bool) -> String { affine ? "BN with γ, β" : "BN without γ, β (normalize only)" }

  static func figures(_ runs: [Run], setup: Setup) -> [Figure] {
    let seedText = setup.seedCount == 1 ? "1 seed" : "mean of \(setup.seedCount) seeds, band min–max"
    let accuracySeries = [true, false].map { affine -> Series in
      let group = Self.runs(runs, affine: affine)
      let steps = group[0].training.steps.map(Double.init)
      let spread = SigmoidMLP.spread(group.map(\.training.testAccuracy))
      return Series(
        name: "\(label(affine)) (\(seedText))", x: steps, y: spread.mean,
        color: affine ? Palette.withBatchNorm : noAffineColor,
        style: affine ? .solid : .dashed, band: BandPoint.band(x: steps, lower: spread.low, upper: spread.high))
    }
    let top = min(1, ((runs.flatMap(\.training.testAccuracy).filter(\.isFinite).max() ?? 1) / 0.05 + 0.5).rounded(.up) * 0.05)
    let accuracy = LineChart(
      title: "Test accuracy with and without γ and β",
      xAxis: Axis("training steps", unit: "batches of \(SigmoidMLP.batchSize)"),
      yAxis: Axis("test accuracy", range: max(0, top - 0.35)...top),
      series: accuracySeries, legend: .below)

    let first = Self.runs(runs, affine: true)[0].parameters
    let layerColors = Palette.sequential(first.count)
    func sortedChart(_ title: String, _ label: String, _ values: (LayerParameters) -> [Double], reference: Double) -> LineChart {
      LineChart(
        title: title, xAxis: Axis("units, sorted by value", unit: "fraction"), yAxis: Axis(label),
        series: first.enumerated().map { layer, parameters in
          let sorted = values(parameters).sorted()
          let x = sorted.indices.map { Double($0) / Double(max(sorted.count - 1, 1)) }
          return Series(name: "hidden layer \(layer + 1)", x: x, y: sorted, color: layerColors[layer])
        },
        referenceLines: [ReferenceLine(.horizontal, at: reference, label: "initial value \(Int(reference))")],
        legend: .below, width: 460, height: 360)
    }
    let parameters = ChartGrid(
      title: "Learned γ and β of every unit after \(setup.steps) steps (seed 1)", columns: 2,
      charts: [
        sortedChart("scale γ", "γ", \.gamma, reference: 1), sortedChart("shift β", "β", \.beta, reference: 0),
      ])

    let layerNames = (1...max(first.count, 1)).map { "hidden layer \($0)" }
    func bars(_ title: String, _ axis: Axis, _ value: (SigmoidInputs) -> Double) -> BarChart {
      BarChart(
        title: title, categories: layerNames, yAxis: axis,
        series: [true, false].map { affine in
          let groups = layerNames.indices.map { layer in Self.runs(runs, affine: affine).map { value($0.inputs[layer]) } }
          return BarSeries(
            name: label(affine), values: groups.map { SigmoidMLP.mean($0) },
            color: affine ? Palette.withBatchNorm : noAffineColor,
            errors: groups.map { ErrorBar(lower: $0.min() ?? .nan, upper: $0.max() ?? .nan) })
        }, legend: .below, width: 460, height: 360)
    }
    let inputs = ChartGrid(
      title: "Sigmoid inputs after training (\(probeCount) test images; error bars min–max over seeds)", columns: 2,
      charts: [
        bars("Spread of a unit's input", Axis("standard deviation of z per unit"), \.unitStd),
        bars(
          "Inputs outside the near-linear range", Axis("fraction of inputs with |z| > \(linearLimit)"),
          \.fractionBeyondLinear),
      ])
    return [
      Figure(
        name: "affine_accuracy",
        caption: "Test accuracy (\(setup.curveTestCount) test images) of the BN network with learned γ and β and "
          + "with normalization alone, \(seedText). The y axis is cut below, so the first points (chance) lie under it.",
        svg: accuracy.svg()),
      Figure(
        name: "affine_parameters",
        caption: "The learned γ (left) and β (right) of the 100 units of each hidden layer, sorted; they start at 1 "
          + "and 0. Far from those lines, the network uses the freedom to rescale and shift the normalized input.",
        svg: parameters.svg()),
      Figure(
        name: "affine_sigmoid_inputs",
        caption: "What reaches the sigmoids after training: the spread of a unit's input (1 means the normalized "
          + "input unchanged) and the fraction of inputs beyond |z| = \(linearLimit), where the sigmoid bends.",
        svg: inputs.svg()),
    ]
  }

  // MARK: Verdict

  static func analyze(_ runs: [Run]) -> (verdict: Verdict, findings: String) {
    let affine = Self.runs(runs, affine: true)
    let plain = Self.runs(runs, affine: false)
    let accuracies = [affine.map(\.testAccuracy), plain.map(\.testAccuracy)]
    let finite = accuracies.allSatisfy { $0.allSatisfy(\.isFinite) }
    let means = accuracies.map { SigmoidMLP.mean($0) }
    let severalSeeds = affine.count >= 2 && plain.count >= 2
    let helps = severalSeeds && finite && accuracies[0].min()! > accuracies[1].max()!
    let hurts = severalSeeds && finite && accuracies[0].max()! < accuracies[1].min()!

    let layerCount = affine.first?.parameters.count ?? 0
    func over(_ runs: [Run], _ value: (Run, Int) -> Double) -> [Double] {
      (0..<layerCount).map { layer in SigmoidMLP.mean(runs.map { value($0, layer) }) }
    }
    let gammaDeviation = over(affine) { run, layer in SigmoidMLP.mean(run.parameters[layer].gamma.map { abs($0 - 1) }) }
    let betaDeviation = over(affine) { run, layer in SigmoidMLP.mean(run.parameters[layer].beta.map { abs($0) }) }
    let gammaMedian = over(affine) { run, layer in SigmoidMLP.quantile(run.parameters[layer].gamma, 0.5) }
    // The identity would need γ = √(Var[x] + ε) and β = E[x]: how many units come close.
    let identity = over(affine) { run, layer in
      let p = run.parameters[layer]
      let close = p.gamma.indices.filter { unit in
        let ratio = p.gamma[unit] / p.runningStd[unit]
        return ratio > 0.8 && ratio < 1.25 && abs(p.beta[unit] - p.runningMean[unit]) < 0.2 * p.runningStd[unit]
      }
      return Double(close.count) / Double(p.gamma.count)
    }
    let stdAffine = over(affine) { $0.inputs[$1].unitStd }
    let stdPlain = over(plain) { $0.inputs[$1].unitStd }
    let beyondAffine = over(affine) { $0.inputs[$1].fractionBeyondLinear }
    let beyondPlain = over(plain) { $0.inputs[$1].fractionBeyondLinear }
    let moved = gammaDeviation.contains { $0 >= 0.1 } || betaDeviation.contains { $0 >= 0.1 }
    let widened = zip(beyondAffine, beyondPlain).contains { $0 > $1 + 0.02 }
    let used = moved && widened
    let verdict: Verdict = helps && used ? .holds : !helps && !used ? .doesNotHold : .mixed
    func list(_ values: [Double], _ format: (Double) -> String) -> String {
      values.map(format).joined(separator: ", ")
    }
    let two = { decimals($0, digits: 2) }
    let findings = """
      Final test accuracy: \(percent(means[0])) with γ and β vs \(percent(means[1])) with normalization alone \
      (per seed \(list(accuracies[0], percent)) vs \(list(accuracies[1], percent))): \
      \(helps ? "the learned scale and shift helped in every seed" : hurts ? "normalization alone did better in every seed" : severalSeeds ? "the seeds overlap, so no difference is shown" : "with one seed no difference can be shown"). \
      Per hidden layer 1–3, the learned γ moved on average \(list(gammaDeviation, two)) from 1 (median γ \
      \(list(gammaMedian, two))) and β moved \(list(betaDeviation, two)) from 0. \
      The sigmoid inputs of a unit spread with a standard deviation of \(list(stdAffine, two)) with γ, β against \
      \(list(stdPlain, two)) without, and \(list(beyondAffine, percent)) against \(list(beyondPlain, percent)) of them \
      lay beyond |z| = \(linearLimit). \
      \(used ? "So the network does use γ and β to move the sigmoid inputs out of the near-linear range that normalization alone keeps them in." : moved ? "γ and β moved, but the sigmoid inputs did not leave the near-linear range much more than without them." : "γ and β stayed close to 1 and 0.") \
      It does not restore the identity, though: only \(list(identity, percent)) of the units have γ within ×1.25 \
      of the running standard deviation and β within 0.2 running standard deviations of the running mean; the identity is within reach \
      of γ and β, but training does not go there. \
      \(helps && used ? "Both parts of the claim hold on our data." : helps ? "Accuracy improves, but the mechanism is not visible in the sigmoid inputs." : used ? "γ and β are used, but accuracy does not show that normalization alone loses anything here." : "Neither part of the claim shows on our data.")
      """
    return (verdict, findings)
  }
}
