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
