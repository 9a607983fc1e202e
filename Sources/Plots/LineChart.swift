/// Lines over a continuous x axis: training curves, percentiles over time (a band for the
/// 15th to 85th percentile around the median), sweeps on logarithmic axes.
///
/// Each finite run of a series is one `<path class="series-line" data-series="NAME">` in
/// the series' colour; bands are drawn under all lines, reference lines under the data, and
/// the legend outside the plot area.
public struct LineChart: Chart {
  /// The chart's title.
  public var title: String
  /// The horizontal axis.
  public var xAxis: Axis
  /// The vertical axis.
  public var yAxis: Axis
  /// The lines, in legend order.
  public var series: [Series]
  /// Horizontal or vertical lines at fixed values (a bound, a chance level).
  public var referenceLines: [ReferenceLine]
  /// Where the legend goes.
  public var legend: LegendPlacement
  public var width: Double
  public var height: Double

  static let lineWidth = "2"
  static let markerSize = 6.0
  static let bandOpacity = "0.2"

  /// A line chart; sizes in pixels.
  public init(
    title: String, xAxis: Axis, yAxis: Axis, series: [Series], referenceLines: [ReferenceLine] = [],
    legend: LegendPlacement = .right, width: Double = 640, height: Double = 400
  ) {
    precondition(width > 0 && height > 0, "a chart needs a positive size")
    self.title = title
    self.xAxis = xAxis
    self.yAxis = yAxis
    self.series = series
    self.referenceLines = referenceLines
    self.legend = legend
    self.width = width
    self.height = height
  }

  public func svg() -> String {
    var entries = series.map { series in
      Legend.Entry(
        label: series.name, swatch: .line(series.color, series.style, series.marker, band: !series.band.isEmpty))
    }
    if series.contains(where: { $0.marksDivergence && $0.diverged }) {
      entries.append(Legend.Entry(label: "diverged", swatch: .cross))
    }
    let frame = PlotFrame(
      width: width, height: height, title: title, yAxis: yAxis, yValues: values(\.y, \.lower, \.upper, .horizontal),
      legend: Legend(entries: entries, placement: legend, chartWidth: width),
      xLabelsHeight: PlotFrame.tickLabelsHeight, hasXTitle: !xAxis.title.isEmpty)
    let xLayout = xAxis.layout(
      values: values(\.x, \.x, \.x, .vertical), length: frame.plotWidth, preferredSpacing: 70, gap: 12,
      extent: { SVGDocument.textWidth($0, fontSize: PlotFrame.tickFontSize) })

    var document = SVGDocument(width: width, height: height)
    frame.drawBackground(in: &document, title: title)
    frame.drawYAxis(in: &document, title: yAxis.title)
    frame.drawXAxis(in: &document, layout: xLayout, title: xAxis.title)
    frame.openClip(in: &document, margin: Self.markerSize)
    let project = { (x: Double, y: Double) -> (Double, Double)? in
      let position = (xLayout.position(x), frame.yLayout.position(y))
      guard position.0.isFinite, position.1.isFinite else { return nil }
      return (frame.x(position.0), frame.y(position.1))
    }
    drawReferenceLines(in: &document, frame: frame, xLayout: xLayout)
    for series in series where !series.band.isEmpty {
      drawBand(of: series, in: &document, project: project)
    }
    for series in series {
      drawLine(of: series, in: &document, project: project)
    }
    frame.closeClip(in: &document)
    drawReferenceLabels(in: &document, frame: frame, xLayout: xLayout)
    frame.drawLegend(in: &document, hasXTitle: !xAxis.title.isEmpty)
    return document.rendered()
  }

  /// Every value that counts for an axis's automatic range: the points', the bands' and the
  /// reference lines' of `orientation`.
  private func values(
    _ point: KeyPath<ChartPoint, Double>, _ lower: KeyPath<BandPoint, Double>, _ upper: KeyPath<BandPoint, Double>,
    _ orientation: ReferenceLine.Orientation
  ) -> [Double] {
    series.flatMap { series in
      series.points.map { $0[keyPath: point] } + series.band.flatMap { [$0[keyPath: lower], $0[keyPath: upper]] }
    } + referenceLines.filter { $0.orientation == orientation }.map(\.value)
  }

  /// The runs of consecutive elements that `project` can place, each as pixel positions.
  private static func runs<Element>(
    of elements: [Element], _ project: (Element) -> [(Double, Double)]?
  ) -> [[[(Double, Double)]]] {
    var runs: [[[(Double, Double)]]] = []
    var current: [[(Double, Double)]] = []
    for element in elements {
      if let pixels = project(element) {
        current.append(pixels)
      } else if !current.isEmpty {
        runs.append(current)
        current = []
      }
    }
    if !current.isEmpty { runs.append(current) }
    return runs
  }

  /// SVG path commands through `pixels`.
  private static func pathData(_ pixels: some Sequence<(Double, Double)>, closed: Bool = false) -> String {
    var data = ""
    for (index, pixel) in pixels.enumerated() {
      data += (index == 0 ? "M" : "L") + SVGDocument.number(pixel.0) + " " + SVGDocument.number(pixel.1)
    }
    return closed ? data + "Z" : data
  }

