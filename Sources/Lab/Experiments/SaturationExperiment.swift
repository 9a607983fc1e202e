import Foundation
import NeuralNetwork
import Plots

/// Saturation (§3.3 of the paper): "in traditional deep networks, too-high learning rates
/// or a poor initialization … get stuck in the saturated regimes of nonlinearities";
/// batch normalization keeps every sigmoid's input near zero mean and unit variance, out
/// of the zone where the derivative vanishes.
///
/// The 784-100-100-100-10 MLP, batch 60, plain SGD, with and without BN after each hidden
/// Linear, for sigmoid and tanh, at a large Gaussian initialization (where the plain
/// network saturates at once) and at PyTorch's default. Over training it records, per
/// hidden layer, the fraction of activation inputs in the saturated zone (sigmoid:
/// |z| > 4, where σ′ < 0.018; tanh: |z| > 2, where tanh′ < 0.071), and the Frobenius
/// norm of ∂L/∂W of every Linear layer, both averaged over the steps of each window.
public struct SaturationExperiment: Experiment {
  public let name = "saturation"

  /// The experiment, with its fixed settings.
  public init() {}

  /// The nonlinearity of the hidden layers and its saturated zone.
  enum Activation: Int, CaseIterable {
    case sigmoid = 0
    case tanh = 1

    var token: String { self == .sigmoid ? "sigmoid" : "tanh" }
    /// |z| beyond which the input counts as saturated.
    var threshold: Float { self == .sigmoid ? 4 : 2 }
    /// The derivative at the threshold: σ′(4) = σ(4)(1 − σ(4)), tanh′(2) = 1 − tanh²(2).
    var derivativeAtThreshold: Double {
      switch self {
      case .sigmoid:
        let s = 1 / (1 + exp(-4.0))
        return s * (1 - s)
      case .tanh:
        return 1 - pow(Foundation.tanh(2.0), 2)
      }
    }
  }

  /// One network of the study.
  struct Setup {
    var activation: Activation
    var batchNorm: Bool
    var largeInitialization: Bool

    var label: String {
      (batchNorm ? "with BN" : "without BN") + (largeInitialization ? ", N(0, \(significant(SaturationExperiment.largeStandardDeviation))²) init" : ", default init")
    }

    var architecture: String {
      let hidden = (batchNorm ? "linear:100,bn," : "linear:100,") + activation.token
      return Array(repeating: hidden, count: 3).joined(separator: ",") + ",linear:10"
    }

    var initializer: Initializer {
      largeInitialization ? .gaussian(standardDeviation: largeStandardDeviation) : .pytorchDefault
    }
  }

  /// The large initialization: N(0, 0.5²) for every weight (PyTorch's default draws from
  /// U(±1/√fan_in), a standard deviation of 0.021 in the first layer and 0.058 after it).
  static let largeStandardDeviation = 0.5
  static let learningRate = 0.1
  static let batchSize = 60
  static let hiddenLayers = 3
  static let linearLayers = 4

  static let columns =
    ["activation_tanh", "batch_norm", "large_init", "step", "test_accuracy", "train_loss"]
    + (1...hiddenLayers).map { "saturated_fraction_layer\($0)" }
    + (1...linearLayers).map { "weight_grad_norm_linear\($0)" }

  static var setups: [Setup] {
    Activation.allCases.flatMap { activation in
      [true, false].flatMap { large in [false, true].map { Setup(activation: activation, batchNorm: $0, largeInitialization: large) } }
    }
  }

