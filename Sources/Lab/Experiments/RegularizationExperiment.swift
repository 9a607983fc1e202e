import BatchNormalization
import Foundation
import NeuralNetwork
import Plots

/// Batch normalization as a regularizer (Ioffe & Szegedy 2015, §3.4; Luo et al. 2019):
/// a training example's output depends on the other examples of its batch, a noise that
/// should shrink the generalization gap, and less so as batches grow (the batch
/// statistics get less noisy). Ghost batch normalization (Hoffer et al. 2017) normalizes
/// over virtual batches inside a large batch, and should bring the noise back.
///
/// An MLP with and without BN is trained on a small training subset it can overfit, at
/// batch sizes 8 … 1024 for the same number of epochs; the gap is train minus test
/// accuracy (and test minus train loss), both measured in inference mode.
public struct RegularizationExperiment: Experiment {
  public let name = "regularization"

  /// The experiment, with its fixed settings.
  public init() {}

  /// The training batch sizes.
  static let batchSizes = [8, 32, 128, 512, 1024]
  /// The ghost (virtual) batch size used at the largest batch size.
  static let ghostBatchSize = 32
  static let withBatchNorm = "linear:100,bn,relu,linear:100,bn,relu,linear:10"
  static let withoutBatchNorm = "linear:100,relu,linear:100,relu,linear:10"
  static let momentum = 0.9

  /// SGD's learning rate at batch size B: 0.02·√(B/32), the square-root scaling rule
  /// (Hoffer et al. 2017), the same with and without BN.
  static func learningRate(batchSize: Int) -> Double {
    0.02 * (Double(batchSize) / 32).squareRoot()
  }

  struct Setup {
    var trainCount: Int
    var testCount: Int
    var epochs: Int
    var seeds: Int
  }

  static func setup(_ budget: LabBudget) -> Setup {
    budget.choose(
      quick: Setup(trainCount: 1_024, testCount: 256, epochs: 1, seeds: 1),
      standard: Setup(trainCount: 2_048, testCount: 9_984, epochs: 100, seeds: 2),
      full: Setup(trainCount: 4_096, testCount: 9_984, epochs: 200, seeds: 3))
  }

  /// The configurations: (batch size, with BN, ghost batch size or 0).
  static var configurations: [(batchSize: Int, batchNorm: Bool, ghost: Int)] {
    batchSizes.flatMap { [($0, false, 0), ($0, true, 0)] } + [(batchSizes.last!, true, ghostBatchSize)]
  }

