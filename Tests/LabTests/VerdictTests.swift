import NeuralNetwork
import Testing

@testable import Lab

/// The verdict functions on made-up numbers: each threshold from both sides, and a
/// control in which "BN" does nothing (the same numbers with and without it), which must
/// never pass as "holds". No training: these run without Fashion-MNIST.
@Suite struct SaturationVerdictTests {
  /// Summaries for every setup: at the large initialization BN peaks at `bnPeak` and the
  /// baseline at `basePeak`; layer 1 receives `bnAttenuation` (with BN) and
  /// `baseAttenuation` (without) of the output layer's gradient norm.
  static func summaries(bnPeak: Double, basePeak: Double, bnAttenuation: Double, baseAttenuation: Double)
    -> [SaturationExperiment.Summary]
  {
    SaturationExperiment.setups.map { setup in
      let peak = setup.largeInitialization ? (setup.batchNorm ? bnPeak : basePeak) : 0.01
      let attenuation = setup.batchNorm ? bnAttenuation : baseAttenuation
      return SaturationExperiment.Summary(
        setup: setup, peakFraction: [peak, peak / 2, peak / 3], finalFraction: [peak / 2, peak / 4, peak / 6],
        meanGradientNorm: [attenuation, 0.5, 0.7, 1], finalAccuracy: 0.85, diverged: false)
    }
  }

  static func verdict(_ bnPeak: Double, _ basePeak: Double, _ bnAttenuation: Double, _ baseAttenuation: Double) -> Verdict {
    SaturationExperiment.verdict(
      summaries(bnPeak: bnPeak, basePeak: basePeak, bnAttenuation: bnAttenuation, baseAttenuation: baseAttenuation)
    ).verdict
  }

  @Test func bothPartsHold() {
    #expect(Self.verdict(0.01, 0.5, 0.8, 0.1) == .holds)
  }

  @Test func aBatchNormThatDoesNothingDoesNotHold() {
    #expect(Self.verdict(0.5, 0.5, 0.3, 0.3) == .doesNotHold)
  }

  @Test func theSaturationThresholds() {
    // BN's peak must stay below 5 %.
    #expect(Self.verdict(0.049, 0.5, 0.8, 0.1) == .holds)
    #expect(Self.verdict(0.051, 0.5, 0.8, 0.1) == .mixed)
    // The baseline's peak must exceed 10 % …
    #expect(Self.verdict(0.01, 0.11, 0.8, 0.1) == .holds)
    #expect(Self.verdict(0.01, 0.09, 0.8, 0.1) == .mixed)
    // … and 4 times BN's.
    #expect(Self.verdict(0.04, 0.17, 0.8, 0.1) == .holds)
    #expect(Self.verdict(0.04, 0.15, 0.8, 0.1) == .mixed)
  }

  @Test func theGradientPart() {
    // The baseline's first layer must receive less (relative to its output layer) than BN's.
    #expect(Self.verdict(0.01, 0.5, 0.8, 0.79) == .holds)
    #expect(Self.verdict(0.01, 0.5, 0.8, 0.81) == .mixed)
    #expect(Self.verdict(0.5, 0.5, 0.8, 0.1) == .mixed)
  }
}

@Suite struct RegularizationVerdictTests {
  /// A summary whose gaps come from `gap(batchNorm, ghost, sizeIndex)`, the same for the
  /// accuracy gap and (times `lossScale`) the loss gap; every configuration fits its
  /// training subset.
  static func summary(lossScale: Double = 3, gap: (Bool, Bool, Int) -> Double) -> DataTable {
    var table = DataTable(
      name: "regularization_summary",
      columns: ["batch_size", "batch_norm", "ghost_batch_size", "seeds"]
        + RegularizationExperiment.summaryMeasures.flatMap { measure in ["mean", "min", "max"].map { measure + "_" + $0 } })
    for configuration in RegularizationExperiment.configurations {
      let index = RegularizationExperiment.batchSizes.firstIndex(of: configuration.batchSize)!
      let value = gap(configuration.batchNorm, configuration.ghost > 0, index)
      var row: DataTable.Row = [
        ("batch_size", Double(configuration.batchSize)), ("batch_norm", configuration.batchNorm ? 1 : 0),
        ("ghost_batch_size", Double(configuration.ghost)), ("seeds", 3),
      ]
      for (measure, mean) in [("accuracy_gap", value), ("loss_gap", value * lossScale), ("train_accuracy", 0.99), ("test_accuracy", 0.99 - value)] {
        row += [(measure + "_mean", mean), (measure + "_min", mean), (measure + "_max", mean)]
      }
      table.append(row)
    }
    return table
  }

