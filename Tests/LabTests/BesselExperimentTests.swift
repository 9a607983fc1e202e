import Testing

@testable import Lab

@Suite struct BesselExperimentTests {
  /// The quick run's CSV has one row per batch size and shows what must hold whatever
  /// the seed: the intervals cover (m − 1)/m and 1, and no batch violates the
  /// sum-of-squares inequality.
  @Test(arguments: [UInt64(1), 2])
  func quickRunShowsTheBias(seed: UInt64) throws {
    let report = try BesselExperiment().run(LabContext(budget: .quick, seed: seed, progress: { _ in }))
    let table = try #require(report.tables.first)
    #expect(table.rows.count == BesselExperiment.batchSizes.count)
    #expect(table.column("m") == BesselExperiment.batchSizes.map(Double.init))
    for (row, m) in zip(table.rows.indices, table.column("m")) {
      let expected = (m - 1) / m
      #expect((table.column("biased_ci_low")[row]...table.column("biased_ci_high")[row]).contains(expected), "m = \(m)")
      #expect((table.column("unbiased_ci_low")[row]...table.column("unbiased_ci_high")[row]).contains(1), "m = \(m)")
    }
    // At m = 2 the bias is large enough to separate from 1 with 2,000 batches.
    #expect(table.column("biased_ci_high")[0] < 0.75)
    #expect(table.column("violations").allSatisfy { $0 == 0 })
    #expect(table.column("smallest_gap").allSatisfy { $0 >= 0 })
    #expect(report.verdict == .holds)
    let svg = try #require(report.figures.first?.svg)
    #expect(svg.contains("data-series=\"biased: 1/m · Σ(x − x̄)²\""))
  }

  @Test func theSameSeedGivesTheSameCSV() throws {
    let context = LabContext(budget: .quick, seed: 7, progress: { _ in })
    #expect(try BesselExperiment().run(context).tables[0].csv == BesselExperiment().run(context).tables[0].csv)
  }
}
