import Foundation

/// The training curve as a small standalone SVG: the training loss (left axis) and
/// the test accuracy (right axis) over the steps. Minimal on purpose; a shared plotting
/// module can replace it.
struct TrainingCurve {
  /// (step, mean training loss since the previous point).
  var loss: [(step: Int, value: Double)] = []
  /// (step, test accuracy after the epoch that ended there).
  var testAccuracy: [(step: Int, value: Double)] = []
  var title: String

  private static let (width, height) = (640.0, 360.0)
  private static let (left, right, top, bottom) = (60.0, 60.0, 40.0, 50.0)

  /// The SVG document.
  func svg() -> String {
    let maximumStep = Double(max(1, (loss.map(\.step) + testAccuracy.map(\.step)).max() ?? 1))
    let maximumLoss = max(loss.map(\.value).filter(\.isFinite).max() ?? 1, 1e-9) * 1.05
    let plotWidth = Self.width - Self.left - Self.right
    let plotHeight = Self.height - Self.top - Self.bottom
    func x(_ step: Int) -> Double { Self.left + plotWidth * Double(step) / maximumStep }
    func y(_ fraction: Double) -> Double { Self.top + plotHeight * (1 - fraction) }
    func number(_ value: Double) -> String { String(format: "%.1f", value) }
    func points(_ series: [(step: Int, value: Double)], scale: Double) -> String {
      series.map { "\(number(x($0.step))),\(number(y($0.value / scale)))" }.joined(separator: " ")
    }
    var elements = [
      #"<rect width="100%" height="100%" fill="white"/>"#,
      #"<text x="\#(Self.width / 2)" y="24" text-anchor="middle" font-size="16">\#(escaped(title))</text>"#,
      #"<path d="M\#(Self.left),\#(Self.top) V\#(y(0)) H\#(Self.width - Self.right) V\#(Self.top)" fill="none" stroke="black"/>"#,
    ]
    for tick in 0...4 {
      let fraction = Double(tick) / 4
      let step = Int((maximumStep * fraction).rounded())
      elements += [
        #"<text x="\#(number(x(step)))" y="\#(number(y(0) + 16))" text-anchor="middle">\#(step)</text>"#,
        #"<text x="\#(number(Self.left - 6))" y="\#(number(y(fraction) + 4))" text-anchor="end">\#(String(format: "%.2f", maximumLoss * fraction))</text>"#,
        #"<text x="\#(number(Self.width - Self.right + 6))" y="\#(number(y(fraction) + 4))">\#(String(format: "%.2f", fraction))</text>"#,
        #"<line x1="\#(Self.left)" x2="\#(Self.width - Self.right)" y1="\#(number(y(fraction)))" y2="\#(number(y(fraction)))" stroke="gainsboro"/>"#,
      ]
    }
    elements += [
      #"<text x="\#(Self.left + plotWidth / 2)" y="\#(Self.height - 12)" text-anchor="middle">step</text>"#,
      #"<text transform="translate(16,\#(Self.top + plotHeight / 2)) rotate(-90)" text-anchor="middle">training loss</text>"#,
      #"<text transform="translate(\#(Self.width - 14),\#(Self.top + plotHeight / 2)) rotate(90)" text-anchor="middle">test accuracy</text>"#,
      #"<polyline points="\#(points(loss.filter { $0.value.isFinite }, scale: maximumLoss))" fill="none" stroke="steelblue" stroke-width="1.5"/>"#,
      #"<polyline points="\#(points(testAccuracy, scale: 1))" fill="none" stroke="crimson" stroke-width="1.5"/>"#,
    ]
    elements += testAccuracy.map {
      #"<circle cx="\#(number(x($0.step)))" cy="\#(number(y($0.value)))" r="3" fill="crimson"/>"#
    }
    let legendX = Self.width - Self.right - 150
    elements += [
      #"<rect x="\#(legendX)" y="\#(Self.top + 8)" width="140" height="44" fill="white" stroke="gray"/>"#,
      #"<line x1="\#(legendX + 8)" x2="\#(legendX + 32)" y1="\#(Self.top + 22)" y2="\#(Self.top + 22)" stroke="steelblue" stroke-width="2"/>"#,
      #"<text x="\#(legendX + 38)" y="\#(Self.top + 26)">training loss</text>"#,
      #"<line x1="\#(legendX + 8)" x2="\#(legendX + 32)" y1="\#(Self.top + 40)" y2="\#(Self.top + 40)" stroke="crimson" stroke-width="2"/>"#,
      #"<text x="\#(legendX + 38)" y="\#(Self.top + 44)">test accuracy</text>"#,
    ]
    return """
      <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(Self.width))" height="\(Int(Self.height))" \
      font-family="sans-serif" font-size="12">
      \(elements.joined(separator: "\n"))
      </svg>

      """
  }

  private func escaped(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;")
  }
}
