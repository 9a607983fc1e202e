import Foundation
import Testing

@testable import Plots

@Suite("Charts")
struct ChartTests {
  @Test(arguments: Examples.all.map(\.name))
  func examplesAreWellFormedAndDeterministic(_ name: String) throws {
    let chart = try #require(Examples.all.first { $0.name == name }).chart
    let svg = chart.svg()
    let parsed = try #require(ParsedSVG(svg))
    let root = try #require(parsed.elements.first)
    #expect(root.attributes["viewBox"] == "0 0 \(SVGDocument.number(chart.width)) \(SVGDocument.number(chart.height))")
    #expect(root.attributes["font-family"] == "sans-serif")
    #expect(svg == Examples.all.first { $0.name == name }!.chart.svg())
  }

  @Test func oneLinePerSeriesInItsColourWithLegend() throws {
    let parsed = try #require(ParsedSVG(Examples.convergence.svg()))
    for (name, color) in [("with BN", Palette.withBatchNorm), ("without BN", Palette.withoutBatchNorm)] {
      let lines = parsed.elements("path", where: "data-series", is: name).filter {
        $0.attributes["class"] == "series-line"
      }
      #expect(lines.count == 1)
      #expect(lines.first?.attributes["stroke"] == color.hexadecimal)
      let bands = parsed.elements("path", where: "data-series", is: name).filter {
        $0.attributes["class"] == "series-band"
      }
      #expect(bands.count == 1)
      #expect(bands.first?.attributes["fill"] == color.hexadecimal)
      #expect(parsed.texts.contains(name))
    }
    #expect(parsed.texts.contains("test accuracy"))
    #expect(parsed.texts.contains("training step"))
    #expect(parsed.texts.contains("target 90 %"))
    #expect(parsed.elements("line", where: "class", is: "reference-line").count == 2)
  }

  @Test func nonFiniteValuesBreakTheLine() throws {
    let chart = LineChart(
      title: "", xAxis: Axis("x"), yAxis: Axis("y"),
      series: [
        Series(name: "gap", x: [0, 1, 2, 3, 4, 5], y: [1, 2, .nan, 3, .infinity, 4], color: Palette.withBatchNorm)
      ])
    let parsed = try #require(ParsedSVG(chart.svg()))
    let lines = parsed.elements("path", where: "class", is: "series-line")
    #expect(lines.count == 3)
    #expect(lines.map { $0.attributes["d"]!.filter { $0 == "L" }.count } == [1, 0, 0])
    #expect(parsed.elements("path", where: "class", is: "diverged").isEmpty)
    #expect(!parsed.texts.contains("diverged"))
  }

  @Test func divergedRunStopsAtItsLastFinitePointWithACross() throws {
    let chart = LineChart(
      title: "", xAxis: Axis("step"), yAxis: Axis("loss", scale: .logarithmic),
      series: [
        Series(name: "lr = 10", x: [0, 1, 2, 3], y: [2, 5, .nan, .nan], color: Palette.withoutBatchNorm),
        Series(name: "lr = 0.1", x: [0, 1, 2, 3], y: [2, 1, 0.5, 0.3], color: Palette.withBatchNorm),
      ])
    let parsed = try #require(ParsedSVG(chart.svg()))
    let lines = parsed.elements("path", where: "data-series", is: "lr = 10")
    #expect(lines.count == 1)
    let crosses = parsed.elements("path", where: "class", is: "diverged")
    // One on the plot, in the series' colour, and one in the legend.
    #expect(crosses.count == 2)
    #expect(crosses.first?.attributes["stroke"] == Palette.withoutBatchNorm.hexadecimal)
    #expect(parsed.texts.contains("diverged"))
  }

  @Test func markersAndDashes() throws {
    let parsed = try #require(ParsedSVG(Examples.accuracyByLearningRate.svg()))
    let markers = parsed.elements("path", where: "class", is: "series-markers")
    #expect(markers.map { $0.attributes["data-series"] } == ["with BN", "without BN"])
    let dashed = parsed.elements("path", where: "data-series", is: "without BN").filter {
      $0.attributes["class"] == "series-line"
    }
    #expect(dashed.allSatisfy { $0.attributes["stroke-dasharray"] != nil })
  }

  @Test func textIsEscaped() throws {
    let name = #"<b> & "quotes" 'too'"#
    let chart = LineChart(
      title: name, xAxis: Axis("x < 1", unit: "µs"), yAxis: Axis("y & z"),
      series: [Series(name: name, x: [0, 1], y: [0, 1], color: Palette.withBatchNorm)])
    let svg = chart.svg()
    #expect(!svg.contains("<b>"))
    let parsed = try #require(ParsedSVG(svg))
    #expect(parsed.texts.filter { $0 == name }.count == 2)
    #expect(parsed.texts.contains("x < 1 (µs)"))
    #expect(parsed.elements("path", where: "data-series", is: name).count == 1)
  }

  @Test func differentInputDifferentBytes() {
    var chart = Examples.convergence
    let before = chart.svg()
    chart.series[0].points[3].y += 0.05
    #expect(chart.svg() != before)
  }

  @Test func barsPerSeriesWithErrorBarsAndMissingValues() throws {
    let parsed = try #require(ParsedSVG(Examples.evaluationModes.svg()))
    #expect(parsed.elements("rect", where: "data-series", is: "momentum 0.1").count == 4)
    #expect(parsed.elements("rect", where: "data-series", is: "momentum 0.01").count == 3)
    #expect(parsed.elements("path", where: "class", is: "error-bar").count == 7)
    #expect(parsed.texts.contains("n/a"))
    // Labels wider than their group break into lines.
    let categoryLines = parsed.texts.drop { $0 != "n/a" }.dropFirst().prefix(8)
    #expect(
      categoryLines == [
        "running,", "unbiased", "running,", "biased", "recalibrated", "population", "batch", "statistics",
      ])
    for label in ["momentum 0.1", "momentum 0.01", "statistics used at test time"] {
      #expect(parsed.texts.contains(label))
    }
  }

  @Test func gridNestsEveryChart() throws {
    let grid = Examples.grid
    #expect(grid.width == 1280 && grid.height == 836)
    let parsed = try #require(ParsedSVG(grid.svg()))
    #expect(parsed.elements("svg").count == 1 + 4 + 4)  // the grid, the charts, their plot areas
    #expect(parsed.elements("g").filter { $0.attributes["transform"] == "translate(640 436)" }.count == 1)
  }

  @Test func paletteColours() {
    #expect(Palette.withBatchNorm.hexadecimal == "#0072b2")
    #expect(Palette.withoutBatchNorm != Palette.withBatchNorm)
    let sweep = Palette.sequential(4).map(\.hexadecimal)
    #expect(sweep.first == "#440154" && sweep.last == "#90d743" && Set(sweep).count == 4)
    #expect(Palette.categorical(Palette.categorical.count) == Palette.withBatchNorm)
  }

  /// Writes every example to `$PLOTS_EXAMPLES_DIRECTORY` as an SVG file, to look at them.
  @Test(.enabled(if: ProcessInfo.processInfo.environment["PLOTS_EXAMPLES_DIRECTORY"] != nil))
  func writeExamples() throws {
    let directory = URL(fileURLWithPath: ProcessInfo.processInfo.environment["PLOTS_EXAMPLES_DIRECTORY"]!)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    for (name, chart) in Examples.all {
      let file = directory.appendingPathComponent(name + ".svg")
      try Data(chart.svg().utf8).write(to: file)
      #expect(try String(contentsOf: file, encoding: .utf8) == chart.svg(), "\(file.path) holds the chart")
    }
  }
}