  /// Without BN the gap is 0.10 at every size; with BN `smallest` at the smallest batch
  /// rising linearly to `largest`; ghost BN at the largest batch `ghost`.
  static func verdict(smallest: Double, largest: Double, ghost: Double, lossScale: Double = 10) -> Verdict {
    let last = Double(RegularizationExperiment.batchSizes.count - 1)
    return RegularizationExperiment.verdict(
      summary(lossScale: lossScale) { batchNorm, isGhost, index in
        !batchNorm ? 0.10 : isGhost ? ghost : smallest + (largest - smallest) * Double(index) / last
      }
    ).verdict
  }

  @Test func everySubClaimHolds() {
    #expect(Self.verdict(smallest: 0.02, largest: 0.09, ghost: 0.05) == .holds)
  }

  @Test func aBatchNormThatDoesNothingDoesNotHold() {
    #expect(Self.verdict(smallest: 0.10, largest: 0.10, ghost: 0.10) == .doesNotHold)
  }

  /// With the loss gap 10 × the accuracy gap, the accuracy tolerance (0.005) binds.
  @Test func theTolerances() {
    // BN must shrink the gap at the smallest batch by more than 0.005.
    #expect(Self.verdict(smallest: 0.094, largest: 0.0995, ghost: 0.05) == .holds)
    #expect(Self.verdict(smallest: 0.0955, largest: 0.0995, ghost: 0.05) == .mixed)
    // Less so at the largest batch: by more than the tolerance.
    #expect(Self.verdict(smallest: 0.02, largest: 0.03, ghost: 0.01) == .holds)
    #expect(Self.verdict(smallest: 0.02, largest: 0.024, ghost: 0.01) == .mixed)
    // Ghost batches must shrink the largest batch's gap by more than the tolerance.
    #expect(Self.verdict(smallest: 0.02, largest: 0.09, ghost: 0.084) == .holds)
    #expect(Self.verdict(smallest: 0.02, largest: 0.09, ghost: 0.086) == .mixed)
  }

  @Test func theLossGapCountsToo() {
    // The same accuracy gaps, but a loss gap that BN does not shrink: in part.
    #expect(Self.verdict(smallest: 0.02, largest: 0.09, ghost: 0.05, lossScale: 0) == .mixed)
  }
}

@Suite struct LearningRateVerdictTests {
  typealias Point = LearningRateExperiment.Point

  /// Points at `keys` with final accuracies `accuracies` (NaN: every seed diverged).
  static func points(_ keys: [Double], _ accuracies: [Double]) -> [Point] {
    zip(keys, accuracies).map { key, accuracy in
      Point(key: key, mean: accuracy, lowest: accuracy, highest: accuracy, diverged: accuracy.isNaN ? 3 : 0, seeds: 3)
    }
  }

  /// The invariance table: in Double with ε = 0 the output moved by `difference` and the
  /// gradient ratio missed 1/a by `ratioError`; Float rows as measured, which the verdict
  /// only reports.
  static func invariance(difference: Double, ratioError: Double) -> DataTable {
    var table = DataTable(name: "scale_invariance", columns: LearningRateExperiment.invarianceColumns)
    for a in LearningRateExperiment.scales {
      table.append([
        "a": a, "epsilon": 0, "float64": 1, "max_abs_bn_output_difference": difference,
        "weight_grad_norm_ratio": (1 + ratioError) / a, "expected_ratio": 1 / a, "ratio_relative_error": ratioError,
        "max_input_grad_difference_relative": 1e-12,
      ])
      table.append([
        "a": a, "epsilon": 1e-5, "float64": 0, "max_abs_bn_output_difference": 1e-4, "weight_grad_norm_ratio": 1 / a,
        "expected_ratio": 1 / a, "ratio_relative_error": 1e-4, "max_input_grad_difference_relative": 1e-4,
      ])
    }
    return table
  }