  /// Runs it and reports; see the type's description.
  public func run(_ context: LabContext) throws -> ExperimentReport {
    let start = Date()
    let data = try context.requireData(for: name)
    let budget = context.budget
    let steps = budget.choose(quick: 20, standard: 3_000, full: 20_000)
    let every = budget.choose(quick: 10, standard: 100, full: 500)
    let train = budget == .quick ? try data.trainPrefix(2_000) : data.train
    let test = try data.testPrefix(budget.choose(quick: 1_000, standard: 5_000, full: 10_000))
    let probe = try data.trainPrefix(Self.batchSize).samples
    var table = DataTable(name: "saturation", columns: Self.columns)
    for (index, setup) in Self.setups.enumerated() {
      context.progress("saturation: \(setup.activation.token), \(setup.label) (\(index + 1)/\(Self.setups.count)), \(steps) steps")
      let rows = try Self.measure(
        setup, seed: context.seed, train: train, test: test, probe: probe, probeLabels: Array(data.train.labels.prefix(Self.batchSize)),
        steps: steps, every: every)
      for row in rows { table.append(row) }
    }
    let summary = Self.summarize(table)
    let verdict = Self.verdict(summary)
    return ExperimentReport(
      name: name, title: "Saturation: BN keeps activations out of their flat tails",
      claim: "Without BN, a large initialization drives the inputs of sigmoid (and tanh) units into the saturated "
        + "regime, where the derivative vanishes and less gradient reaches the lower layers; BN keeps them near zero "
        + "mean and unit variance.",
      configuration: [
        "data: \(data.source), \(train.count) training samples, \(test.count) test samples for the accuracy",
        "network: 784-100-100-100-10 MLP, sigmoid or tanh hidden layers, BN (PyTorch defaults, ε = 1e-5) after each "
          + "hidden Linear or none",
        "optimizer: SGD, learning rate \(Self.learningRate), no momentum, batch \(Self.batchSize), \(steps) steps",
        "initialization: N(0, \(significant(Self.largeStandardDeviation))²) for every weight (large), or PyTorch's default "
          + "U(±1/√fan_in) (std 0.021 in layer 1, 0.058 after); biases 0 under the Gaussian",
        "saturated zone: sigmoid |z| > 4 (σ′ < \(significant(Activation.sigmoid.derivativeAtThreshold, digits: 4))), tanh "
          + "|z| > 2 (tanh′ < \(significant(Activation.tanh.derivativeAtThreshold, digits: 4))); z is the input of the "
          + "activation (BN's output with BN)",
        "fractions and ‖∂L/∂W‖ (Frobenius) are means over the \(every) training steps of each window; step 0 is one "
          + "forward and backward pass of the initial network on the first \(Self.batchSize) training samples",
        "seed \(context.seed) for every network (same initial weights up to BN, same batch order)",
      ],
      tables: [table], figures: [Self.saturationFigure(table), Self.gradientFigure(table)], verdict: verdict.verdict,
      findings: verdict.findings, wallSeconds: Date().timeIntervalSince(start))
  }