  private func drawBand(
    of series: Series, in document: inout SVGDocument, project: (Double, Double) -> (Double, Double)?
  ) {
    let runs = Self.runs(of: series.band) { point -> [(Double, Double)]? in
      guard let upper = project(point.x, point.upper), let lower = project(point.x, point.lower) else { return nil }
      return [upper, lower]
    }
    for run in runs {
      document.element(
        "path",
        [
          ("class", "series-band"), ("data-series", series.name),
          ("d", Self.pathData(run.map { $0[0] } + run.reversed().map { $0[1] }, closed: true)),
          ("fill", series.color.hexadecimal), ("fill-opacity", Self.bandOpacity), ("stroke", "none"),
        ])
    }
  }

  private func drawLine(
    of series: Series, in document: inout SVGDocument, project: (Double, Double) -> (Double, Double)?
  ) {
    let runs = Self.runs(of: series.points) { point in project(point.x, point.y).map { [$0] } }
    for run in runs {
      var attributes = [
        ("class", "series-line"), ("data-series", series.name), ("d", Self.pathData(run.map { $0[0] })),
        ("fill", "none"), ("stroke", series.color.hexadecimal), ("stroke-width", Self.lineWidth),
        ("stroke-linejoin", "round"), ("stroke-linecap", "round"),
      ]
      if let dashes = series.style.dashArray { attributes.append(("stroke-dasharray", dashes)) }
      document.element("path", attributes)
    }
    if series.marker != .none {
      let markers = runs.joined().map { series.marker.path(x: $0[0].0, y: $0[0].1, size: Self.markerSize) }.joined()
      document.element(
        "path",
        [("class", "series-markers"), ("data-series", series.name), ("d", markers), ("fill", series.color.hexadecimal)])
    }
    if series.marksDivergence, series.diverged,
      let last = series.points.last(where: { $0.x.isFinite && $0.y.isFinite }), let pixel = project(last.x, last.y)
    {
      Self.drawCross(in: &document, x: pixel.0, y: pixel.1, color: series.color)
    }
  }

  /// The divergence mark: a bold × centred at (`x`, `y`).
  static func drawCross(in document: inout SVGDocument, x: Double, y: Double, color: Color) {
    let size = 5.0
    let data =
      "M" + SVGDocument.number(x - size) + " " + SVGDocument.number(y - size) + "l" + SVGDocument.number(2 * size) + " "
      + SVGDocument.number(2 * size) + "m0 -" + SVGDocument.number(2 * size) + "l-" + SVGDocument.number(2 * size) + " "
      + SVGDocument.number(2 * size)
    document.element(
      "path",
      [("class", "diverged"), ("d", data), ("stroke", color.hexadecimal), ("stroke-width", "2.5"), ("fill", "none")])
  }

  /// Where a reference line crosses the plot area, as pixels from start to end; nil when its
  /// value is outside the axis.
  private func segment(
    of line: ReferenceLine, frame: PlotFrame, xLayout: AxisLayout
  ) -> ((Double, Double), (Double, Double))? {
    switch line.orientation {
    case .horizontal:
      let position = frame.yLayout.position(line.value)
      guard (0...1).contains(position) else { return nil }
      return ((frame.left, frame.y(position)), (frame.left + frame.plotWidth, frame.y(position)))
    case .vertical:
      let position = xLayout.position(line.value)
      guard (0...1).contains(position) else { return nil }
      return ((frame.x(position), frame.bottom), (frame.x(position), frame.top))
    }
  }

  private func drawReferenceLines(in document: inout SVGDocument, frame: PlotFrame, xLayout: AxisLayout) {
    for line in referenceLines {
      guard let (start, end) = segment(of: line, frame: frame, xLayout: xLayout) else { continue }
      var attributes = [
        ("class", "reference-line"), ("x1", SVGDocument.number(start.0)), ("y1", SVGDocument.number(start.1)),
        ("x2", SVGDocument.number(end.0)), ("y2", SVGDocument.number(end.1)), ("stroke", line.color.hexadecimal),
        ("stroke-width", "1.5"),
      ]
      if let dashes = line.style.dashArray { attributes.append(("stroke-dasharray", dashes)) }
      document.element("line", attributes)
    }
  }

  /// The reference lines' labels, over the data on a translucent white box: above the right
  /// end of a horizontal line, beside the top of a vertical one (left of it near the right edge).
  private func drawReferenceLabels(in document: inout SVGDocument, frame: PlotFrame, xLayout: AxisLayout) {
    let fontSize = 11.0
    for line in referenceLines where !line.label.isEmpty {
      guard let (_, end) = segment(of: line, frame: frame, xLayout: xLayout) else { continue }
      let textWidth = SVGDocument.textWidth(line.label, fontSize: fontSize)
      let (x, y, anchor): (Double, Double, String) =
        switch line.orientation {
        case .horizontal: (end.0 - 4, end.1 - 4, "end")
        case .vertical:
          end.0 + 4 + textWidth > frame.left + frame.plotWidth
            ? (end.0 - 4, end.1 + fontSize + 2, "end") : (end.0 + 4, end.1 + fontSize + 2, "start")
        }
      document.element(
        "rect",
        [
          ("x", SVGDocument.number(anchor == "end" ? x - textWidth - 2 : x - 2)),
          ("y", SVGDocument.number(y - fontSize)), ("width", SVGDocument.number(textWidth + 4)),
          ("height", SVGDocument.number(fontSize + 4)), ("fill", "#fff"), ("fill-opacity", "0.85"),
        ])
      document.element(
        "text",
        [
          ("class", "reference-label"), ("x", SVGDocument.number(x)), ("y", SVGDocument.number(y)),
          ("text-anchor", anchor), ("font-size", SVGDocument.number(fontSize)), ("fill", line.color.hexadecimal),
        ], text: line.label)
    }
  }
}