  static let rates = [0.01, 0.1, 1, 10]
  static let scales = [0.01, 0.1, 1, 10]

  static func verdict(
    baseRates: [Double], bnRates: [Double], baseInits: [Double], bnInits: [Double], difference: Double = 1e-12,
    ratioError: Double = 1e-9
  ) -> Verdict {
    LearningRateExperiment.verdict(
      rates: [points(rates, baseRates), points(rates, bnRates)],
      inits: [points(scales, baseInits), points(scales, bnInits)],
      invariance: invariance(difference: difference, ratioError: ratioError), bestRate: [0.1, 1]
    ).verdict
  }

  @Test func everyPartHolds() {
    // Without BN only 0.1 trains well and 10 diverges; with BN 0.1–10 do.
    #expect(
      Self.verdict(
        baseRates: [0.70, 0.85, 0.60, .nan], bnRates: [0.80, 0.86, 0.87, 0.85],
        baseInits: [0.10, 0.85, 0.40, 0.10], bnInits: [0.84, 0.86, 0.86, 0.85]) == .holds)
  }

  @Test func aBatchNormThatDoesNothingDoesNotHold() {
    // The same accuracies with and without "BN", and an invariance that fails.
    let rates = [0.70, 0.85, 0.60, Double.nan], inits = [0.10, 0.85, 0.40, 0.10]
    #expect(
      Self.verdict(baseRates: rates, bnRates: rates, baseInits: inits, bnInits: inits, difference: 0.3, ratioError: 0.5)
        == .doesNotHold)
  }

  @Test func theThresholds() {
    let goodRates = (base: [0.70, 0.85, 0.60, Double.nan], bn: [0.80, 0.86, 0.87, 0.85])
    let goodInits = (base: [0.10, 0.85, 0.40, 0.10], bn: [0.84, 0.86, 0.86, 0.85])
    // "Usable" is within 5 points of the network's best: BN's 0.80 at lr 10 is 7 below its best 0.87, so its
    // highest usable rate is 1, still above the baseline's 0.1.
    #expect(
      Self.verdict(baseRates: goodRates.base, bnRates: [0.80, 0.86, 0.87, 0.80], baseInits: goodInits.base, bnInits: goodInits.bn)
        == .holds)
    // BN usable only up to the baseline's largest rate: the learning-rate part fails.
    #expect(
      Self.verdict(baseRates: goodRates.base, bnRates: [0.80, 0.86, 0.70, .nan], baseInits: goodInits.base, bnInits: goodInits.bn)
        == .mixed)
    // As many usable initial scales as the baseline: the initialization part fails.
    #expect(
      Self.verdict(baseRates: goodRates.base, bnRates: goodRates.bn, baseInits: goodInits.base, bnInits: [0.10, 0.86, 0.40, 0.10])
        == .mixed)
    // The identity in Double: output within 1e-6, gradient ratio within 1e-3.
    #expect(
      Self.verdict(baseRates: goodRates.base, bnRates: goodRates.bn, baseInits: goodInits.base, bnInits: goodInits.bn,
        difference: 2e-6) == .mixed)
    #expect(
      Self.verdict(baseRates: goodRates.base, bnRates: goodRates.bn, baseInits: goodInits.base, bnInits: goodInits.bn,
        ratioError: 2e-3) == .mixed)
  }
}

@Suite struct AffineVerdictTests {
  typealias Run = AffineExperiment.Run