  /// The rows of one setup: step 0 (the initial network), then one row per window.
  static func measure(
    _ setup: Setup, seed: UInt64, train: LabeledSamples<Float>, test: LabeledSamples<Float>, probe: Tensor<Float>,
    probeLabels: [Int], steps: Int, every: Int
  ) throws -> [DataTable.Row] {
    var generator = SeededGenerator(seed: seed)
    let network: Sequential<Float> = try Architecture(parsing: setup.architecture)
      .makeNetwork(sampleShape: [784], initializer: setup.initializer, using: &generator)
    let activationIndices = network.layers.indices.filter { network.layers[$0] is Sigmoid<Float> || network.layers[$0] is Tanh<Float> }
    let weightIndices = network.parameterNames.indices.filter { name in
      let parts = network.parameterNames[name].split(separator: ".")
      return parts.last == "weight" && network.layers[Int(parts[0])!] is Linear<Float>
    }
    precondition(activationIndices.count == hiddenLayers && weightIndices.count == linearLayers)
    let threshold = setup.activation.threshold

    var saturated = [Int](repeating: 0, count: hiddenLayers)
    var observed = [Int](repeating: 0, count: hiddenLayers)
    var gradientSums = [Double](repeating: 0, count: linearLayers)
    var windowSteps = 0
    let observer = { (layerIndex: Int, input: Tensor<Float>) in
      guard let position = activationIndices.firstIndex(of: layerIndex) else { return }
      saturated[position] += input.scalars.count { abs($0) > threshold }
      observed[position] += input.scalars.count
    }
    func gradientNorms(_ model: Sequential<Float>) -> [Double] {
      let gradients = model.gradients
      return weightIndices.map { index in
        gradients[index].scalars.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
      }
    }

    // Step 0: the initial network on one batch, in training mode (a copy; nothing is kept).
    var initial = network
    let logits = try initial.forward(probe, mode: .training, observer: observer)
    let (_, gradLogits) = try SoftmaxCrossEntropy().evaluate(logits: logits, labels: probeLabels)
    initial.zeroGradients()
    _ = try initial.backward(gradLogits)
    var windows: [(fractions: [Double], norms: [Double])] = [
      (zip(saturated, observed).map { Double($0) / Double($1) }, gradientNorms(initial))
    ]
    saturated = saturated.map { _ in 0 }
    observed = observed.map { _ in 0 }

    let run = try TrainingRun.record(
      network: network, optimizer: SGD<Float>(schedule: .constant(learningRate)), batchSize: batchSize, seed: seed,
      train: train, evaluation: test, steps: steps, evaluateEvery: every, observer: observer
    ) { report in
      for (index, norm) in gradientNorms(report.model).enumerated() { gradientSums[index] += norm }
      windowSteps += 1
      if (report.step + 1) % every == 0 || report.step + 1 == steps {
        windows.append(
          (zip(saturated, observed).map { Double($0) / Double($1) }, gradientSums.map { $0 / Double(windowSteps) }))
        saturated = saturated.map { _ in 0 }
        observed = observed.map { _ in 0 }
        gradientSums = gradientSums.map { _ in 0 }
        windowSteps = 0
      }
    }
    let missing = (fractions: [Double](repeating: .nan, count: hiddenLayers), norms: [Double](repeating: .nan, count: linearLayers))
    return run.steps.indices.map { row in
      let window = row < windows.count ? windows[row] : missing
      let run: DataTable.Row = [
        ("activation_tanh", Double(setup.activation.rawValue)), ("batch_norm", setup.batchNorm ? 1 : 0),
        ("large_init", setup.largeInitialization ? 1 : 0), ("step", Double(run.steps[row])),
        ("test_accuracy", run.testAccuracy[row]), ("train_loss", run.trainingLoss[row]),
      ]
      return run + window.fractions.enumerated().map { ("saturated_fraction_layer\($0 + 1)", $1) }
        + window.norms.enumerated().map { ("weight_grad_norm_linear\($0 + 1)", $1) }
    }
  }

  // MARK: Summary and verdict

  /// What the verdict and the findings need of one setup.
  struct Summary {
    var setup: Setup
    /// The largest saturated fraction of each hidden layer over training (step 0 included).
    var peakFraction: [Double]
    /// The saturated fraction of each hidden layer in the last window.
    var finalFraction: [Double]
    /// The mean ‖∂L/∂W‖ of each Linear layer over the training windows.
    var meanGradientNorm: [Double]
    var finalAccuracy: Double
    var diverged: Bool
  }

  static func summarize(_ table: DataTable) -> [Summary] {
    setups.map { setup in
      let column = rows(table, setup).column
      let fractions = (1...hiddenLayers).map { column("saturated_fraction_layer\($0)") }
      let norms = (1...linearLayers).map { column("weight_grad_norm_linear\($0)").dropFirst().filter(\.isFinite) }
      return Summary(
        setup: setup, peakFraction: fractions.map { $0.filter(\.isFinite).max() ?? .nan },
        finalFraction: fractions.map { $0.last(where: \.isFinite) ?? .nan },
        meanGradientNorm: norms.map { $0.isEmpty ? .nan : $0.reduce(0, +) / Double($0.count) },
        finalAccuracy: column("test_accuracy").last(where: \.isFinite) ?? .nan,
        diverged: column("test_accuracy").last?.isNaN ?? true)
    }
  }

