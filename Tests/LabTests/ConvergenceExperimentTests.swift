import Datasets
import Foundation
import Testing

@testable import Lab

@Suite(.enabled(if: FashionMNISTFixture.isInstalled, "needs Fashion-MNIST in /usr/share/datasets/fashion-mnist"))
struct ConvergenceExperimentTests {
  /// The quick run's tables have a row per run, curve point and record, for both networks
  /// and every rate, and show what holds whatever the seed.
  @Test func quickRunHasTheShapeOfFigure1() throws {
    let report = try ConvergenceExperiment().run(FashionMNISTFixture.context(seed: 3))
    let setup = ConvergenceExperiment.setup(.quick)
    #expect(report.tables.map(\.name) == ["convergence_runs", "convergence_curves", "convergence_sigmoid_input"])
    let runs = report.tables[0]
    #expect(runs.rows.count == 2 * setup.rates.count * setup.seedCount)
    #expect(Set(runs.column("with_bn")) == [0, 1])
    #expect(runs.column("is_shared_rate").filter { $0 == 1 }.count == 2 * setup.seedCount)
    // Exactly one best rate per network.
    for flag in [0.0, 1.0] {
      let best = zip(runs.column("with_bn"), zip(runs.column("is_own_best_rate"), runs.column("learning_rate")))
        .filter { $0.0 == flag && $0.1.0 == 1 }.map(\.1.1)
      #expect(Set(best).count == 1)
    }
    let accuracies = (runs.column("final_test_accuracy") + runs.column("validation_accuracy")).filter(\.isFinite)
    #expect(!accuracies.isEmpty)
    #expect(accuracies.allSatisfy { (0...1).contains($0) })

    let curves = report.tables[1]
    let pointsPerRun = setup.steps / setup.evaluateEvery + 1
    #expect(curves.rows.count == runs.rows.count * pointsPerRun)
    let steps = curves.column("step")
    for start in stride(from: 0, to: steps.count, by: pointsPerRun) {
      let run = Array(steps[start..<(start + pointsPerRun)])
      #expect(run.first == 0 && run.last == Double(setup.steps))
      #expect(zip(run, run.dropFirst()).allSatisfy { $0 < $1 })
    }
    #expect(curves.column("test_accuracy").filter(\.isFinite).allSatisfy { (0...1).contains($0) })

    let sigmoid = report.tables[2]
    #expect(sigmoid.rows.count == runs.rows.count * (setup.steps / setup.recordEvery))
    #expect(Set(sigmoid.column("with_bn")) == [0, 1])
    for (p15, (p50, p85)) in zip(sigmoid.column("p15"), zip(sigmoid.column("p50"), sigmoid.column("p85"))) {
      #expect(p15 <= p50 && p50 <= p85)
    }
    // At step 0 the BN network's sigmoid input is the normalized Wu: spread about ±1.
    let bnStart = sigmoid.rows.filter { $0[0] == 1 && $0[3] == 0 }
    for row in bnStart {
      #expect(row[4] > -2 && row[4] < 0 && row[6] > 0 && row[6] < 2)
    }

    #expect(report.figures.map(\.name) == ["convergence_accuracy", "convergence_sigmoid_input", "convergence_learning_rates"])
    let accuracy = report.figures[0].svg
    #expect(accuracy.contains("data-series=\"with BN, η = \(ConvergenceExperiment.sharedRate)"))
    #expect(accuracy.contains("data-series=\"without BN, η = \(ConvergenceExperiment.sharedRate)"))
    for name in ["median", "15th percentile", "85th percentile"] {
      #expect(report.figures[1].svg.contains("data-series=\"\(name)\""))
    }
    #expect(report.figures[2].svg.contains("data-series=\"with BN\""))
    #expect(!report.findings.isEmpty)
  }

  @Test func theSameSeedGivesTheSameCSV() throws {
    let context = try FashionMNISTFixture.context(seed: 11)
    let first = try ConvergenceExperiment().run(context).tables.map(\.csv)
    let second = try ConvergenceExperiment().run(context).tables.map(\.csv)
    #expect(first == second)
  }
}