  /// Three seeds of each network over two hidden layers of four units: γ moved from 1 by
  /// `gammaDeviation`, and the fractions of sigmoid inputs beyond the linear range.
  static func runs(
    affineAccuracies: [Double], plainAccuracies: [Double], gammaDeviation: Double, affineBeyond: Double,
    plainBeyond: Double
  ) -> [Run] {
    func run(_ affine: Bool, _ seed: Int, _ accuracy: Double) -> Run {
      let parameters = AffineExperiment.LayerParameters(
        gamma: [Double](repeating: affine ? 1 + gammaDeviation : 1, count: 4), beta: [0, 0, 0, 0],
        runningMean: [0.5, -0.5, 1, 0], runningStd: [3, 3, 3, 3])
      let inputs = AffineExperiment.SigmoidInputs(
        unitStd: affine ? 1 + gammaDeviation : 1, unitMeanAbs: 0, fractionBeyondLinear: affine ? affineBeyond : plainBeyond)
      return Run(
        affine: affine, seedIndex: seed, training: TrainingRun(model: Sequential<Float>([])), testAccuracy: accuracy,
        parameters: [parameters, parameters], inputs: [inputs, inputs])
    }
    return affineAccuracies.enumerated().map { run(true, $0, $1) } + plainAccuracies.enumerated().map { run(false, $0, $1) }
  }

  static func verdict(
    affine: [Double] = [0.86, 0.87, 0.865], plain: [Double] = [0.84, 0.845, 0.85], gammaDeviation: Double = 0.3,
    affineBeyond: Double = 0.2, plainBeyond: Double = 0.05
  ) -> Verdict {
    AffineExperiment.analyze(
      runs(affineAccuracies: affine, plainAccuracies: plain, gammaDeviation: gammaDeviation, affineBeyond: affineBeyond,
        plainBeyond: plainBeyond)
    ).verdict
  }

  @Test func γAndβHelpAndAreUsed() {
    #expect(Self.verdict() == .holds)
  }

  @Test func parametersThatDoNothingDoNotHold() {
    // γ = 1, β = 0 and the same accuracies and inputs as the network without them.
    #expect(
      Self.verdict(affine: [0.84, 0.845, 0.85], gammaDeviation: 0, affineBeyond: 0.05, plainBeyond: 0.05) == .doesNotHold)
  }

  @Test func theThresholds() {
    // "Helps": every seed with γ and β above every seed without.
    #expect(Self.verdict(affine: [0.86, 0.87, 0.849]) == .mixed)
    // "Used": γ moves by at least 0.1 on average …
    #expect(Self.verdict(gammaDeviation: 0.11) == .holds)
    #expect(Self.verdict(gammaDeviation: 0.09) == .mixed)
    // … and more inputs leave the sigmoid's linear range than without (by over 2 points).
    #expect(Self.verdict(affineBeyond: 0.071) == .holds)
    #expect(Self.verdict(affineBeyond: 0.069) == .mixed)
    // One seed is no evidence either way.
    #expect(Self.verdict(affine: [0.9], plain: [0.8]) == .mixed)
  }
}

@Suite struct SyncBatchNormVerdictTests {
  /// Test accuracy by shard size m and mode (0: per-process BN, 1: synchronized, 2: one process).
  static func summary(_ accuracy: (_ m: Int, _ mode: Double) -> Double) -> DataTable {
    var table = DataTable(name: "sync_bn_summary", columns: ["shard_size", "mode", "test_accuracy_mean"])
    for m in SyncBatchNormExperiment.shardSizes {
      for mode in [0.0, 1, 2] { table.append(["shard_size": Double(m), "mode": mode, "test_accuracy_mean": accuracy(m, mode)]) }
    }
    return table
  }

