import Foundation
import NeuralNetwork
import Plots

/// Santurkar et al.'s test of the ICS explanation (2018, §2.1): if BN worked by keeping
/// each layer's input distribution stable, a BN network whose layer inputs are made to
/// move at every step should lose its advantage. BN, BN followed by non-stationary noise
/// (``NonStationaryNoise``: per unit y = s·x + m, m ~ U(−a, a), s ~ U(1, b) drawn anew at
/// every step; none at inference), and no BN, on the paper's sigmoid MLP over several
/// seeds: test accuracy and training loss over steps, and the 15/50/85th percentiles over the
/// training batch of one sigmoid input (unit 0 of the last hidden layer) over training.
public struct NoisyBatchNormExperiment: Experiment {
  public let name = "noisy-bn"

  /// The experiment, with its fixed settings.
  public init() {}

  /// a: the noise's mean is drawn from U(−a, a), in units of BN's output (unit variance).
  static let meanLimit: Float = 1
  /// b: the noise's scale is drawn from U(1, b).
  static let scaleLimit: Float = 2
  /// The observed sigmoid input: this unit of the last hidden layer.
  static let observedUnit = 0
  /// How far below BN's final test accuracy the noisy network may end and still train "like BN".
  static let tolerance = 0.015

  /// The three networks.
  enum Network: Int, CaseIterable {
    case plain = 0
    case batchNorm = 1
    case noisyBatchNorm = 2

    var label: String {
      switch self {
      case .plain: "without BN"
      case .batchNorm: "with BN"
      case .noisyBatchNorm: "BN + non-stationary noise"
      }
    }
  }

  typealias Setup = SigmoidMLP.Schedule

  static func setup(_ budget: LabBudget) -> Setup {
    budget.choose(
      quick: Setup(steps: 20, every: 10, seeds: 1, testCount: 500),
      standard: Setup(steps: 2_000, every: 100, seeds: 3, testCount: 5_000),
      full: Setup(steps: 20_000, every: 500, seeds: 5, testCount: 10_000))
  }

  static let columns = ["network", "seed", "step", "test_accuracy", "train_loss", "input_p15", "input_p50", "input_p85"]

  /// Runs it and reports; see the type's description.
  public func run(_ context: LabContext) throws -> ExperimentReport {
    let start = Date()
    let data = try context.requireData(for: name)
    let setup = Self.setup(context.budget)
    let train = context.budget == .quick ? try data.trainPrefix(2_000) : data.train
    let test = try data.testPrefix(setup.testCount)
    var table = DataTable(name: "noisy_bn", columns: Self.columns)
    for network in Network.allCases {
      for seedOffset in 0..<setup.seeds {
        let seed = context.seed &+ UInt64(seedOffset)
        context.progress("noisy-bn: \(network.label), seed \(seed), \(setup.steps) steps")
        try Self.train(network, seed: seed, train: train, test: test, setup: setup, into: &table)
      }
    }
    let summaries = Network.allCases.map { Self.summary(table, network: $0) }
    let verdict = Self.verdict(summaries)
    return ExperimentReport(
      name: name, title: "Noisy BN: does BN still help when its outputs are made unstable?",
      claim: "If BN's benefit came from stable layer inputs, a BN network whose layer inputs move at every step "
        + "would lose it; Santurkar et al. found that it trains like BN, so reducing ICS is not what BN rests on.",
      configuration: [
        "data: \(data.source), \(train.count) training samples, \(test.count) test samples",
        "networks: \(SigmoidMLP.withBatchNorm); the same with noise after each BN; \(SigmoidMLP.baseline); weights "
          + "N(0, \(SigmoidMLP.initialStandardDeviation)²), the same initial weights for all three",
        "noise: per unit and step y = s·x + m, m ~ U(−\(significant(Double(Self.meanLimit))), "
          + "\(significant(Double(Self.meanLimit)))), s ~ U(1, \(significant(Double(Self.scaleLimit)))), the same for "
          + "every sample of the batch, drawn anew at every training step; inference uses no noise (BN's running "
          + "statistics, which lie before the noise, never see it)",
        "SGD, learning rate \(CovariateShiftExperiment.learningRate), momentum \(SigmoidMLP.momentum), batch "
          + "\(SigmoidMLP.batchSize), \(setup.steps) steps, measured every \(setup.every)",
        "sigmoid input: unit \(Self.observedUnit) of the last hidden layer, percentiles over the training batch",
        "seeds \(context.seed) + 0…\(setup.seeds - 1); trains like BN: final test accuracy within "
          + "\(decimals(100 * Self.tolerance, digits: 1)) points of BN's",
      ],
      tables: [table], figures: [Self.figure(table)], verdict: verdict.verdict, findings: verdict.findings,
      wallSeconds: Date().timeIntervalSince(start))
  }

