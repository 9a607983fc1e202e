import Foundation
import NeuralNetwork
import Testing

@testable import Lab

@Suite(.enabled(if: FashionMNISTFixture.isInstalled, "needs Fashion-MNIST at /usr/share/datasets/fashion-mnist"))
struct SmoothnessExperimentTests {
  /// One landscape row per network and point, one sweep row per network and learning rate,
  /// one gradient row per Linear layer; the measures finite and in range.
  @Test func quickRunHasTheShapeAndTheInvariants() throws {
    let report = try SmoothnessExperiment().run(FashionMNISTFixture.context(seed: 6))
    #expect(report.tables.map(\.name) == ["smoothness_landscape", "smoothness_learning_rate", "smoothness_initial_gradients"])
    let landscape = report.tables[0], sweep = report.tables[1], gradients = report.tables[2]
    let setup = SmoothnessExperiment.setup(.quick)
    #expect(landscape.rows.count == 2 * setup.seeds * ((setup.steps + setup.every - 1) / setup.every))
    for row in landscape.rows.indices {
      let (low, high) = (landscape.column("loss_min")[row], landscape.column("loss_max")[row])
      #expect(low.isFinite && low >= 0 && high >= low, "row \(row)")
      #expect(landscape.column("beta_smoothness")[row] > 0 && landscape.column("gradient_change_max")[row] > 0)
    }
    #expect(sweep.rows.count == 2 * SmoothnessExperiment.learningRates.count)
    #expect(sweep.column("test_accuracy").allSatisfy { (0...1).contains($0) })
    // 12 hidden Linear layers and the output layer, for each network.
    #expect(gradients.rows.count == 2 * (SmoothnessExperiment.deepLayers + 1))
    #expect(gradients.column("gradient_norm").allSatisfy { $0.isFinite && $0 > 0 })
    #expect(report.figures.count == 1 && report.figures[0].svg.contains("data-series=\"without BN\""))
  }

  @Test func theSameSeedGivesTheSameCSV() throws {
    let first = try SmoothnessExperiment().run(FashionMNISTFixture.context(seed: 8))
    let second = try SmoothnessExperiment().run(FashionMNISTFixture.context(seed: 8))
    #expect(first.tables.map(\.csv) == second.tables.map(\.csv))
  }
}
