import Foundation
import Testing

@testable import Lab

private func quickContext(seed: UInt64) throws -> LabContext {
  try FashionMNISTFixture.context(seed: seed)
}

@Suite(.enabled(if: FashionMNISTFixture.isInstalled, "needs Fashion-MNIST in /usr/share/datasets/fashion-mnist"))
struct SaturationExperimentTests {
  /// One row per setup and recorded step; fractions in [0, 1]; gradient norms ≥ 0 and
  /// finite (NaN only after a divergence); the figures name every setup.
  @Test func quickRunHasTheShapeAndTheInvariants() throws {
    let report = try SaturationExperiment().run(quickContext(seed: 3))
    let table = try #require(report.tables.first)
    #expect(table.columns == SaturationExperiment.columns)
    let setups = SaturationExperiment.setups
    #expect(setups.count == 8)
    // Quick: 20 steps measured every 10, plus step 0.
    #expect(table.rows.count == setups.count * 3)
    #expect(Set(table.column("step")) == [0, 10, 20])
    let accuracy = table.column("test_accuracy")
    for row in table.rows.indices {
      let divergedBefore = accuracy[row].isNaN
      for layer in 1...SaturationExperiment.hiddenLayers {
        let fraction = table.column("saturated_fraction_layer\(layer)")[row]
        #expect((0...1).contains(fraction) || (divergedBefore && fraction.isNaN), "row \(row), layer \(layer)")
      }
      for layer in 1...SaturationExperiment.linearLayers {
        let norm = table.column("weight_grad_norm_linear\(layer)")[row]
        #expect((norm.isFinite && norm >= 0) || (divergedBefore && norm.isNaN), "row \(row), linear \(layer)")
      }
    }
    // BN normalizes the sigmoid's input: at initialization almost nothing lies beyond |z| > 4.
    let batchNorm = table.column("batch_norm")
    let tanh = table.column("activation_tanh")
    let step = table.column("step")
    let initialBatchNormRows = table.rows.indices.filter { batchNorm[$0] == 1 && tanh[$0] == 0 && step[$0] == 0 }
    #expect(!initialBatchNormRows.isEmpty)
    for row in initialBatchNormRows {
      #expect(table.column("saturated_fraction_layer1")[row] < 0.01)
    }
    #expect(report.figures.count == 2)
    for figure in report.figures {
      for setup in setups where setup.activation == .sigmoid {
        #expect(figure.svg.contains("data-series=\"\(setup.label)\""), "\(figure.name): \(setup.label)")
      }
    }
    #expect(!report.findings.isEmpty)
  }

  @Test func theSameSeedGivesTheSameCSV() throws {
    let first = try SaturationExperiment().run(quickContext(seed: 5))
    let second = try SaturationExperiment().run(quickContext(seed: 5))
    #expect(first.tables.map(\.csv) == second.tables.map(\.csv))
  }
}

@Suite(.enabled(if: FashionMNISTFixture.isInstalled, "needs Fashion-MNIST in /usr/share/datasets/fashion-mnist"))
struct LearningRateExperimentTests {
  @Test func quickRunHasTheShapeAndTheInvariants() throws {
    let report = try LearningRateExperiment().run(quickContext(seed: 3))
    let plan = LearningRateExperiment.plan(.quick)
    #expect(report.tables.map(\.name) == ["learning_rate_sweep", "learning_rate_curves", "init_scale_sweep", "scale_invariance"])
    let sweep = report.tables[0]
    #expect(sweep.rows.count == plan.learningRates.count * 2 * plan.seeds)
    #expect(Set(sweep.column("learning_rate")) == Set(plan.learningRates))
    for row in sweep.rows {
      let accuracy = row[3]
      let diverged = row[5] == 1
      #expect(diverged ? accuracy.isNaN : (0...1).contains(accuracy))
    }
    let curves = report.tables[1]
    // One row per recorded step of each run (a run that diverged may have fewer).
    for row in sweep.rows {
      let runRows = curves.rows.filter { $0[0] == row[0] && $0[1] == row[1] && $0[2] == row[2] }
      #expect(row[5] == 1 ? runRows.count <= plan.steps / plan.every + 1 : runRows.count == plan.steps / plan.every + 1)
    }
    let initSweep = report.tables[2]
    #expect(initSweep.rows.count == plan.standardDeviations.count * 2 * plan.seeds)
    // Each network runs the initialization sweep at one learning rate of the sweep.
    for bn in [0.0, 1.0] {
      let rates = Set(initSweep.rows.filter { $0[1] == bn }.map { $0[3] })
      #expect(rates.count == 1 && plan.learningRates.contains(rates.first!))
    }

    // Scale invariance (§3.3): exact in Double with ε = 0, whatever the seed: what is left
    // is Double's rounding of aW and of the sums (about 1e-16 of each value).
    let invariance = report.tables[3]
    #expect(invariance.rows.count == LearningRateExperiment.scales.count * 2)
    let doubleRows = invariance.rows.filter { $0[2] == 1 }
    #expect(doubleRows.count == LearningRateExperiment.scales.count)
    for row in doubleRows {
      let a = row[0]
      #expect(row[3] < 1e-12, "BN output moved by \(row[3]) at a = \(a)")
      #expect(row[6] < 1e-12, "gradient ratio \(row[4]) at a = \(a) is not 1/a")
      #expect(row[7] < 1e-12, "∂L/∂u moved by \(row[7]) at a = \(a)")
    }
    // In Float with ε = 1e-5, a = 10 still matches 1/a within 1 %.
    let floatAtTen = invariance.rows.filter { $0[2] == 0 && $0[0] == 10 }
    #expect(floatAtTen.count == 1)
    for row in floatAtTen {
      #expect(abs(row[4] - 0.1) <= 0.001)
    }

    #expect(report.figures.map(\.name) == ["learning_rate_accuracy", "learning_rate_loss_curves", "init_scale_accuracy"])
    #expect(report.figures[0].svg.contains("data-series=\"with BN\""))
    #expect(report.figures[0].svg.contains("data-series=\"without BN\""))
    for rate in plan.learningRates {
      #expect(report.figures[1].svg.contains("data-series=\"lr \(significant(rate))\""))
    }
  }

  @Test func theSameSeedGivesTheSameCSV() throws {
    let first = try LearningRateExperiment().run(quickContext(seed: 5))
    let second = try LearningRateExperiment().run(quickContext(seed: 5))
    #expect(first.tables.map(\.csv) == second.tables.map(\.csv))
  }
}
