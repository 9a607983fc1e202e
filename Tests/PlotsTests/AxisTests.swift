import Testing

@testable import Plots

@Suite("Axis ticks")
struct AxisTests {
  /// The labels of a y axis 300 pixels long, about one tick per 50 pixels.
  func labels(_ axis: Axis, _ values: [Double]) -> [String] {
    axis.layout(values: values, length: 300, preferredSpacing: 50, gap: 8, extent: { _ in 12 })
      .ticks.compactMap(\.label)
  }

  struct Case: Sendable, CustomTestStringConvertible {
    var name: String
    var values: [Double]
    var labels: [String]
    var testDescription: String { name }
  }

  @Test(arguments: [
    Case(name: "0…1", values: [0, 1], labels: ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]),
    Case(name: "0.003…0.7", values: [0.003, 0.7], labels: ["0.0", "0.2", "0.4", "0.6", "0.8"]),
    Case(name: "negative", values: [-3.7, -0.2], labels: ["-4", "-3", "-2", "-1", "0"]),
    Case(name: "across zero", values: [-0.04, 0.11], labels: ["-0.05", "0.00", "0.05", "0.10", "0.15"]),
    Case(name: "a single value", values: [5], labels: ["2", "3", "4", "5", "6", "7", "8"]),
    Case(name: "zero alone", values: [0, 0], labels: ["-1.0", "-0.5", "0.0", "0.5", "1.0"]),
    Case(name: "no data", values: [.nan, .infinity], labels: ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]),
    Case(name: "steps", values: [0, 50_000], labels: ["0", "10000", "20000", "30000", "40000", "50000"]),
    Case(name: "tiny", values: [0, 3e-5], labels: ["0", "5e-6", "1e-5", "1.5e-5", "2e-5", "2.5e-5", "3e-5"]),
  ])
  func linear(_ example: Case) {
    #expect(labels(Axis("y"), example.values) == example.labels)
  }

  @Test func fixedRangeKeepsItsBounds() {
    let layout = Axis("accuracy", range: 0.5...1).layout(
      values: [0, 2], length: 300, preferredSpacing: 50, gap: 8, extent: { _ in 12 })
    #expect(layout.lower == 0.5 && layout.upper == 1)
    #expect(layout.ticks.compactMap(\.label) == ["0.5", "0.6", "0.7", "0.8", "0.9", "1.0"])
  }

  @Test func logarithmicDecades() {
    let layout = Axis("learning rate", scale: .logarithmic).layout(
      values: [1e-3, 10], length: 300, preferredSpacing: 50, gap: 8, extent: { _ in 12 })
    #expect(layout.lower == 1e-3 && layout.upper == 10)
    #expect(layout.ticks.compactMap(\.label) == ["0.001", "0.01", "0.1", "1", "10"])
    // 2…9 × 10ⁿ as unlabelled minor ticks in each of the four decades.
    #expect(layout.ticks.filter { $0.label == nil }.count == 4 * 8)
  }

  @Test func logarithmicSmallRangeLabelsOneTwoFive() {
    #expect(
      labels(Axis("y", scale: .logarithmic), [0.02, 0.3]) == ["0.02", "0.05", "0.1", "0.2", "0.5"])
  }

  @Test func logarithmicIgnoresValuesItCannotShow() {
    #expect(labels(Axis("y", scale: .logarithmic), [0, -1, 2, 40, .nan]) == ["2", "5", "10", "20", "50"])
  }

  @Test func logarithmicWideRangeSkipsDecades() {
    let labels = labels(Axis("y", scale: .logarithmic), [1e-12, 1e12])
    #expect(labels.count <= 7)
    #expect(labels == ["1e-10", "1e-5", "1e0", "1e5", "1e10"])
  }

  @Test(arguments: [(0.0, 1.0), (0.003, 0.7), (-3.7, -0.2), (0, 50_000), (1e-3, 10)])
  func xLabelsNeverOverlap(lower: Double, upper: Double) {
    for scale in [Axis.Scale.linear, .logarithmic] where scale == .linear || lower > 0 {
      for length in [80.0, 160, 400] {
        let extent = { (label: String) in SVGDocument.textWidth(label, fontSize: 12) }
        let layout = Axis("x", scale: scale).layout(
          values: [lower, upper], length: length, preferredSpacing: 90, gap: 12, extent: extent)
        let labelled = layout.ticks.filter { $0.label != nil }
        #expect(labelled.count >= 2)
        for (first, second) in zip(labelled, labelled.dropFirst()) where labelled.count > 2 {
          let distance = (layout.position(second.value) - layout.position(first.value)) * length
          #expect(distance >= (extent(first.label!) + extent(second.label!)) / 2 + 12)
        }
      }
    }
  }

  @Test func explicitTicksSpanTheDataAndTheTicks() {
    let layout = Axis("batch size", scale: .logarithmic, ticks: [2, 8, 32, 128, 512]).layout(
      values: [4, 256], length: 300, preferredSpacing: 50, gap: 8, extent: { _ in 12 })
    #expect(layout.lower == 2 && layout.upper == 512)
    #expect(layout.ticks.compactMap(\.label) == ["2", "8", "32", "128", "512"])
    let fractions = Axis("momentum", ticks: [0.001, 0.0125, 0.1]).layout(
      values: [], length: 300, preferredSpacing: 50, gap: 8, extent: { _ in 12 })
    #expect(fractions.ticks.compactMap(\.label) == ["0.001", "0.0125", "0.1"])
  }

  @Test func niceSteps() {
    #expect(Axis.niceStep(above: 0.13) == 0.2)
    #expect(Axis.niceStep(above: 3) == 5)
    #expect(Axis.niceStep(above: 7) == 10)
    #expect(Axis.niceStep(above: 1) == 1)
  }
}
