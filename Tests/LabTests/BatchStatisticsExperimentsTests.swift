import BatchNormalization
import Datasets
import Foundation
import NeuralNetwork
import Testing

@testable import Lab

/// Whether every value of `column` is an accuracy.
private func accuracies(_ table: DataTable, _ column: String) -> Bool {
  table.column(column).allSatisfy { (0...1).contains($0) }
}

@Suite struct RunningStatisticsCopiesTests {
  /// A copy with the network's own policy ends where the network's layers end, bit for bit:
  /// the copies see exactly the training inputs.
  @Test func aCopyWithTheSamePolicyMatchesTheTrainedNetwork() throws {
    var generator = SeededGenerator(seed: 3)
    let samples = (0..<(96 * 20)).map { _ in Float(generator.nextGaussian()) }
    let data = try LabeledSamples(
      samples: Tensor(shape: [96, 20], scalars: samples), labels: (0..<96).map { $0 % 4 })
    let network: Sequential<Float> = try Architecture(parsing: "linear:8,bn,sigmoid,linear:8,bn:momentum=0.3,relu,linear:4")
      .makeNetwork(sampleShape: [20], using: &generator)
    var copies = RunningStatisticsCopies(model: network, policies: [{ _ in }, { $0.momentum = .cumulative }])
    let outcome = try BatchStatisticsSupport.train(
      network, optimizer: SGD(schedule: .constant(0.1), momentum: 0.9), data: data, sampler: .iid(batchSize: 8),
      steps: 30, seed: 4
    ) { copies.observe(layerIndex: $0, input: $1) }
    #expect(copies.layerIndices == [1, 4])
    #expect(copies.failures == 0)
    #expect(try copies.applying(0, to: outcome.model).buffers == outcome.model.buffers)
    #expect(try copies.applying(1, to: outcome.model).buffers != outcome.model.buffers)
  }

  /// Non-i.i.d. batches hold `classesPerBatch` classes, equally many samples of each.
  @Test func classGroupedBatchesHoldTwoClasses() {
    var generator = SeededGenerator(seed: 5)
    let labels = (0..<200).map { $0 % 10 }
    let batches = BatchStatisticsSupport.Sampler.classGrouped(batchSize: 8, classesPerBatch: 2)
      .epoch(labels: labels, using: &generator)
    #expect(batches.count >= 20)
    for batch in batches {
      let counts = Dictionary(grouping: batch.map { labels[$0] }, by: { $0 }).mapValues(\.count)
      #expect(counts.count == 2 && counts.values.allSatisfy { $0 == 4 })
    }
    #expect(Set(batches.joined()).count == batches.count * 8)
  }
}

