/// The layout that `LineChart` and `BarChart` share: the title on top, the y axis on the
/// left, the plot area, room for the x-axis labels and title under it, and the legend
/// outside the plot area (right or below).
struct PlotFrame {
  static let tickFontSize = 12.0
  static let axisTitleFontSize = 13.0
  static let titleFontSize = 15.0
  static let tickLength = 5.0
  /// Space under the plot area for x tick marks and one line of labels.
  static let tickLabelsHeight = 24.0
  static let gridColor = "#e3e3e3"
  static let axisColor = "#333"
  static let textColor = "#222"

  let width: Double
  let height: Double
  /// The plot area.
  let left: Double
  let top: Double
  let plotWidth: Double
  let plotHeight: Double
  let yLayout: AxisLayout
  let legend: Legend
  /// The height under the plot area taken by x tick labels.
  let xLabelsHeight: Double

  /// Lays out a chart of `width` × `height` pixels whose y axis shows `yValues`, leaving
  /// `xLabelsHeight` pixels under the plot area for the x labels.
  init(
    width: Double, height: Double, title: String, yAxis: Axis, yValues: [Double], legend: Legend, xLabelsHeight: Double,
    hasXTitle: Bool
  ) {
    self.width = width
    self.height = height
    self.legend = legend
    self.xLabelsHeight = xLabelsHeight
    top = title.isEmpty ? 14 : 40
    let legendHeight =
      legend.placement == .below ? legend.rowsHeight(width: Legend.rowsWidth(chartWidth: width)) + 6 : 0
    let bottom = xLabelsHeight + (hasXTitle ? 22 : 0) + legendHeight + 10
    plotHeight = max(20, height - top - bottom)
    yLayout = yAxis.layout(
      values: yValues, length: plotHeight, preferredSpacing: 50, gap: 8, extent: { _ in Self.tickFontSize })
    let labelWidth =
      yLayout.ticks.compactMap(\.label).map { SVGDocument.textWidth($0, fontSize: Self.tickFontSize) }.max() ?? 0
    left = 10 + (yAxis.title.isEmpty ? 0 : Self.axisTitleFontSize + 10) + labelWidth + Self.tickLength + 4
    let right = legend.placement == .right ? legend.columnWidth + 30 : 24
    plotWidth = max(20, width - left - right)
  }

  var bottom: Double { top + plotHeight }

  /// The horizontal pixel at `position` (0 at the left edge of the plot area, 1 at the right).
  func x(_ position: Double) -> Double { left + position * plotWidth }

  /// The vertical pixel at `position` (0 at the bottom of the plot area, 1 at the top).
  func y(_ position: Double) -> Double { top + (1 - position) * plotHeight }

  /// The white background and the title.
  func drawBackground(in document: inout SVGDocument, title: String) {
    document.element(
      "rect", [("width", SVGDocument.number(width)), ("height", SVGDocument.number(height)), ("fill", "#fff")])
    guard !title.isEmpty else { return }
    document.element(
      "text",
      [
        ("class", "title"), ("x", SVGDocument.number(width / 2)), ("y", "26"), ("text-anchor", "middle"),
        ("font-size", SVGDocument.number(Self.titleFontSize)), ("font-weight", "bold"), ("fill", Self.textColor),
      ], text: title)
  }

  /// Horizontal grid lines, the y axis line with its ticks and labels, and its title.
  func drawYAxis(in document: inout SVGDocument, title: String) {
    document.open("g", [("class", "y-axis"), ("font-size", SVGDocument.number(Self.tickFontSize))])
    for tick in yLayout.ticks {
      let pixel = y(yLayout.position(tick.value))
      if tick.label != nil {
        line(in: &document, from: (left, pixel), to: (left + plotWidth, pixel), color: Self.gridColor)
      }
      let length = tick.label == nil ? Self.tickLength * 0.6 : Self.tickLength
      line(in: &document, from: (left - length, pixel), to: (left, pixel), color: Self.axisColor)
      if let label = tick.label {
        document.element(
          "text",
          [
            ("x", SVGDocument.number(left - Self.tickLength - 3)),
            ("y", SVGDocument.number(pixel + Self.tickFontSize * 0.35)), ("text-anchor", "end"),
            ("fill", Self.textColor),
          ], text: label)
      }
    }
    line(in: &document, from: (left, top), to: (left, bottom), color: Self.axisColor)
    if !title.isEmpty {
      let centerY = SVGDocument.number(top + plotHeight / 2)
      let baseline = SVGDocument.number(10 + Self.axisTitleFontSize * 0.8)
      document.element(
        "text",
        [
          ("x", baseline), ("y", centerY), ("transform", "rotate(-90 \(baseline) \(centerY))"),
          ("text-anchor", "middle"), ("font-size", SVGDocument.number(Self.axisTitleFontSize)),
          ("fill", Self.textColor),
        ], text: title)
    }
    document.close("g")
  }