  /// Runs it and reports; see the type's description.
  public func run(_ context: LabContext) throws -> ExperimentReport {
    let start = Date()
    let data = try context.requireData(for: name)
    let setup = Self.setup(context.budget)
    let train = try BatchStatisticsSupport.shuffledPrefix(data.train, count: setup.trainCount, seed: context.seed &+ 70)
    let test = try BatchStatisticsSupport.shuffledPrefix(data.test, count: setup.testCount, seed: context.seed &+ 71)
    var table = DataTable(
      name: "regularization_gap",
      columns: [
        "batch_size", "batch_norm", "ghost_batch_size", "seed", "learning_rate", "epochs", "steps", "diverged",
        "train_accuracy", "test_accuracy", "accuracy_gap", "train_loss", "test_loss", "loss_gap",
      ])
    for configuration in Self.configurations {
      let text =
        configuration.ghost > 0
        ? Self.withBatchNorm.replacingOccurrences(of: "bn", with: "bn:ghost=\(configuration.ghost)")
        : configuration.batchNorm ? Self.withBatchNorm : Self.withoutBatchNorm
      let architecture = try Architecture(parsing: text)
      let steps = setup.epochs * (train.count / configuration.batchSize)
      let rate = Self.learningRate(batchSize: configuration.batchSize)
      for seedOffset in 0..<setup.seeds {
        let seed = context.seed &+ UInt64(seedOffset)
        context.progress(
          "regularization: B = \(configuration.batchSize), "
            + (configuration.ghost > 0 ? "ghost BN \(configuration.ghost)" : configuration.batchNorm ? "BN" : "no BN")
            + ", seed \(seed), \(steps) steps")
        var generator = SeededGenerator(seed: seed)
        let network: Sequential<Float> = try architecture.makeNetwork(sampleShape: [784], using: &generator)
        let outcome = try BatchStatisticsSupport.train(
          network, optimizer: SGD(schedule: .constant(rate), momentum: Self.momentum), data: train,
          sampler: .iid(batchSize: configuration.batchSize), steps: steps, seed: seed &+ 1000)
        let onTrain = try outcome.model.evaluate(train)
        let onTest = try outcome.model.evaluate(test)
        table.append([
          "batch_size": Double(configuration.batchSize),
          "batch_norm": configuration.batchNorm ? 1 : 0,
          "ghost_batch_size": Double(configuration.ghost),
          "seed": Double(seed),
          "learning_rate": rate,
          "epochs": Double(setup.epochs),
          "steps": Double(outcome.steps),
          "diverged": outcome.diverged ? 1 : 0,
          "train_accuracy": onTrain.accuracy,
          "test_accuracy": onTest.accuracy,
          "accuracy_gap": onTrain.accuracy - onTest.accuracy,
          "train_loss": onTrain.loss,
          "test_loss": onTest.loss,
          "loss_gap": onTest.loss - onTrain.loss,
        ])
      }
    }
    let summary = Self.summary(table)
    let verdict = Self.verdict(summary)
    return ExperimentReport(
      name: name, title: "Regularization: the generalization gap against batch size",
      claim: "A training example's output depends on its mini-batch, which regularizes: with BN the gap between "
        + "training and test accuracy is smaller, the effect weakens as batches grow, and ghost batches bring it back "
        + "at a large batch size.",
      configuration: [
        "data: \(data.source), a fixed random subset of \(train.count) training images (to overfit), "
          + "\(test.count) test images",
        "networks: \(Self.withBatchNorm) against \(Self.withoutBatchNorm); ghost BN: bn:ghost=\(Self.ghostBatchSize) "
          + "at B = \(Self.batchSizes.last!); PyTorch's default initialization",
        "SGD, momentum \(Self.momentum), learning rate 0.02·√(B/32) (square-root scaling) with and without BN, "
          + "no weight decay; the same number of EPOCHS (\(setup.epochs)) at every batch size, so "
          + "\(setup.epochs * (train.count / Self.batchSizes[0])) steps at B = \(Self.batchSizes[0]) and "
          + "\(setup.epochs * (train.count / Self.batchSizes.last!)) at B = \(Self.batchSizes.last!)",
        "gap: train minus test accuracy, test minus train loss, both in inference mode (running statistics) on the "
          + "whole training subset and the test images",
        "seeds \(context.seed) + 0…\(setup.seeds - 1) (initialization and batch order); bands: min–max over seeds",
      ],
      tables: [table, summary], figures: [Self.figure(summary)], verdict: verdict.verdict,
      findings: verdict.findings, wallSeconds: Date().timeIntervalSince(start))
  }

  static let summaryMeasures = ["accuracy_gap", "loss_gap", "train_accuracy", "test_accuracy"]

  /// One row per configuration: mean, min and max over seeds.
  static func summary(_ table: DataTable) -> DataTable {
    var summary = DataTable(
      name: "regularization_summary",
      columns: ["batch_size", "batch_norm", "ghost_batch_size", "seeds"]
        + summaryMeasures.flatMap { measure in ["mean", "min", "max"].map { measure + "_" + $0 } })
    let (batchSizes, batchNorms, ghosts) = (table.column("batch_size"), table.column("batch_norm"), table.column("ghost_batch_size"))
    for configuration in configurations {
      let rows = table.rows.indices.filter {
        batchSizes[$0] == Double(configuration.batchSize) && batchNorms[$0] == (configuration.batchNorm ? 1 : 0)
          && ghosts[$0] == Double(configuration.ghost)
      }
      var row: DataTable.Row = [
        ("batch_size", Double(configuration.batchSize)), ("batch_norm", configuration.batchNorm ? 1 : 0),
        ("ghost_batch_size", Double(configuration.ghost)), ("seeds", Double(rows.count)),
      ]
      for measure in summaryMeasures {
        let spread = BatchStatisticsSupport.spread(rows.map { table.column(measure)[$0] })
        row += [(measure + "_mean", spread.mean), (measure + "_min", spread.low), (measure + "_max", spread.high)]
      }
      summary.append(row)
    }
    return summary
  }

