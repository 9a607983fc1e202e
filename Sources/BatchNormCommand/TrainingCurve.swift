import Plots

/// The training curve `bn train` writes beside the model: training loss and test
/// accuracy over the steps, side by side.
struct TrainingCurve {
  /// (step, mean training loss since the previous point).
  var loss: [(step: Int, value: Double)] = []
  /// (step, test accuracy after the epoch that ended there).
  var testAccuracy: [(step: Int, value: Double)] = []
  /// What was trained, for the title.
  var title: String

  /// The points, to keep with the run's state (exact: Swift prints a Double so that it
  /// reads back to the same bits).
  var notes: [String: String] {
    func encode(_ points: [(step: Int, value: Double)]) -> String {
      points.map { "\($0.step):\($0.value)" }.joined(separator: ";")
    }
    return ["curve.loss": encode(loss), "curve.test_accuracy": encode(testAccuracy)]
  }

  /// Takes the points from `notes` (as ``notes`` wrote them); a note that does not
  /// read leaves its curve empty.
  mutating func restore(from notes: [String: String]) {
    func decode(_ text: String?) -> [(step: Int, value: Double)] {
      guard let text, !text.isEmpty else { return [] }
      let points = text.split(separator: ";").map { point -> (step: Int, value: Double)? in
        let parts = point.split(separator: ":")
        guard parts.count == 2, let step = Int(parts[0]), let value = Double(parts[1]) else { return nil }
        return (step, value)
      }
      return points.contains { $0 == nil } ? [] : points.map { $0! }
    }
    loss = decode(notes["curve.loss"])
    testAccuracy = decode(notes["curve.test_accuracy"])
  }

  /// The SVG document.
  func svg() -> String {
    let lossChart = LineChart(
      title: "Training loss", xAxis: Axis("step"), yAxis: Axis("cross-entropy", unit: "nats"),
      series: [
        Series(
          name: "training loss", x: loss.map { Double($0.step) }, y: loss.map(\.value), color: Palette.withBatchNorm)
      ],
      legend: .hidden, width: 480, height: 340)
    let accuracyChart = LineChart(
      title: "Test accuracy", xAxis: Axis("step"), yAxis: Axis("accuracy"),
      series: [
        Series(
          name: "test accuracy", x: testAccuracy.map { Double($0.step) }, y: testAccuracy.map(\.value),
          color: Palette.withBatchNorm, marker: .circle)
      ],
      legend: .hidden, width: 480, height: 340)
    let shortTitle = title.count > 90 ? String(title.prefix(89)) + "…" : title
    return ChartGrid(title: shortTitle, columns: 2, charts: [lossChart, accuracyChart]).svg()
  }
}