  /// Two parts, each at the large initialization and for both activations. Saturation: the
  /// BN network's saturated fraction stays below 5 % in every layer at every window while
  /// the plain network's peaks above 10 % and at least 4 times higher. Gradients: the plain
  /// network passes less gradient down to its first layer, relative to its output layer
  /// (mean ‖∂L/∂W₁‖ / mean ‖∂L/∂W₄‖ over training), than the BN network. Both: holds; one:
  /// holds in part.
  static func verdict(_ summaries: [Summary]) -> (verdict: Verdict, findings: String) {
    func find(_ activation: Activation, bn: Bool, large: Bool) -> Summary {
      summaries.first { $0.setup.activation == activation && $0.setup.batchNorm == bn && $0.setup.largeInitialization == large }!
    }
    func attenuation(_ summary: Summary) -> Double {
      summary.meanGradientNorm[0] / summary.meanGradientNorm[linearLayers - 1]
    }
    var sentences: [String] = []
    var saturationOutcomes: [Bool] = []
    var gradientOutcomes: [Bool] = []
    for activation in Activation.allCases {
      let withBN = find(activation, bn: true, large: true)
      let without = find(activation, bn: false, large: true)
      let bnPeak = withBN.peakFraction.max() ?? .nan
      let basePeak = without.peakFraction.max() ?? .nan
      saturationOutcomes.append(bnPeak < 0.05 && basePeak > 0.10 && basePeak > 4 * bnPeak)
      gradientOutcomes.append(attenuation(without) < attenuation(withBN))
      let zone = activation == .sigmoid ? "|z| > 4" : "|z| > 2"
      let defaultBase = find(activation, bn: false, large: false)
      let defaultBN = find(activation, bn: true, large: false)
      sentences.append(
        "\(activation.token.capitalized) (\(zone)), N(0, \(significant(largeStandardDeviation))²) init: BN kept the saturated "
          + "fraction at most \(percent(bnPeak)) in every layer (final \(list(withBN.finalFraction.map(percent)))), while "
          + "the baseline reached \(percent(basePeak)) (peak per layer \(list(without.peakFraction.map(percent))), final "
          + "\(list(without.finalFraction.map(percent)))). Mean ‖∂L/∂W‖ per Linear layer 1–4 over training: baseline "
          + "\(list(without.meanGradientNorm.map { significant($0) })), BN \(list(withBN.meanGradientNorm.map { significant($0) })), "
          + "so layer 1 received \(significant(attenuation(without), digits: 2)) of the output layer's gradient norm without "
          + "BN and \(significant(attenuation(withBN), digits: 2)) with it; final test accuracy "
          + "\(percent(without.finalAccuracy))\(without.diverged ? " (diverged)" : "") without BN vs "
          + "\(percent(withBN.finalAccuracy))\(withBN.diverged ? " (diverged)" : "") with. At PyTorch's default init the "
          + "baseline peaked at \(percent(defaultBase.peakFraction.max() ?? .nan)) and BN at "
          + "\(percent(defaultBN.peakFraction.max() ?? .nan)); layer 1 received "
          + "\(significant(attenuation(defaultBase), digits: 2)) vs \(significant(attenuation(defaultBN), digits: 2)) of the output "
          + "layer's gradient norm (‖∂L/∂W₁‖ \(significant(defaultBase.meanGradientNorm[0])) vs "
          + "\(significant(defaultBN.meanGradientNorm[0]))); accuracy \(percent(defaultBase.finalAccuracy)) vs "
          + "\(percent(defaultBN.finalAccuracy)).")
    }
    let saturationHolds = saturationOutcomes.allSatisfy { $0 }
    let gradientHolds = gradientOutcomes.allSatisfy { $0 }
    if saturationHolds && !gradientHolds {
      sentences.append(
        "BN removed the saturation, but in this measurement the saturated baseline's gradients did not vanish toward "
          + "the input: relative to its output layer, its first layer received at least as much gradient as the BN "
          + "network's\(gradientOutcomes.contains(true) ? " for one of the two activations" : ""). (BN's ∂L/∂W is also "
          + "smaller for a larger W, by the scale invariance of §3.3.)")
    } else if !saturationHolds {
      sentences.append("BN did not keep the saturated fraction below 5 % while the baseline's rose above 10 % for both activations.")
    }
    let verdict: Verdict =
      saturationHolds && gradientHolds ? .holds : saturationHolds || gradientHolds ? .mixed : .doesNotHold
    return (verdict, sentences.joined(separator: " "))
  }