  /// The network's architecture, noise inserted after each BN layer for the noisy one.
  static func model(_ network: Network, seed: UInt64) throws -> Sequential<Float> {
    let base = try SigmoidMLP.network(network == .plain ? SigmoidMLP.baseline : SigmoidMLP.withBatchNorm, seed: seed)
    guard network == .noisyBatchNorm else { return base }
    var layers: [any Layer<Float>] = []
    for layer in base.layers {
      layers.append(layer)
      if layer is BatchNormLayer<Float> {
        layers.append(
          NonStationaryNoise(meanLimit: meanLimit, scaleLimit: scaleLimit, seed: seed &+ 900 &+ UInt64(layers.count)))
      }
    }
    return Sequential(layers)
  }

  /// Trains one network, appending a row per measured point.
  static func train(
    _ network: Network, seed: UInt64, train: LabeledSamples<Float>, test: LabeledSamples<Float>, setup: Setup,
    into table: inout DataTable
  ) throws {
    var model = try model(network, seed: seed)
    guard let observed = SigmoidMLP.sigmoidIndices(model).last else { preconditionFailure("the MLP has sigmoids") }
    var optimizer = SigmoidMLP.optimizer(rate: CovariateShiftExperiment.learningRate)
    var batches = SigmoidMLP.Batches(train, seed: seed &+ 500)
    var lossSum = 0.0
    var lossCount = 0
    for step in 0..<setup.steps {
      let (input, labels) = batches.next()
      var percentiles: [Double] = []
      let logits = try model.forward(input, mode: .training) { layer, input in
        guard layer == observed, step % setup.every == 0 else { return }
        let values = SigmoidMLP.column(input, unit: observedUnit).sorted()
        percentiles = [0.15, 0.5, 0.85].map { SigmoidMLP.quantile(sorted: values, $0) }
      }
      let (loss, gradient) = try SoftmaxCrossEntropy().evaluate(logits: logits, labels: labels)
      model.zeroGradients()
      _ = try model.backward(gradient)
      optimizer.step(&model)
      lossSum += Double(loss)
      lossCount += 1
      guard step % setup.every == 0 else { continue }
      table.append([
        "network": Double(network.rawValue), "seed": Double(seed), "step": Double(step),
        "test_accuracy": try model.evaluate(test).accuracy, "train_loss": lossSum / Double(lossCount),
        "input_p15": percentiles[0], "input_p50": percentiles[1], "input_p85": percentiles[2],
      ])
      lossSum = 0
      lossCount = 0
    }
  }

  /// One network over its seeds.
  struct Summary: Equatable {
    var network: Network
    /// Test accuracy at the last point, averaged over seeds.
    var finalAccuracy: Double
    /// The mean |change| of the observed input's median between successive points.
    var medianDrift: Double
  }

  static func summary(_ table: DataTable, network: Network) -> Summary {
    let rows = table.rows.indices.filter { table.column("network")[$0] == Double(network.rawValue) }
    let lastStep = rows.map { table.column("step")[$0] }.max() ?? 0
    let seeds = Set(rows.map { table.column("seed")[$0] })
    let drifts = seeds.flatMap { seed -> [Double] in
      let medians = rows.filter { table.column("seed")[$0] == seed }.map { table.column("input_p50")[$0] }
      return zip(medians.dropFirst(), medians).map { abs($0 - $1) }
    }
    return Summary(
      network: network,
      finalAccuracy: SigmoidMLP.mean(rows.filter { table.column("step")[$0] == lastStep }.map { table.column("test_accuracy")[$0] }),
      medianDrift: SigmoidMLP.mean(drifts))
  }