  /// One process reaches 0.85; synchronized differs by `syncGap`; per-process BN falls
  /// `localGapSmallest` behind at the smallest shard, `localGapLargest` at the largest (linearly between).
  static func verdict(syncGap: Double, localGapSmallest: Double, localGapLargest: Double) -> Verdict {
    let sizes = SyncBatchNormExperiment.shardSizes
    return SyncBatchNormExperiment.verdict(
      summary { m, mode in
        let position = Double(sizes.firstIndex(of: m)!) / Double(max(sizes.count - 1, 1))
        switch mode {
        case 2: return 0.85
        case 1: return 0.85 - syncGap
        default: return 0.85 - (localGapSmallest + (localGapLargest - localGapSmallest) * position)
        }
      }
    ).verdict
  }

  @Test func synchronizedMatchesAndPerProcessFallsBehind() {
    #expect(Self.verdict(syncGap: 0.001, localGapSmallest: 0.05, localGapLargest: 0.005) == .holds)
  }

  @Test func modesThatChangeNothingDoNotHoldWhereTheyMust() {
    // Per-process statistics no worse than synchronized ones: the "falls behind" part fails.
    #expect(Self.verdict(syncGap: 0, localGapSmallest: 0, localGapLargest: 0) == .mixed)
    // A synchronization that does not match one process, and no per-process penalty: nothing holds.
    #expect(Self.verdict(syncGap: 0.02, localGapSmallest: 0, localGapLargest: 0) == .doesNotHold)
  }

  @Test func theThresholds() {
    // Synchronized within half a point of one process at every m.
    #expect(Self.verdict(syncGap: 0.0049, localGapSmallest: 0.05, localGapLargest: 0.005) == .holds)
    #expect(Self.verdict(syncGap: 0.0051, localGapSmallest: 0.05, localGapLargest: 0.005) == .mixed)
    // Per-process more than a point behind at the smallest shard, and further behind there than at the largest.
    #expect(Self.verdict(syncGap: 0, localGapSmallest: 0.011, localGapLargest: 0.005) == .holds)
    #expect(Self.verdict(syncGap: 0, localGapSmallest: 0.009, localGapLargest: 0.005) == .mixed)
    #expect(Self.verdict(syncGap: 0, localGapSmallest: 0.05, localGapLargest: 0.06) == .mixed)
  }
}

@Suite struct SmallBatchVerdictTests {
  typealias Experiment = SmallBatchExperiment

  /// The three tables the verdict reads. At every batch size the momentum-0.1 average reaches
  /// 0.80 and the slower averages 0.79; recalibrated statistics reach `recalibrated(m)`,
  /// batch statistics at test time `batch(m)`. Batch Renormalization with running averages
  /// gains `renormGain` over BN in each setting.
  static func verdict(
    recalibrated: (Int) -> Double = { _ in 0.82 }, batch: (Int) -> Double = { $0 <= 4 ? 0.85 : 0.80 },
    renormGain: (tiny: Double, nonIID: Double) = (0.03, 0.03)
  ) -> Verdict {
    let methodColumns = Experiment.methods.map(\.column)
    var sweep = DataTable(
      name: "small_batch_sweep",
      columns: ["batch_size", "seed", "learning_rate", "steps", "diverged", "final_training_loss"] + methodColumns)
    var summary = DataTable(
      name: "small_batch_summary",
      columns: ["batch_size", "seeds"] + methodColumns.flatMap { column in ["mean", "min", "max"].map { column + "_" + $0 } })
    for m in Experiment.batchSizes {
      let accuracies = [0.80, 0.79, 0.79, recalibrated(m), batch(m)]
      var sweepRow: DataTable.Row = [
        ("batch_size", Double(m)), ("seed", 1), ("learning_rate", 0.1), ("steps", 100), ("diverged", 0),
        ("final_training_loss", 0.4),
      ]
      var summaryRow: DataTable.Row = [("batch_size", Double(m)), ("seeds", 1)]
      for (column, value) in zip(methodColumns, accuracies) {
        sweepRow.append((column, value))
        summaryRow += [(column + "_mean", value), (column + "_min", value), (column + "_max", value)]
      }
      sweep.append(sweepRow)
      summary.append(summaryRow)
    }
    var renorm = DataTable(
      name: "small_batch_renorm",
      columns: [
        "setting", "batch_size", "classes_per_batch", "normalization", "seed", "steps", "diverged", "test_accuracy_running",
        "test_accuracy_population",
      ])
    for setting in Experiment.renormSettings.indices {
      let gain = setting == 0 ? renormGain.tiny : setting == 1 ? renormGain.nonIID : 0
      for (normalization, accuracy) in [(0.0, 0.70), (1, 0.75), (2, 0.75 + gain)] {
        renorm.append([
          "setting": Double(setting), "batch_size": 16, "classes_per_batch": 10, "normalization": normalization, "seed": 1,
          "steps": 100, "diverged": 0, "test_accuracy_running": accuracy, "test_accuracy_population": accuracy,
        ])
      }
    }
    return Experiment.verdict(sweep: sweep, summary: summary, renorm: renorm).verdict
  }

