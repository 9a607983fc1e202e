import Testing

@testable import Lab

@Suite(.enabled(if: FashionMNISTFixture.isInstalled, "needs Fashion-MNIST in /usr/share/datasets/fashion-mnist"))
struct AffineExperimentTests {
  /// The quick run covers both variants; γ and β exist only with the affine layers, and
  /// the sigmoid-input statistics are in range whatever the seed.
  @Test func quickRunComparesBothVariants() throws {
    let report = try AffineExperiment().run(FashionMNISTFixture.context(seed: 5))
    let setup = AffineExperiment.setup(.quick)
    #expect(report.tables.map(\.name) == ["affine_runs", "affine_curves", "affine_parameters", "affine_sigmoid_inputs"])
    let runs = report.tables[0]
    #expect(runs.rows.count == 2 * setup.seedCount)
    #expect(Set(runs.column("affine")) == [0, 1])
    #expect(runs.column("final_test_accuracy").filter(\.isFinite).allSatisfy { (0...1).contains($0) })

    let curves = report.tables[1]
    #expect(curves.rows.count == runs.rows.count * (setup.steps / setup.evaluateEvery + 1))
    #expect(curves.column("test_accuracy").filter(\.isFinite).allSatisfy { (0...1).contains($0) })

    // 3 hidden layers × 100 units per affine run.
    let parameters = report.tables[2]
    #expect(parameters.rows.count == setup.seedCount * 3 * 100)
    #expect(Set(parameters.column("layer")) == [1, 2, 3])
    #expect(parameters.column("running_std").allSatisfy { $0 > 0 })
    // Training moved γ and β away from their initial 1 and 0.
    #expect(parameters.column("gamma").contains { $0 != 1 })
    #expect(parameters.column("beta").contains { $0 != 0 })

    let inputs = report.tables[3]
    #expect(inputs.rows.count == 2 * setup.seedCount * 3)
    #expect(inputs.column("unit_std").allSatisfy { $0 > 0 })
    #expect(inputs.column("fraction_beyond_linear").allSatisfy { (0...1).contains($0) })

    #expect(report.figures.map(\.name) == ["affine_accuracy", "affine_parameters", "affine_sigmoid_inputs"])
    for figure in [report.figures[0], report.figures[2]] {
      #expect(figure.svg.contains("data-series=\"\(AffineExperiment.label(true))"))
      #expect(figure.svg.contains("data-series=\"\(AffineExperiment.label(false))"))
    }
    #expect(report.figures[1].svg.contains("data-series=\"hidden layer 3\""))
  }

  @Test func theSameSeedGivesTheSameCSV() throws {
    let context = try FashionMNISTFixture.context(seed: 13)
    #expect(try AffineExperiment().run(context).tables.map(\.csv) == AffineExperiment().run(context).tables.map(\.csv))
  }
}