  /// Holds when the noisy network's observed input moves more than the plain network's
  /// (it is less stable) and it still ends within ``tolerance`` of BN's accuracy; does not
  /// hold when it ends no more than ``tolerance`` above the plain network (BN's advantage
  /// lost); mixed otherwise (part of the advantage kept, or the noise too weak to test it).
  static func verdict(_ summaries: [Summary]) -> (verdict: Verdict, findings: String) {
    func find(_ network: Network) -> Summary? { summaries.first { $0.network == network } }
    guard let plain = find(.plain), let normalized = find(.batchNorm), let noisy = find(.noisyBatchNorm) else {
      return (.mixed, "no measurements")
    }
    let lessStable = noisy.medianDrift > plain.medianDrift
    let keepsAdvantage = noisy.finalAccuracy >= normalized.finalAccuracy - tolerance
    let losesAdvantage = noisy.finalAccuracy <= plain.finalAccuracy + tolerance
    let verdict: Verdict = keepsAdvantage && lessStable ? .holds : losesAdvantage && !keepsAdvantage ? .doesNotHold : .mixed
    let answer =
      if keepsAdvantage {
        lessStable
          ? "BN with non-stationary noise, whose layer inputs moved more than the plain network's, still trained like BN"
          : "BN with noise trained like BN, but the noise did not make its inputs less stable than the plain network's"
      } else if losesAdvantage {
        "BN with non-stationary noise lost BN's advantage: it ended no better than the network without BN"
      } else {
        "BN with non-stationary noise kept part of BN's advantage: it ended between BN and the network without BN"
      }
    let findings = """
      \(answer). Final test accuracy (mean over seeds): BN \(percent(normalized.finalAccuracy)), BN + noise \
      \(percent(noisy.finalAccuracy)), without BN \(percent(plain.finalAccuracy)). Mean change of the observed \
      sigmoid input's median between points: BN + noise \(significant(noisy.medianDrift)), without BN \
      \(significant(plain.medianDrift)), BN \(significant(normalized.medianDrift)).
      """
    return (verdict, findings)
  }

  static func figure(_ table: DataTable) -> Figure {
    let styles: [(network: Network, color: Color, marker: Marker)] = [
      (.plain, Palette.withoutBatchNorm, .circle), (.batchNorm, Palette.withBatchNorm, .square),
      (.noisyBatchNorm, Palette.categorical(2), .diamond),
    ]
    func rows(_ network: Network) -> [Int] { SigmoidMLP.rows(table, where: "network", is: Double(network.rawValue)) }
    func chart(_ column: String, _ title: String, _ axis: String) -> LineChart {
      LineChart(
        title: title, xAxis: Axis("training step"), yAxis: Axis(axis),
        series: styles.map { style in
          SigmoidMLP.overSteps(
            table, rows: rows(style.network), name: style.network.label, color: style.color, marker: style.marker
          ) { table.column(column)[$0] }
        }, legend: .below, width: 520, height: 380)
    }
    // The percentiles of the first seed: one band per network.
    let firstSeed = table.column("seed").min() ?? 0
    let percentiles = LineChart(
      title: "Sigmoid input (unit \(observedUnit), last hidden layer): median, 15–85th percentile",
      xAxis: Axis("training step"), yAxis: Axis("input"),
      series: styles.map { style in
        let indices = rows(style.network).filter { table.column("seed")[$0] == firstSeed }
        let steps = indices.map { table.column("step")[$0] }
        return Series(
          name: style.network.label, x: steps, y: indices.map { table.column("input_p50")[$0] }, color: style.color,
          band: BandPoint.band(
            x: steps, lower: indices.map { table.column("input_p15")[$0] }, upper: indices.map { table.column("input_p85")[$0] }))
      }, legend: .below, width: 520, height: 380)
    let grid = ChartGrid(
      title: "BN, BN with non-stationary noise after it, and no BN", columns: 2,
      charts: [
        chart("test_accuracy", "Test accuracy", "accuracy"), chart("train_loss", "Training loss", "cross-entropy"),
        percentiles,
      ])
    return Figure(
      name: "noisy_bn",
      caption: "Top: test accuracy and training loss over steps (mean over seeds, min–max band). Bottom: how the "
        + "input of one sigmoid is distributed over each training batch, first seed; the noisy network's moves at "
        + "every step by construction.",
      svg: grid.svg())
  }
}