  @Test func everyPartHolds() {
    #expect(Self.verdict() == .holds)
  }

  @Test func statisticsChoicesThatChangeNothingDoNotHold() {
    // Recalibration below the moving average, batch statistics never better, BRN no gain.
    #expect(Self.verdict(recalibrated: { _ in 0.78 }, batch: { _ in 0.78 }, renormGain: (0, 0)) == .doesNotHold)
  }

  @Test func theThresholds() {
    // Recalibrated statistics within half a point of the moving average at every m.
    #expect(Self.verdict(recalibrated: { $0 == 64 ? 0.7951 : 0.82 }) == .holds)
    #expect(Self.verdict(recalibrated: { $0 == 64 ? 0.7949 : 0.82 }) == .mixed)
    // At m ≤ 4 batch statistics beat recalibration by more than half a point, and by more than at the largest m.
    #expect(Self.verdict(batch: { $0 <= 4 ? 0.8251 : 0.80 }) == .holds)
    #expect(Self.verdict(batch: { $0 <= 4 ? 0.8249 : 0.80 }) == .mixed)
    #expect(Self.verdict(batch: { $0 <= 4 ? 0.85 : 0.86 }) == .mixed)
    // BRN gains more than half a point with micro-batches and with non-i.i.d. batches.
    #expect(Self.verdict(renormGain: (0.0051, 0.03)) == .holds)
    #expect(Self.verdict(renormGain: (0.0049, 0.03)) == .mixed)
    #expect(Self.verdict(renormGain: (0.03, 0.0049)) == .mixed)
  }
}

@Suite struct ConvergenceVerdictTests {
  typealias Experiment = ConvergenceExperiment

  /// Three seeds per network at the shared rate. BN reaches 80 % and 85 % after
  /// `bnSteps` (every seed), the baseline after `baseSteps`; final accuracies as given; the
  /// sigmoid input's percentiles move from (p15, p50, p85) at the start by `baseShift` and
  /// `bnShift` in the median (widths 1 throughout).
  static func runs(
    bnSteps: (Int, Int) = (100, 200), baseSteps: (Int, Int) = (300, 600), bnFinal: [Double] = [0.90, 0.91, 0.905],
    baseFinal: [Double] = [0.86, 0.87, 0.865], bnShift: Double = 0.1, baseShift: Double = 2
  ) -> [Experiment.Run] {
    func run(_ batchNorm: Bool, _ seed: Int, final: Double) -> Experiment.Run {
      let (reach80, reach85) = batchNorm ? bnSteps : baseSteps
      var training = TrainingRun(model: Sequential<Float>([]))
      training.steps = [0, reach80, reach85, 1000]
      training.testAccuracy = [0.1, 0.80, 0.85, final]
      let shift = batchNorm ? bnShift : baseShift
      let percentiles = [0.0, 0.5, 1].map { fraction in
        Experiment.PercentilePoint(step: Int(fraction * 1000), p15: shift * fraction - 0.5, p50: shift * fraction, p85: shift * fraction + 0.5)
      }
      return Experiment.Run(
        withBatchNorm: batchNorm, rate: Experiment.sharedRate, seedIndex: seed, training: training, percentiles: percentiles,
        validationAccuracy: final, testAccuracy: final)
    }
    return bnFinal.enumerated().map { run(true, $0, final: $1) } + baseFinal.enumerated().map { run(false, $0, final: $1) }
  }

