import Foundation
import NeuralNetwork
import Plots

/// What explains BN instead of internal covariate shift: a smoother loss landscape
/// (Santurkar et al. 2018, §3.1) and the larger learning rates it allows (Bjorck et al.
/// 2018, "Understanding Batch Normalization").
///
/// Landscape: the paper's sigmoid MLP with and without BN, trained as in the `ics`
/// experiment. At regular steps, on the step's batch with gradient g (every parameter),
/// the loss and gradient at W − ηg for η on a grid (on copies, batch statistics): the range
/// of L(W − ηg) (the loss band), the gradient predictiveness max_η ‖∇L(W − ηg) − g‖, and the
/// effective β-smoothness max_η ‖∇L(W − ηg) − g‖ / ‖ηg‖.
///
/// Learning rates: a deep plain ReLU network (``deepLayers`` hidden layers of 100 units, no
/// residual connections, He initialization, under which the plain network's signal neither
/// vanishes nor explodes at the start) with and without BN, trained with
/// plain SGD at learning rates from 0.001 to 3: the largest that still trains, and each
/// Linear layer's gradient norm at initialization.
public struct SmoothnessExperiment: Experiment {
  public let name = "smoothness"

  /// The experiment, with its fixed settings.
  public init() {}

  /// The step sizes along −g, as multiples of the learning rate.
  static let stepMultiples = [0.25, 0.5, 1, 2, 4, 8]
  /// The deep network's hidden layers.
  static let deepLayers = 12
  /// The learning rates of the sweep.
  static let learningRates = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3]
  /// Test accuracy at which a run counts as training (chance is 10 %).
  static let trainsAbove = 0.5
  /// BN's β-smoothness must fall below this share of the baseline's to count as smoother.
  static let smootherShare = 0.8

  struct Setup {
    var steps: Int
    var every: Int
    var seeds: Int
    var sweepSteps: Int
    var testCount: Int
  }

  static func setup(_ budget: LabBudget) -> Setup {
    budget.choose(
      quick: Setup(steps: 20, every: 10, seeds: 1, sweepSteps: 10, testCount: 500),
      standard: Setup(steps: 2_000, every: 100, seeds: 3, sweepSteps: 300, testCount: 2_000),
      full: Setup(steps: 10_000, every: 250, seeds: 3, sweepSteps: 2_000, testCount: 10_000))
  }

  static func deepArchitecture(batchNorm: Bool) -> String {
    (Array(repeating: batchNorm ? "linear:100,bn,relu" : "linear:100,relu", count: deepLayers) + ["linear:10"])
      .joined(separator: ",")
  }

  /// Runs it and reports; see the type's description.
  public func run(_ context: LabContext) throws -> ExperimentReport {
    let start = Date()
    let data = try context.requireData(for: name)
    let setup = Self.setup(context.budget)
    let train = context.budget == .quick ? try data.trainPrefix(2_000) : data.train
    let test = try data.testPrefix(setup.testCount)
    var landscape = DataTable(
      name: "smoothness_landscape",
      columns: ["batch_norm", "seed", "step", "loss", "loss_min", "loss_max", "gradient_change_max", "beta_smoothness"])
    for batchNorm in [false, true] {
      for seedOffset in 0..<setup.seeds {
        let seed = context.seed &+ UInt64(seedOffset)
        context.progress("smoothness: landscape \(batchNorm ? "with" : "without") BN, seed \(seed), \(setup.steps) steps")
        try Self.landscape(batchNorm: batchNorm, seed: seed, train: train, setup: setup, into: &landscape)
      }
    }
    var sweep = DataTable(
      name: "smoothness_learning_rate", columns: ["batch_norm", "learning_rate", "test_accuracy", "diverged"])
    var gradients = DataTable(name: "smoothness_initial_gradients", columns: ["batch_norm", "layer", "gradient_norm"])
    for batchNorm in [false, true] {
      context.progress(
        "smoothness: \(Self.deepLayers)-layer network \(batchNorm ? "with" : "without") BN, "
          + "\(Self.learningRates.count) learning rates × \(setup.sweepSteps) steps")
      try Self.sweep(
        batchNorm: batchNorm, seed: context.seed, train: train, test: test, setup: setup, sweep: &sweep,
        gradients: &gradients)
    }
    let summaries = [false, true].map { Self.summary(landscape, sweep, batchNorm: $0) }
    let verdict = Self.verdict(summaries)
    return ExperimentReport(
      name: name, title: "Smoothness and learning rates: what explains BN instead",
      claim: "BN makes the loss landscape smoother, so gradients predict the loss better along a step, and it allows "
        + "larger learning rates (Santurkar et al. 2018; Bjorck et al. 2018).",
      configuration: [
        "data: \(data.source), \(train.count) training samples, \(test.count) test samples",
        "landscape: \(SigmoidMLP.withBatchNorm) against \(SigmoidMLP.baseline), SGD learning rate "
          + "\(CovariateShiftExperiment.learningRate), momentum \(SigmoidMLP.momentum), batch \(SigmoidMLP.batchSize), "
          + "\(setup.steps) steps, measured every \(setup.every) along −g on the step's batch at η = "
          + "\(Self.stepMultiples.map { significant($0) }.joined(separator: ", ")) × the learning rate",
        "learning rates: \(Self.deepLayers) hidden ReLU layers of 100 units with and without BN, He "
          + "initialization N(0, 2/fan_in), plain SGD (no momentum), batch \(SigmoidMLP.batchSize), \(setup.sweepSteps) steps at each of "
          + "\(Self.learningRates.map { significant($0) }.joined(separator: ", ")); trains: test accuracy above "
          + "\(percent(Self.trainsAbove))",
        "seeds \(context.seed) + 0…\(setup.seeds - 1) for the landscape, \(context.seed) for the sweep; smoother: BN's "
          + "β-smoothness below \(Int(Self.smootherShare * 100)) % of the baseline's",
      ],
      tables: [landscape, sweep, gradients], figures: [Self.figure(landscape, sweep, gradients)],
      verdict: verdict.verdict, findings: verdict.findings, wallSeconds: Date().timeIntervalSince(start))
  }

  /// Trains the sigmoid MLP, appending one row per measured point.
  static func landscape(
    batchNorm: Bool, seed: UInt64, train: LabeledSamples<Float>, setup: Setup, into table: inout DataTable
  ) throws {
    var network = try SigmoidMLP.network(batchNorm ? SigmoidMLP.withBatchNorm : SigmoidMLP.baseline, seed: seed)
    let rate = CovariateShiftExperiment.learningRate
    var optimizer = SigmoidMLP.optimizer(rate: rate)
    var batches = SigmoidMLP.Batches(train, seed: seed &+ 500)
    for step in 0..<setup.steps {
      let (input, labels) = batches.next()
      let logits = try network.forward(input, mode: .training)
      let (loss, gradient) = try SoftmaxCrossEntropy().evaluate(logits: logits, labels: labels)
      network.zeroGradients()
      _ = try network.backward(gradient)
      if step % setup.every == 0 {
        let g = network.gradients.flatMap(\.scalars)
        let gNorm = norm(g)
        var losses: [Double] = []
        var changes: [Double] = []
        var betas: [Double] = []
        for multiple in stepMultiples {
          let eta = multiple * rate
          var moved = network
          moved.updateParameters { _, parameter, gradient in
            parameter.scalars = zip(parameter.scalars, gradient.scalars).map { $0 - Float(eta) * $1 }
          }
          moved.zeroGradients()
          let movedLogits = try moved.forward(input, mode: .training)
          let (movedLoss, movedGradient) = try SoftmaxCrossEntropy().evaluate(logits: movedLogits, labels: labels)
          _ = try moved.backward(movedGradient)
          let change = norm(zip(moved.gradients.flatMap(\.scalars), g).map { $0 - $1 })
          losses.append(Double(movedLoss))
          changes.append(change)
          betas.append(change / (eta * gNorm))
        }
        let finite = losses.allSatisfy(\.isFinite) && changes.allSatisfy(\.isFinite)
        table.append([
          "batch_norm": batchNorm ? 1 : 0, "seed": Double(seed), "step": Double(step), "loss": Double(loss),
          "loss_min": finite ? losses.min()! : .nan, "loss_max": finite ? losses.max()! : .nan,
          "gradient_change_max": finite ? changes.max()! : .nan, "beta_smoothness": finite ? betas.max()! : .nan,
        ])
      }
      optimizer.step(&network)
    }
  }

  /// The Euclidean norm, in Double.
  static func norm(_ values: [Float]) -> Double {
    values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
  }

  /// The deep network's learning-rate sweep and its gradient norms at initialization.
  static func sweep(
    batchNorm: Bool, seed: UInt64, train: LabeledSamples<Float>, test: LabeledSamples<Float>, setup: Setup,
    sweep: inout DataTable, gradients: inout DataTable
  ) throws {
    let architecture = try Architecture(parsing: deepArchitecture(batchNorm: batchNorm))
    var generator = SeededGenerator(seed: seed)
    let initial: Sequential<Float> = try architecture.makeNetwork(
      sampleShape: [784], initializer: .heNormal, using: &generator)
    // ‖∂L/∂W‖ of each Linear layer on one batch at initialization.
    var probe = initial
    let (input, labels) = BatchStatisticsSupport.batch(train, Array(0..<SigmoidMLP.batchSize))
    let logits = try probe.forward(input, mode: .training)
    probe.zeroGradients()
    _ = try probe.backward(try SoftmaxCrossEntropy().evaluate(logits: logits, labels: labels).gradient)
    let names = probe.parameterNames
    var layer = 0
    for (name, gradient) in zip(names, probe.gradients) where name.hasSuffix(".weight") {
      let index = Int(name.split(separator: ".")[0])!
      guard probe.layers[index] is Linear<Float> else { continue }
      layer += 1
      gradients.append(["batch_norm": batchNorm ? 1 : 0, "layer": Double(layer), "gradient_norm": norm(gradient.scalars)])
    }
    for rate in learningRates {
      let outcome = try BatchStatisticsSupport.train(
        initial, optimizer: SGD(schedule: .constant(rate), momentum: 0), data: train,
        sampler: .iid(batchSize: SigmoidMLP.batchSize), steps: setup.sweepSteps, seed: seed &+ 1000)
      let accuracy = outcome.diverged ? 0 : try outcome.model.evaluate(test).accuracy
      sweep.append([
        "batch_norm": batchNorm ? 1 : 0, "learning_rate": rate, "test_accuracy": accuracy,
        "diverged": outcome.diverged ? 1 : 0,
      ])
    }
  }

  /// One network's landscape measures (means over the points after step 0 and the seeds)
  /// and its sweep.
  struct Summary: Equatable {
    var batchNorm: Bool
    /// Mean of max − min of L(W − ηg).
    var lossBand: Double
    var gradientChange: Double
    var betaSmoothness: Double
    /// The largest learning rate whose run trains, or 0 for none.
    var largestTrainingRate: Double
    /// The best test accuracy of the sweep.
    var bestAccuracy: Double
  }

  static func summary(_ landscape: DataTable, _ sweep: DataTable, batchNorm: Bool) -> Summary {
    let flag = batchNorm ? 1.0 : 0.0
    let rows = landscape.rows.indices.filter {
      landscape.column("batch_norm")[$0] == flag && landscape.column("step")[$0] > 0
    }
    func mean(_ values: [Double]) -> Double { SigmoidMLP.mean(values.filter(\.isFinite)) }
    let sweepRows = sweep.rows.indices.filter { sweep.column("batch_norm")[$0] == flag }
    let training = sweepRows.filter { sweep.column("test_accuracy")[$0] > trainsAbove }
    return Summary(
      batchNorm: batchNorm,
      lossBand: mean(rows.map { landscape.column("loss_max")[$0] - landscape.column("loss_min")[$0] }),
      gradientChange: mean(rows.map { landscape.column("gradient_change_max")[$0] }),
      betaSmoothness: mean(rows.map { landscape.column("beta_smoothness")[$0] }),
      largestTrainingRate: training.map { sweep.column("learning_rate")[$0] }.max() ?? 0,
      bestAccuracy: sweepRows.map { sweep.column("test_accuracy")[$0] }.max() ?? .nan)
  }

  /// Holds when BN's β-smoothness is below ``smootherShare`` of the baseline's and its
  /// deep network trains at a larger learning rate; does not hold when neither; mixed
  /// otherwise.
  static func verdict(_ summaries: [Summary]) -> (verdict: Verdict, findings: String) {
    guard let plain = summaries.first(where: { !$0.batchNorm }), let normalized = summaries.first(where: \.batchNorm)
    else { return (.mixed, "no measurements") }
    let smoother = normalized.betaSmoothness < smootherShare * plain.betaSmoothness
    let largerRates = normalized.largestTrainingRate > plain.largestTrainingRate
    let verdict: Verdict = smoother && largerRates ? .holds : !smoother && !largerRates ? .doesNotHold : .mixed
    func rate(_ value: Double) -> String { value > 0 ? significant(value) : "none" }
    let answer =
      switch (smoother, largerRates) {
      case (true, true): "BN made the loss landscape smoother and let the deep network train at larger learning rates"
      case (true, false): "BN made the loss landscape smoother, but the deep network did not train at a larger learning rate"
      case (false, true): "BN let the deep network train at larger learning rates, but the landscape was not smoother"
      case (false, false): "BN neither smoothed the landscape nor allowed larger learning rates"
      }
    let findings = """
      \(answer). Along −g on the step's batch (means over points and seeds), with BN against without: \
      β-smoothness max ‖∇L(W − ηg) − g‖/‖ηg‖ \(significant(normalized.betaSmoothness)) against \
      \(significant(plain.betaSmoothness)) (a ratio of \(decimals(normalized.betaSmoothness / plain.betaSmoothness)); \
      smoother below \(decimals(smootherShare, digits: 2))); gradient change max ‖∇L(W − ηg) − g‖ \
      \(significant(normalized.gradientChange)) against \(significant(plain.gradientChange)); loss band \
      \(significant(normalized.lossBand)) against \(significant(plain.lossBand)). \(deepLayers)-layer ReLU network: \
      largest learning rate that trains (test accuracy above \(percent(trainsAbove))) \
      \(rate(normalized.largestTrainingRate)) with BN, \(rate(plain.largestTrainingRate)) without; best test accuracy \
      \(percent(normalized.bestAccuracy)) and \(percent(plain.bestAccuracy)).
      """
    return (verdict, findings)
  }

  static func figure(_ landscape: DataTable, _ sweep: DataTable, _ gradients: DataTable) -> Figure {
    let kinds: [(label: String, flag: Double, color: Color, marker: Marker)] = [
      ("without BN", 0, Palette.withoutBatchNorm, .circle), ("with BN", 1, Palette.withBatchNorm, .square),
    ]
    func rows(_ table: DataTable, _ flag: Double) -> [Int] { SigmoidMLP.rows(table, where: "batch_norm", is: flag) }
    /// Mean over seeds at each step of `value(row)`, with the min–max over seeds as the band.
    func overTraining(_ title: String, _ axis: String, _ value: (Int) -> Double) -> LineChart {
      let series = kinds.map { kind in
        SigmoidMLP.overSteps(
          landscape, rows: rows(landscape, kind.flag), name: kind.label, color: kind.color, marker: kind.marker,
          value: value)
      }
      return LineChart(
        title: title, xAxis: Axis("training step"), yAxis: Axis(axis, scale: .logarithmic), series: series,
        legend: .below, width: 520, height: 380)
    }
    let band = overTraining("Loss band along −g: max − min of L(W − ηg)", "loss range") {
      landscape.column("loss_max")[$0] - landscape.column("loss_min")[$0]
    }
    let beta = overTraining("Effective β-smoothness", "max ‖∇L(W − ηg) − g‖ / ‖ηg‖") {
      landscape.column("beta_smoothness")[$0]
    }
    let rates = LineChart(
      title: "\(deepLayers)-layer ReLU network: test accuracy by learning rate",
      xAxis: Axis("learning rate", scale: .logarithmic, ticks: learningRates), yAxis: Axis("test accuracy"),
      series: kinds.map { kind in
        let indices = rows(sweep, kind.flag)
        return Series(
          name: kind.label, x: indices.map { sweep.column("learning_rate")[$0] },
          y: indices.map { sweep.column("test_accuracy")[$0] }, color: kind.color, marker: kind.marker)
      }, legend: .below, width: 520, height: 380)
    let initial = LineChart(
      title: "Gradient norm of each Linear layer at initialization", xAxis: Axis("layer"),
      yAxis: Axis("‖∂L/∂W‖", scale: .logarithmic),
      series: kinds.map { kind in
        let indices = rows(gradients, kind.flag)
        return Series(
          name: kind.label, x: indices.map { gradients.column("layer")[$0] },
          y: indices.map { gradients.column("gradient_norm")[$0] }, color: kind.color, marker: kind.marker)
      }, legend: .below, width: 520, height: 380)
    let grid = ChartGrid(
      title: "The loss landscape along the gradient, and the learning rates a deep network tolerates", columns: 2,
      charts: [band, beta, rates, initial])
    return Figure(
      name: "smoothness",
      caption: "Top: how much the loss and its gradient change along the step direction, with and without BN "
        + "(lower: smoother, the gradient more predictive); lines are means over seeds, bands min–max. Bottom: "
        + "a deep plain ReLU network's test accuracy after a short run at each learning rate, and its gradient "
        + "norms at initialization.",
      svg: grid.svg())
  }
}
