import Foundation
import Plots

/// One chart of each kind, shaped like the lab's plots, from closed-form curves.
enum Examples {
  static let steps = (0...50).map { Double($0) * 1000 }

  /// Paper Figure 1(a): test accuracy against steps over three seeds, a target line.
  static var convergence: LineChart {
    func curve(rate: Double, ceiling: Double, seed: Double) -> [Double] {
      steps.map { ceiling * (1 - exp(-$0 / rate)) * (1 + 0.01 * seed * sin($0 / 4000)) + 0.1 * exp(-$0 / rate) }
    }
    func series(_ name: String, rate: Double, ceiling: Double, color: Color) -> Series {
      let seeds = (0..<3).map { curve(rate: rate, ceiling: ceiling, seed: Double($0) - 1) }
      let mean = steps.indices.map { index in seeds.map { $0[index] }.reduce(0, +) / 3 }
      let band = BandPoint.band(
        x: steps, lower: steps.indices.map { index in seeds.map { $0[index] }.min()! },
        upper: steps.indices.map { index in seeds.map { $0[index] }.max()! })
      return Series(name: name, x: steps, y: mean, color: color, band: band)
    }
    return LineChart(
      title: "Test accuracy, 3 seeds (band: min–max)", xAxis: Axis("training step"),
      yAxis: Axis("test accuracy", range: 0...1),
      series: [
        series("with BN", rate: 3000, ceiling: 0.97, color: Palette.withBatchNorm),
        series("without BN", rate: 12000, ceiling: 0.93, color: Palette.withoutBatchNorm),
      ],
      referenceLines: [
        ReferenceLine(.horizontal, at: 0.9, label: "target 90 %"),
        ReferenceLine(.vertical, at: 20_000, label: "BN reaches 90 % & <stops>"),
      ])
  }

  /// Paper Figure 1(b, c): the 15th, 50th and 85th percentiles of a sigmoid input over training.
  static var percentiles: LineChart {
    func series(_ name: String, drift: Double, spread: Double, color: Color, style: LineStyle) -> Series {
      let median = steps.map { drift * (1 - exp(-$0 / 10_000)) }
      let width = steps.map { spread * (1 + $0 / 50_000) }
      return Series(
        name: name, x: steps, y: median, color: color, style: style,
        band: BandPoint.band(x: steps, lower: zip(median, width).map(-), upper: zip(median, width).map(+)))
    }
    return LineChart(
      title: "Input to one sigmoid: 15th, 50th, 85th percentiles", xAxis: Axis("training step"),
      yAxis: Axis("sigmoid input"),
      series: [
        series("with BN", drift: 0.2, spread: 0.8, color: Palette.withBatchNorm, style: .solid),
        series("without BN", drift: -2.5, spread: 0.6, color: Palette.withoutBatchNorm, style: .dashed),
      ])
  }

  /// Loss against steps for a learning-rate sweep on a logarithmic loss axis; the large
  /// rates diverge.
  static var learningRateLosses: LineChart {
    let rates = [0.001, 0.01, 0.1, 1, 10]
    let names = ["0.001", "0.01", "0.1", "1", "10"]
    let colors = Palette.sequential(rates.count)
    let series = rates.enumerated().map { index, rate in
      let losses = steps.map { step in
        rate >= 1 && step > 3000 * (11 - rate) ? Double.nan : 2.3 * exp(-step * min(rate, 0.5) / 5000) + 0.05
      }
      return Series(name: "lr = " + names[index], x: steps, y: losses, color: colors[index])
    }
    return LineChart(
      title: "Training loss, learning-rate sweep without BN", xAxis: Axis("training step"),
      yAxis: Axis("cross-entropy loss", unit: "nats", scale: .logarithmic), series: series)
  }

  /// Final accuracy against the learning rate on a logarithmic x axis, with markers.
  static var accuracyByLearningRate: LineChart {
    let rates = [1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1, 3, 10]
    let with = rates.map { 0.97 - 0.05 * pow(log10($0) - 0.2, 2) / 4 }
    let without = rates.map { $0 > 0.5 ? Double.nan : 0.93 - 0.08 * pow(log10($0) + 1.5, 2) / 4 }
    return LineChart(
      title: "Final test accuracy against learning rate", xAxis: Axis("learning rate", scale: .logarithmic),
      yAxis: Axis("test accuracy"),
      series: [
        Series(name: "with BN", x: rates, y: with, color: Palette.withBatchNorm, marker: .circle),
        Series(
          name: "without BN", x: rates, y: without, color: Palette.withoutBatchNorm, style: .dashed, marker: .square),
      ], legend: .below)
  }

  /// The Bessel correction: mean biased variance over σ² against the batch size.
  static var bessel: LineChart {
    let sizes = [2.0, 4, 8, 16, 32, 64, 128, 256]
    return LineChart(
      title: "E[σ²_B] / σ² against batch size m",
      xAxis: Axis("batch size m", unit: "values", scale: .logarithmic, ticks: sizes),
      yAxis: Axis("ratio"),
      series: [
        Series(
          name: "biased, measured", x: sizes, y: sizes.map { ($0 - 1) / $0 + 0.003 }, color: Palette.categorical(2),
          marker: .diamond),
        Series(name: "(m − 1)/m", x: sizes, y: sizes.map { ($0 - 1) / $0 }, color: Palette.neutral, style: .dotted),
        Series(
          name: "unbiased, measured", x: sizes, y: sizes.map { _ in 1.002 }, color: Palette.categorical(3),
          marker: .triangle),
      ], referenceLines: [ReferenceLine(.horizontal, at: 1, label: "σ²")])
  }

  /// Accuracy per evaluation mode, grouped bars with error bars.
  static var evaluationModes: BarChart {
    BarChart(
      title: "Test accuracy after training with batch 4",
      categories: [
        "running, unbiased", "running, biased", "recalibrated population", "batch statistics",
      ], categoryTitle: "statistics used at test time", yAxis: Axis("test accuracy", range: 0...1),
      series: [
        BarSeries(
          name: "momentum 0.1", values: [0.86, 0.84, 0.88, 0.71], color: Palette.categorical(0),
          errors: [
            .init(lower: 0.84, upper: 0.87), .init(lower: 0.82, upper: 0.86), .init(lower: 0.87, upper: 0.89),
            .init(lower: 0.65, upper: 0.76),
          ]),
        BarSeries(
          name: "momentum 0.01", values: [0.87, 0.86, 0.88, .nan], color: Palette.categorical(2),
          errors: [
            .init(lower: 0.86, upper: 0.88), .init(lower: 0.85, upper: 0.87), .init(lower: 0.87, upper: 0.89),
            .init(lower: .nan, upper: .nan),
          ]),
      ])
  }

  /// Four of the charts above as a 2 × 2 grid.
  static var grid: ChartGrid {
    ChartGrid(
      title: "BN Lab: convergence", columns: 2, charts: [convergence, percentiles, learningRateLosses, evaluationModes])
  }

  static var all: [(name: String, chart: any Chart)] {
    [
      ("convergence", convergence), ("percentiles", percentiles), ("learning-rate-losses", learningRateLosses),
      ("accuracy-by-learning-rate", accuracyByLearningRate), ("bessel", bessel), ("evaluation-modes", evaluationModes),
      ("grid", grid),
    ]
  }
}