  static func verdict(_ runs: [Experiment.Run]) -> Verdict {
    let rate = Experiment.sharedRate
    return Experiment.analyze(runs, setup: Experiment.setup(.quick), bestRates: [rate, rate]).verdict
  }

  @Test func fasterHigherAndStable() {
    #expect(Self.verdict(Self.runs()) == .holds)
  }

  @Test func aBatchNormThatDoesNothingDoesNotHold() {
    // The baseline's curves, accuracies and drifting sigmoid input for both networks.
    #expect(
      Self.verdict(Self.runs(bnSteps: (300, 600), bnFinal: [0.86, 0.87, 0.865], bnShift: 2)) == .doesNotHold)
  }

  @Test func eachPartAlone() {
    // Faster needs BN's slowest seed before the baseline's fastest at every target.
    #expect(Self.verdict(Self.runs(bnSteps: (100, 600))) == .mixed)
    // Higher needs BN's worst seed above the baseline's best at the end.
    #expect(Self.verdict(Self.runs(bnFinal: [0.90, 0.91, 0.869])) == .mixed)
    // Stable: BN's median moves under half a width while the baseline's does not.
    #expect(Self.verdict(Self.runs(bnShift: 0.49)) == .holds)
    #expect(Self.verdict(Self.runs(bnShift: 0.51)) == .mixed)
    #expect(Self.verdict(Self.runs(baseShift: 0.4)) == .mixed)
  }
}

@Suite struct CovariateShiftVerdictTests {
  typealias Experiment = CovariateShiftExperiment

  /// The baseline's measures (mean shift 0.1, W₁ 0.01, ‖G − G′‖/‖G‖ 0.2, loss 1.0) and
  /// BN's as given.
  static func verdict(meanShift: Double = 0.1, wasserstein: Double = 0.01, gradientChange: Double = 0.2, loss: Double = 1.0)
    -> Verdict
  {
    let plain = Experiment.Summary(
      batchNorm: false, meanShift: 0.1, stdLogRatio: 0.05, wasserstein: 0.01, gradientChange: 0.2,
      gradientCosine: 0.98, finalLoss: 1.0, finalAccuracy: 0.8)
    let normalized = Experiment.Summary(
      batchNorm: true, meanShift: meanShift, stdLogRatio: 0.05, wasserstein: wasserstein,
      gradientChange: gradientChange, gradientCosine: 0.98, finalLoss: loss, finalAccuracy: 0.85)
    return Experiment.verdict([plain, normalized]).verdict
  }

  @Test func bothMeasuresReducedAndFasterHolds() {
    #expect(Self.verdict(meanShift: 0.05, wasserstein: 0.005, gradientChange: 0.1, loss: 0.5) == .holds)
  }

  @Test func aBatchNormThatDoesNothingDoesNotHold() {
    // The baseline's numbers for both networks.
    #expect(Self.verdict() == .doesNotHold)
    // Faster training alone does not make ICS reduced (Santurkar's finding).
    #expect(Self.verdict(loss: 0.5) == .doesNotHold)
  }

  @Test func theThresholds() {
    // Each measure must fall below 80 % of the baseline's.
    #expect(Self.verdict(meanShift: 0.079, wasserstein: 0.0079, gradientChange: 0.159, loss: 0.5) == .holds)
    #expect(Self.verdict(meanShift: 0.081, wasserstein: 0.0079, gradientChange: 0.159, loss: 0.5) == .mixed)
    #expect(Self.verdict(meanShift: 0.079, wasserstein: 0.0081, gradientChange: 0.159, loss: 0.5) == .mixed)
    #expect(Self.verdict(meanShift: 0.079, wasserstein: 0.0079, gradientChange: 0.161, loss: 0.5) == .mixed)
    // Faster training: a final loss below 90 % of the baseline's.
    #expect(Self.verdict(meanShift: 0.05, wasserstein: 0.005, gradientChange: 0.1, loss: 0.89) == .holds)
    #expect(Self.verdict(meanShift: 0.05, wasserstein: 0.005, gradientChange: 0.1, loss: 0.91) == .mixed)
    // One measure reduced is mixed.
    #expect(Self.verdict(gradientChange: 0.1, loss: 0.5) == .mixed)
    #expect(Self.verdict(meanShift: 0.05, wasserstein: 0.005, loss: 0.5) == .mixed)
  }
}

