import Testing

@testable import Lab

/// The sync-bn verdict on made-up summaries on both sides of each threshold, the
/// summary's spreads, and the table's round trip through CSV (how the processes' results
/// reach the report). The experiment itself runs under mpirun in the command tests.
@Suite struct SyncBatchNormExperimentTests {
  /// A summary whose mean test accuracies are `accuracy(m, mode)`.
  static func summary(_ accuracy: (Int, Double) -> Double) -> DataTable {
    var runs = DataTable(name: "sync_bn_runs", columns: SyncBatchNormExperiment.columns)
    for m in SyncBatchNormExperiment.shardSizes {
      for mode in [0.0, 1, 2] {
        for seed in 0..<2 {
          // Seeds 0.01 apart around the wanted mean.
          runs.append([
            "shard_size": Double(m), "mode": mode, "seed": Double(seed), "steps": 10, "diverged": 0,
            "test_accuracy": accuracy(m, mode) + (seed == 0 ? -0.005 : 0.005), "running_mean_error": 0.1,
            "running_variance_error": 0.2,
          ])
        }
      }
    }
    return SyncBatchNormExperiment.summary(runs)
  }

  /// Synchronized BN equal to one process; per-process BN `gap` behind at m = 2, shrinking.
  static func accuracy(gapAtTwo gap: Double, syncOffset: Double = 0) -> (Int, Double) -> Double {
    { m, mode in
      let base = 0.8
      switch mode {
      case 0: return base - gap * 2 / Double(m)
      case 1: return base + syncOffset
      default: return base
      }
    }
  }

  @Test func holdsWhenSynchronizedMatchesAndPerProcessFallsBehind() {
    let summary = Self.summary(Self.accuracy(gapAtTwo: 0.05))
    #expect(summary.column("test_accuracy_min")[0] < summary.column("test_accuracy_max")[0])
    #expect(SyncBatchNormExperiment.verdict(summary).verdict == .holds)
  }

  @Test func inPartWhenPerProcessDoesNotFallBehind() {
    #expect(SyncBatchNormExperiment.verdict(Self.summary(Self.accuracy(gapAtTwo: 0.008))).verdict == .mixed)
  }

  @Test func inPartWhenSynchronizedDoesNotMatch() {
    let summary = Self.summary(Self.accuracy(gapAtTwo: 0.05, syncOffset: -0.02))
    let verdict = SyncBatchNormExperiment.verdict(summary)
    #expect(verdict.verdict == .mixed)
    #expect(verdict.findings.contains("differed from the one-process run by up to 2.0 points"))
  }

  @Test func failsWhenNeither() {
    #expect(SyncBatchNormExperiment.verdict(Self.summary(Self.accuracy(gapAtTwo: 0, syncOffset: 0.03))).verdict == .doesNotHold)
  }

  @Test func tablesSurviveTheirCSV() throws {
    var table = DataTable(name: "t", columns: ["a", "b"])
    table.append(["b": .nan, "a": 1.5])
    table.append([(column: "a", value: -.infinity), (column: "b", value: 1e-300)])
    #expect(table.csv == "a,b\n1.5,nan\n-inf,1e-300\n", "values stay with their columns in any order")
    let positive = table.filter { $0("a") > 0 }.column("b")
    #expect(positive.count == 1 && positive[0].isNaN)
    let back = try DataTable(name: "t", csv: table.csv)
    #expect(back.csv == table.csv)
    #expect(throws: LabError.self) { try DataTable(name: "t", csv: "a,b\n1\n") }
  }
}