  /// The summary rows of one kind of network: no BN, BN, or ghost BN.
  static func rows(_ summary: DataTable, batchNorm: Bool, ghost: Bool) -> [Int] {
    let (batchNorms, ghosts) = (summary.column("batch_norm"), summary.column("ghost_batch_size"))
    return summary.rows.indices.filter { batchNorms[$0] == (batchNorm ? 1 : 0) && (ghosts[$0] > 0) == ghost }
  }

  static func figure(_ summary: DataTable) -> Figure {
    let kinds: [(label: String, batchNorm: Bool, ghost: Bool, color: Color, marker: Marker)] = [
      ("without BN", false, false, Palette.withoutBatchNorm, .circle),
      ("with BN", true, false, Palette.withBatchNorm, .square),
      ("ghost BN, virtual batches of \(ghostBatchSize)", true, true, Palette.categorical(2), .diamond),
    ]
    let ticks = batchSizes.map(Double.init)
    func chart(_ measure: String, _ title: String, _ axis: String) -> LineChart {
      let series = kinds.map { kind -> Series in
        let indices = rows(summary, batchNorm: kind.batchNorm, ghost: kind.ghost)
        func values(_ suffix: String) -> [Double] { indices.map { summary.column(measure + suffix)[$0] } }
        let x = indices.map { summary.column("batch_size")[$0] }
        return Series(
          name: kind.label, x: x, y: values("_mean"), color: kind.color, marker: kind.marker,
          band: BandPoint.band(x: x, lower: values("_min"), upper: values("_max")))
      }
      return LineChart(
        title: title, xAxis: Axis("batch size B", scale: .logarithmic, ticks: ticks), yAxis: Axis(axis),
        series: series, legend: .below, width: 560, height: 400)
    }
    var accuracy = chart("test_accuracy", "Train (dashed) and test (solid) accuracy", "accuracy")
    for kind in kinds where !kind.ghost {
      let indices = rows(summary, batchNorm: kind.batchNorm, ghost: false)
      accuracy.series.append(
        Series(
          name: kind.label + ", train", x: indices.map { summary.column("batch_size")[$0] },
          y: indices.map { summary.column("train_accuracy_mean")[$0] }, color: kind.color, style: .dashed))
    }
    let grid = ChartGrid(
      title: "Generalization gap on a small training subset, by batch size", columns: 2,
      charts: [
        chart("accuracy_gap", "Accuracy gap (train − test)", "accuracy gap"),
        chart("loss_gap", "Loss gap (test − train)", "loss gap (cross-entropy)"), accuracy,
      ])
    return Figure(
      name: "regularization_gap",
      caption: "The same MLP with and without BN trained for the same number of epochs on a small subset at each "
        + "batch size (learning rate ∝ √B), and with ghost BN at the largest batch. A smaller gap means a stronger "
        + "regularizer, but only where the network fits its training set (train accuracy near 1). Bands: min–max "
        + "over seeds.",
      svg: grid.svg())
  }