@Suite(.enabled(if: FashionMNISTFixture.isInstalled, "needs Fashion-MNIST at /usr/share/datasets/fashion-mnist"))
struct SmallBatchExperimentTests {
  @Test func quickRunHasOneRowPerBatchSizeAndMethod() throws {
    let report = try SmallBatchExperiment().run(FashionMNISTFixture.context(seed: 1))
    let names = report.tables.map(\.name)
    #expect(names == ["small_batch_accuracy", "small_batch_summary", "small_batch_renorm"])
    let sweep = report.tables[0], summary = report.tables[1], renorm = report.tables[2]
    let seeds = SmallBatchExperiment.setup(.quick).seeds
    #expect(sweep.rows.count == SmallBatchExperiment.batchSizes.count * seeds)
    #expect(summary.column("batch_size") == SmallBatchExperiment.batchSizes.map(Double.init))
    for method in SmallBatchExperiment.methods {
      #expect(accuracies(sweep, method.column), "\(method.column)")
      for statistic in ["mean", "min", "max"] { #expect(accuracies(summary, method.column + "_" + statistic)) }
    }
    // Equal examples: steps × m is the same at every batch size.
    let finished = sweep.rows.indices.filter { sweep.column("diverged")[$0] == 0 }
    #expect(Set(finished.map { sweep.column("steps")[$0] * sweep.column("batch_size")[$0] }).count == 1)
    #expect(renorm.rows.count == SmallBatchExperiment.renormSettings.count * 3 * seeds)
    #expect(accuracies(renorm, "test_accuracy_running") && accuracies(renorm, "test_accuracy_population"))
    #expect(Set(renorm.column("normalization")) == [0, 1, 2])
    // Without BN there are no statistics to recalibrate.
    for row in renorm.rows.indices where renorm.column("normalization")[row] == 0 {
      #expect(renorm.column("test_accuracy_running")[row] == renorm.column("test_accuracy_population")[row])
    }
    #expect([Verdict.holds, .mixed, .doesNotHold].contains(report.verdict))
    #expect(report.findings.contains("m = 2"))
    let svg = report.figures.map(\.svg).joined()
    for method in SmallBatchExperiment.methods { #expect(svg.contains("data-series=\"\(method.label)\"")) }
    for series in ["without BN", "BN, running averages", "BRN, running averages", "BRN, recalibrated"] {
      #expect(svg.contains("data-series=\"\(series)\""), "\(series)")
    }
  }

  @Test func theSameSeedGivesTheSameCSV() throws {
    let first = try SmallBatchExperiment().run(FashionMNISTFixture.context(seed: 9)).tables.map(\.csv)
    let second = try SmallBatchExperiment().run(FashionMNISTFixture.context(seed: 9)).tables.map(\.csv)
    #expect(first == second)
  }
}

@Suite(.enabled(if: FashionMNISTFixture.isInstalled, "needs Fashion-MNIST at /usr/share/datasets/fashion-mnist"))
struct BesselNetworkTests {
  @Test func quickRunAddsTheNetworkTable() throws {
    let report = try BesselExperiment().run(FashionMNISTFixture.context(seed: 1))
    #expect(report.tables.map(\.name) == ["bessel_monte_carlo", "bessel_network"])
    #expect(report.figures.count == 2)
    let table = report.tables[1]
    let seeds = SmallBatchExperiment.setup(.quick).seeds
    #expect(table.rows.count == BesselExperiment.networkBatchSizes.count * seeds)
    #expect(table.column("m") == BesselExperiment.networkBatchSizes.flatMap { Array(repeating: Double($0), count: seeds) })
    for method in BesselExperiment.networkMethods { #expect(accuracies(table, method.column), "\(method.column)") }
    // Both running variances average the same batches; the biased one is (m − 1)/m of the other.
    for (row, m) in table.column("m").enumerated() {
      let ratio = table.column("variance_ratio_running_biased")[row] / table.column("variance_ratio_running_unbiased")[row]
      #expect(abs(ratio - (m - 1) / m) < 1e-3, "m = \(m)")
    }
    let svg = report.figures[1].svg
    for method in BesselExperiment.networkMethods { #expect(svg.contains("data-series=\"\(method.label)\"")) }
    #expect(report.findings.contains("biased running variance"))
  }

  @Test func theSameSeedGivesTheSameCSV() throws {
    let first = try BesselExperiment().run(FashionMNISTFixture.context(seed: 9)).tables.map(\.csv)
    let second = try BesselExperiment().run(FashionMNISTFixture.context(seed: 9)).tables.map(\.csv)
    #expect(first == second)
  }
}

@Suite(.enabled(if: FashionMNISTFixture.isInstalled, "needs Fashion-MNIST at /usr/share/datasets/fashion-mnist"))
struct RegularizationExperimentTests {
  @Test func quickRunMeasuresTheGapConsistently() throws {
    let report = try RegularizationExperiment().run(FashionMNISTFixture.context(seed: 1))
    #expect(report.tables.map(\.name) == ["regularization_gap", "regularization_summary"])
    let table = report.tables[0], summary = report.tables[1]
    let seeds = RegularizationExperiment.setup(.quick).seeds
    #expect(table.rows.count == RegularizationExperiment.configurations.count * seeds)
    #expect(summary.rows.count == RegularizationExperiment.configurations.count)
    #expect(accuracies(table, "train_accuracy") && accuracies(table, "test_accuracy"))
    for row in table.rows.indices {
      #expect(table.column("accuracy_gap")[row] == table.column("train_accuracy")[row] - table.column("test_accuracy")[row])
      #expect(table.column("loss_gap")[row] == table.column("test_loss")[row] - table.column("train_loss")[row])
    }
    // The same epochs at every batch size; both networks at every batch size, ghost BN at the largest.
    let finished = table.rows.indices.filter { table.column("diverged")[$0] == 0 }
    #expect(Set(finished.map { table.column("steps")[$0] * table.column("batch_size")[$0] }).count == 1)
    for size in RegularizationExperiment.batchSizes {
      #expect(summary.rows.filter { $0[0] == Double(size) && $0[2] == 0 }.map { $0[1] } == [0, 1])
    }
    #expect(summary.rows.filter { $0[2] > 0 }.map { $0[0] } == [Double(RegularizationExperiment.batchSizes.last!)])
    let svg = try #require(report.figures.first?.svg)
    for series in ["without BN", "with BN", "ghost BN, virtual batches of 32", "with BN, train"] {
      #expect(svg.contains("data-series=\"\(series)\""), "\(series)")
    }
  }

  @Test func theSameSeedGivesTheSameCSV() throws {
    let first = try RegularizationExperiment().run(FashionMNISTFixture.context(seed: 9)).tables.map(\.csv)
    let second = try RegularizationExperiment().run(FashionMNISTFixture.context(seed: 9)).tables.map(\.csv)
    #expect(first == second)
  }
}
