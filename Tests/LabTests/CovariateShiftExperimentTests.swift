import Foundation
import NeuralNetwork
import Testing

@testable import Lab

/// The measures of internal covariate shift on values whose answer is known.
@Suite struct CovariateShiftMeasureTests {
  /// [samples, 2]: unit 0 uniform on 0…1, unit 1 a spread of 3 values.
  static let before = Tensor<Float>(shape: [4, 2], scalars: [0, 0.25, 0.25, 0.5, 0.5, 0.25, 1, 0.5])

  @Test func anUnchangedDistributionHasNoShift() {
    let change = CovariateShiftExperiment.distributionChange(Self.before, Self.before)
    #expect(change.meanShift == 0 && change.stdLogRatio == 0 && change.wasserstein == 0)
  }

  @Test func aShiftedDistributionMovesByTheShift() throws {
    // Every value of both units plus 0.5: W₁ = 0.5, mean shift 0.5/σ, the same spread.
    let after = Tensor<Float>(shape: [4, 2], scalars: Self.before.scalars.map { $0 + 0.5 })
    let change = CovariateShiftExperiment.distributionChange(Self.before, after)
    let sigma = [0.0, 0.25, 0.5, 1.0].map { $0 - 0.4375 }.map { $0 * $0 }.reduce(0, +) / 4
    let sigma1 = [0.25, 0.5, 0.25, 0.5].map { $0 - 0.375 }.map { $0 * $0 }.reduce(0, +) / 4
    let expectedShift = (0.5 / sigma.squareRoot() + 0.5 / sigma1.squareRoot()) / 2
    #expect(abs(change.meanShift - expectedShift) < 1e-6)
    #expect(abs(change.stdLogRatio) < 1e-6)
    #expect(abs(change.wasserstein - 0.5) < 1e-6)
  }

  @Test func aScaledDistributionChangesItsSpread() {
    let after = Tensor<Float>(shape: [4, 2], scalars: Self.before.scalars.map { $0 * 2 })
    let change = CovariateShiftExperiment.distributionChange(Self.before, after)
    #expect(abs(change.stdLogRatio - log(2)) < 1e-6)
  }

  @Test func theGradientMeasure() {
    let gradient: [Float] = [3, 4]
    let same = CovariateShiftExperiment.gradientChange(gradient, gradient)
    #expect(same.relative == 0 && abs(same.cosine - 1) < 1e-12)
    // G′ = (4, 3): ‖G − G′‖ = √2, ‖G‖ = 5, cos = 24/25.
    let turned = CovariateShiftExperiment.gradientChange(gradient, [4, 3])
    #expect(abs(turned.relative - 2.0.squareRoot() / 5) < 1e-12)
    #expect(abs(turned.cosine - 24.0 / 25) < 1e-12)
  }
}

@Suite(.enabled(if: FashionMNISTFixture.isInstalled, "needs Fashion-MNIST at /usr/share/datasets/fashion-mnist"))
struct CovariateShiftExperimentTests {
  /// One row per network, measured point and layer 2–4; measures finite and in range;
  /// Linear 1's input (the data) does not move, so it is not measured.
  @Test func quickRunHasTheShapeAndTheInvariants() throws {
    let report = try CovariateShiftExperiment().run(FashionMNISTFixture.context(seed: 2))
    #expect(report.tables.map(\.name) == ["ics_shift", "ics_training"])
    let shifts = report.tables[0], training = report.tables[1]
    let setup = CovariateShiftExperiment.setup(.quick)
    let points = (setup.steps + setup.every - 1) / setup.every
    #expect(shifts.rows.count == 2 * setup.seeds * points * CovariateShiftExperiment.measuredLayers.count)
    #expect(training.rows.count == 2 * setup.seeds * points)
    #expect(Set(shifts.column("layer")) == [2, 3, 4])
    for column in ["mean_shift", "std_log_ratio", "wasserstein", "gradient_change"] {
      #expect(shifts.column(column).allSatisfy { $0.isFinite && $0 >= 0 }, "\(column)")
    }
    #expect(shifts.column("wasserstein").allSatisfy { $0 <= 1 })  // sigmoid outputs lie in [0, 1]
    #expect(shifts.column("gradient_cosine").allSatisfy { abs($0) <= 1 + 1e-9 })
    // One step of SGD moves the layers below: the gradient of layer 2 changes, a little.
    #expect(shifts.column("gradient_change").contains { $0 > 0 })
    #expect(training.column("test_accuracy").allSatisfy { (0...1).contains($0) })
    #expect(report.figures.count == 1 && report.figures[0].svg.contains("data-series=\"with BN\""))
    #expect(!report.findings.isEmpty)
  }

  @Test func theSameSeedGivesTheSameCSV() throws {
    let first = try CovariateShiftExperiment().run(FashionMNISTFixture.context(seed: 4))
    let second = try CovariateShiftExperiment().run(FashionMNISTFixture.context(seed: 4))
    #expect(first.tables.map(\.csv) == second.tables.map(\.csv))
  }
}