  // MARK: Figures

  static func rows(_ table: DataTable, _ setup: Setup) -> DataTable {
    table.filter {
      Int($0("activation_tanh")) == setup.activation.rawValue && ($0("batch_norm") == 1) == setup.batchNorm
        && ($0("large_init") == 1) == setup.largeInitialization
    }
  }

  /// The four setups of one activation as lines of `column`: colour by BN, solid for the
  /// large initialization, dashed for the default.
  static func series(_ table: DataTable, _ activation: Activation, column: String) -> [Series] {
    [true, false].flatMap { large in
      [false, true].map { bn in
        let setup = Setup(activation: activation, batchNorm: bn, largeInitialization: large)
        let rows = rows(table, setup)
        return Series(
          name: setup.label, x: rows.column("step"), y: rows.column(column),
          color: bn ? Palette.withBatchNorm : Palette.withoutBatchNorm, style: large ? .solid : .dashed)
      }
    }
  }

  static func saturationFigure(_ table: DataTable) -> Figure {
    let charts: [any Chart] = Activation.allCases.flatMap { activation in
      (1...hiddenLayers).map { layer in
        LineChart(
          title: "\(activation.token), hidden layer \(layer): |z| > \(Int(activation.threshold))",
          xAxis: Axis("training step"), yAxis: Axis("saturated fraction", range: 0...1),
          series: series(table, activation, column: "saturated_fraction_layer\(layer)"),
          legend: .below, width: 380, height: 380)
      }
    }
    let grid = ChartGrid(title: "Fraction of activation inputs in the saturated zone", columns: 3, charts: charts)
    return Figure(
      name: "saturation_fraction",
      caption: "Per hidden layer, the fraction of the inputs z of the activation with |z| > 4 (sigmoid, top row, "
        + "σ′ < 0.018) or |z| > 2 (tanh, bottom row, tanh′ < 0.071), averaged over each window of training steps. "
        + "Blue: with BN, vermillion: without; solid: N(0, \(significant(largeStandardDeviation))²) initialization, dashed: "
        + "PyTorch's default.",
      svg: grid.svg())
  }

  static func gradientFigure(_ table: DataTable) -> Figure {
    let charts: [any Chart] = Activation.allCases.flatMap { activation in
      (1...linearLayers).map { layer in
        LineChart(
          title: "\(activation.token), Linear \(layer)\(layer == linearLayers ? " (output)" : "")",
          xAxis: Axis("training step"), yAxis: Axis("‖∂L/∂W‖", scale: .logarithmic),
          series: series(table, activation, column: "weight_grad_norm_linear\(layer)"),
          legend: .below, width: 320, height: 400)
      }
    }
    let grid = ChartGrid(title: "Gradient norm reaching each Linear layer", columns: 4, charts: charts)
    return Figure(
      name: "saturation_gradient_norm",
      caption: "Frobenius norm of ∂L/∂W of each Linear layer (1 = next to the input, 4 = output layer), mean over "
        + "each window of training steps, log scale. Top row sigmoid, bottom row tanh. Blue: with BN, vermillion: "
        + "without; solid: N(0, \(significant(largeStandardDeviation))²) initialization, dashed: PyTorch's default.",
      svg: grid.svg())
  }


  /// Values joined as "a / b / c".
  static func list(_ values: [String]) -> String {
    values.joined(separator: " / ")
  }
}