@Suite struct SmoothnessVerdictTests {
  typealias Experiment = SmoothnessExperiment

  /// The baseline: β-smoothness 10, largest training rate 0.1; BN's as given.
  static func verdict(beta: Double = 10, rate: Double = 0.1) -> Verdict {
    let plain = Experiment.Summary(
      batchNorm: false, lossBand: 0.5, gradientChange: 1, betaSmoothness: 10, largestTrainingRate: 0.1,
      bestAccuracy: 0.8)
    let normalized = Experiment.Summary(
      batchNorm: true, lossBand: 0.5, gradientChange: 1, betaSmoothness: beta, largestTrainingRate: rate,
      bestAccuracy: 0.85)
    return Experiment.verdict([plain, normalized]).verdict
  }

  @Test func smootherAndLargerRatesHolds() {
    #expect(Self.verdict(beta: 2, rate: 1) == .holds)
  }

  @Test func aBatchNormThatDoesNothingDoesNotHold() {
    #expect(Self.verdict() == .doesNotHold)
  }

  @Test func theThresholds() {
    // Smoother: BN's β below 80 % of the baseline's.
    #expect(Self.verdict(beta: 7.9, rate: 1) == .holds)
    #expect(Self.verdict(beta: 8.1, rate: 1) == .mixed)
    // Larger rates: strictly larger than the baseline's largest.
    #expect(Self.verdict(beta: 2, rate: 0.1) == .mixed)
    #expect(Self.verdict(beta: 2, rate: 0.3) == .holds)
    // A network that trains at no rate has none.
    #expect(Self.verdict(beta: 20, rate: 0) == .doesNotHold)
  }
}

@Suite struct NoisyBatchNormVerdictTests {
  typealias Experiment = NoisyBatchNormExperiment

  /// BN ends at 0.85 and the plain network at 0.80 (its median drifting 0.5); the noisy
  /// network as given.
  static func verdict(accuracy: Double, drift: Double = 1) -> Verdict {
    Experiment.verdict([
      Experiment.Summary(network: .plain, finalAccuracy: 0.80, medianDrift: 0.5),
      Experiment.Summary(network: .batchNorm, finalAccuracy: 0.85, medianDrift: 0.1),
      Experiment.Summary(network: .noisyBatchNorm, finalAccuracy: accuracy, medianDrift: drift),
    ]).verdict
  }

  @Test func unstableYetLikeBatchNormHolds() {
    #expect(Self.verdict(accuracy: 0.85) == .holds)
  }

  @Test func noisyBatchNormThatLosesTheAdvantageDoesNotHold() {
    #expect(Self.verdict(accuracy: 0.80) == .doesNotHold)
  }

  @Test func theThresholds() {
    // Like BN: within 1.5 points of BN's accuracy.
    #expect(Self.verdict(accuracy: 0.836) == .holds)
    #expect(Self.verdict(accuracy: 0.834) == .mixed)
    // Lost: within 1.5 points of the plain network's.
    #expect(Self.verdict(accuracy: 0.816) == .mixed)
    #expect(Self.verdict(accuracy: 0.814) == .doesNotHold)
    // Less stable: the noisy input must drift more than the plain network's.
    #expect(Self.verdict(accuracy: 0.85, drift: 0.49) == .mixed)
    #expect(Self.verdict(accuracy: 0.85, drift: 0.51) == .holds)
  }
}