  static func verdict(_ summary: DataTable) -> (verdict: Verdict, findings: String) {
    typealias S = BatchStatisticsSupport
    let plain = rows(summary, batchNorm: false, ghost: false)
    let normalized = rows(summary, batchNorm: true, ghost: false)
    let ghost = rows(summary, batchNorm: true, ghost: true)
    func value(_ measure: String, _ row: Int) -> Double { summary.column(measure + "_mean")[row] }
    // BN's reduction of the gap at each batch size, in accuracy and in loss, and the sub-claims for each:
    // it regularizes at the smallest batch, less at the largest, and ghost batches shrink the gap at the largest.
    func reductions(_ measure: String) -> [Double] {
      zip(plain, normalized).map { value(measure, $0) - value(measure, $1) }
    }
    func claims(_ measure: String, tolerance: Double) -> [Bool] {
      let reduction = reductions(measure)
      let ghostGap = ghost.first.map { value(measure, $0) } ?? .nan
      return [
        // "Weakens" needs an effect to weaken: a reduction at the smallest batch that is larger than at the largest.
        reduction[0] > tolerance, reduction[0] > tolerance && reduction[0] > reduction[reduction.count - 1] + tolerance,
        ghostGap < value(measure, normalized[normalized.count - 1]) - tolerance,
      ]
    }
    let accuracyClaims = claims("accuracy_gap", tolerance: 0.005)
    let lossClaims = claims("loss_gap", tolerance: 0.02)
    let parts = accuracyClaims + lossClaims
    let verdict: Verdict = parts.allSatisfy { $0 } ? .holds : parts.contains(true) ? .mixed : .doesNotHold
    let accuracyReductions = reductions("accuracy_gap"), lossReductions = reductions("loss_gap")
    let first = 0, last = accuracyReductions.count - 1
    let ghostGap = ghost.first.map { value("accuracy_gap", $0) } ?? .nan
    let largeGap = value("accuracy_gap", normalized[last])
    let ghostLossGap = ghost.first.map { value("loss_gap", $0) } ?? .nan
    func yes(_ claim: Bool) -> String { claim ? "yes" : "no" }
    let sizes = batchSizes
    let gapText = sizes.indices.map { index in
      "B = \(sizes[index]): \(decimals(value("accuracy_gap", plain[index]))) without BN, "
        + "\(decimals(value("accuracy_gap", normalized[index]))) with BN"
    }.joined(separator: "; ")
    let underfit = (plain + normalized + ghost).filter { value("train_accuracy", $0) < 0.98 }.map {
      "B = \(Int(summary.column("batch_size")[$0])) \(summary.column("ghost_batch_size")[$0] > 0 ? "ghost BN" : summary.column("batch_norm")[$0] == 1 ? "with BN" : "without BN") (train \(percent(value("train_accuracy", $0))))"
    }
    let lossText = sizes.indices.map { index in
      "B = \(sizes[index]): \(decimals(value("loss_gap", plain[index]), digits: 2)) without BN, "
        + "\(decimals(value("loss_gap", normalized[index]), digits: 2)) with BN"
    }.joined(separator: "; ")
    let findings = """
      Accuracy gap (train − test, mean over seeds): \(gapText). Loss gap (test − train): \(lossText). \
      BN reduced the accuracy gap by \(decimals(100 * accuracyReductions[first], digits: 1)) points at \
      B = \(sizes[first]) and by \(decimals(100 * accuracyReductions[last], digits: 1)) at B = \(sizes[last]), and the \
      loss gap by \(decimals(lossReductions[first], digits: 2)) and \(decimals(lossReductions[last], digits: 2)). \
      Ghost BN with virtual batches of \(ghostBatchSize) at B = \(sizes[last]): accuracy gap \(decimals(ghostGap)) against \
      \(decimals(largeGap)) for plain BN, loss gap \(decimals(ghostLossGap, digits: 2)) against \
      \(decimals(value("loss_gap", normalized[last]), digits: 2)); test accuracy \
      \(percent(ghost.first.map { value("test_accuracy", $0) } ?? .nan)) against \
      \(percent(value("test_accuracy", normalized[last]))). Test accuracy with BN at B = \(sizes[first]): \
      \(percent(value("test_accuracy", normalized[first]))), without: \(percent(value("test_accuracy", plain[first]))). \
      Sub-claims (accuracy gap / loss gap): BN shrinks the gap at B = \(sizes[first]): \(yes(accuracyClaims[0])) / \
      \(yes(lossClaims[0])); less so at B = \(sizes[last]): \(yes(accuracyClaims[1])) / \(yes(lossClaims[1])); ghost BN \
      shrinks it at B = \(sizes[last]): \(yes(accuracyClaims[2])) / \(yes(lossClaims[2])). \
      \(underfit.isEmpty ? "Every configuration fit its training subset (train accuracy ≥ 98%), so the gaps compare generalization." : "Not fitted (train accuracy < 98%), so a smaller gap there partly reflects underfitting: " + underfit.joined(separator: ", ") + ".")
      """
    return (verdict, findings)
  }
}
