import Foundation
import Testing

/// `bn bench --training-steps` end to end: one JSON row per model and batch, with a
/// positive rate. Short in debug builds: one warm-up and one timed step per row.
@Suite struct BenchCommandTests {
  @Test func trainingStepsPrintJSONRows() throws {
    let result = try CommandRunner.run(["bench", "--training-steps", "--seconds", "0.01", "--warm-up-steps", "1", "--min-steps", "1", "--threads", "1", "--json", "-"])
    #expect(result.status == 0, "\(result.standardError)")
    let rows = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [[String: Any]])
    let keys = rows.map { "\($0["model"] as? String ?? "?")@\($0["batch"] as? Int ?? 0)" }
    #expect(keys == ["mlp@60", "mlp@1024", "cnn@64"])
    for row in rows {
      #expect(row["op"] as? String == "training-step")
      #expect(row["threads"] as? Int == 1)
      let rate = try #require(row["steps_per_second"] as? Double)
      let median = try #require(row["median_seconds"] as? Double)
      let minimum = try #require(row["min_seconds"] as? Double)
      #expect(rate > 0 && minimum > 0 && minimum <= median)
      #expect(abs(rate * median - 1) < 1e-9)
    }
  }

  @Test func modelAndBatchNeedTrainingSteps() throws {
    let result = try CommandRunner.run(["bench", "--model", "mlp"])
    #expect(result.status != 0)
    #expect(result.standardError.contains("--training-steps"), "\(result.standardError)")
  }
}