  /// Vertical grid lines, the x axis line with its ticks and labels, and its title.
  func drawXAxis(in document: inout SVGDocument, layout: AxisLayout, title: String) {
    document.open("g", [("class", "x-axis"), ("font-size", SVGDocument.number(Self.tickFontSize))])
    for tick in layout.ticks {
      let pixel = x(layout.position(tick.value))
      if tick.label != nil {
        line(in: &document, from: (pixel, top), to: (pixel, bottom), color: Self.gridColor)
      }
      let length = tick.label == nil ? Self.tickLength * 0.6 : Self.tickLength
      line(in: &document, from: (pixel, bottom), to: (pixel, bottom + length), color: Self.axisColor)
      if let label = tick.label {
        document.element(
          "text",
          [
            ("x", SVGDocument.number(pixel)),
            ("y", SVGDocument.number(bottom + Self.tickLength + 3 + Self.tickFontSize * 0.8)),
            ("text-anchor", "middle"), ("fill", Self.textColor),
          ], text: label)
      }
    }
    drawXAxisLine(in: &document)
    document.close("g")
    drawXTitle(in: &document, title)
  }

  /// The x axis line along the bottom of the plot area.
  func drawXAxisLine(in document: inout SVGDocument) {
    line(in: &document, from: (left, bottom), to: (left + plotWidth, bottom), color: Self.axisColor)
  }

  /// The x-axis title centred under the tick labels.
  func drawXTitle(in document: inout SVGDocument, _ title: String) {
    guard !title.isEmpty else { return }
    document.element(
      "text",
      [
        ("class", "x-title"), ("x", SVGDocument.number(left + plotWidth / 2)),
        ("y", SVGDocument.number(bottom + xLabelsHeight + Self.axisTitleFontSize + 4)), ("text-anchor", "middle"),
        ("font-size", SVGDocument.number(Self.axisTitleFontSize)), ("fill", Self.textColor),
      ], text: title)
  }

  /// Opens a nested `<svg>` that clips what is drawn in it to the plot area (with `margin`
  /// pixels to spare, so that markers on the edge stay whole); close it with `closeClip`.
  func openClip(in document: inout SVGDocument, margin: Double) {
    let x = SVGDocument.number(left - margin)
    let y = SVGDocument.number(top - margin)
    let clipWidth = SVGDocument.number(plotWidth + 2 * margin)
    let clipHeight = SVGDocument.number(plotHeight + 2 * margin)
    document.open(
      "svg",
      [
        ("class", "plot-area"), ("x", x), ("y", y), ("width", clipWidth), ("height", clipHeight),
        ("viewBox", "\(x) \(y) \(clipWidth) \(clipHeight)"), ("overflow", "hidden"),
      ])
  }

  func closeClip(in document: inout SVGDocument) {
    document.close("svg")
  }

  /// The legend right of the plot area or under the x-axis title.
  func drawLegend(in document: inout SVGDocument, hasXTitle: Bool) {
    switch legend.placement {
    case .right:
      legend.draw(in: &document, x: left + plotWidth + 16, y: top, width: legend.columnWidth)
    case .below:
      let y = bottom + xLabelsHeight + (hasXTitle ? 22 : 0) + 6
      legend.draw(in: &document, x: 10, y: y, width: Legend.rowsWidth(chartWidth: width))
    case .hidden:
      break
    }
  }

  /// A one-pixel line.
  func line(
    in document: inout SVGDocument, from start: (Double, Double), to end: (Double, Double), color: String
  ) {
    document.element(
      "line",
      [
        ("x1", SVGDocument.number(start.0)), ("y1", SVGDocument.number(start.1)), ("x2", SVGDocument.number(end.0)),
        ("y2", SVGDocument.number(end.1)), ("stroke", color),
      ])
  }
}
