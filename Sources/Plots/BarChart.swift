import Foundation

/// Grouped bars: one group per category (a configuration), one bar per series in each group,
/// with optional error bars (min–max or ±std over seeds).
///
/// Each bar is a `<rect class="bar" data-series="NAME">`; a non-finite value (a run that
/// diverged) draws no bar but "n/a" at its place. Category labels that do not fit under
/// their group break at spaces into up to three lines, or else turn by 35°.
public struct BarChart: Chart {
  /// The chart's title.
  public var title: String
  /// The label of each group, left to right.
  public var categories: [String]
  /// What the categories are, shown under them; empty for none.
  public var categoryTitle: String
  /// The value axis.
  public var yAxis: Axis
  /// One series per group of bars, in legend order.
  public var series: [BarSeries]
  /// Where the legend goes.
  public var legend: LegendPlacement
  public var width: Double
  public var height: Double

  /// A bar chart; sizes in pixels.
  public init(
    title: String, categories: [String], categoryTitle: String = "", yAxis: Axis, series: [BarSeries],
    legend: LegendPlacement = .right, width: Double = 640, height: Double = 400
  ) {
    precondition(width > 0 && height > 0, "a chart needs a positive size")
    for series in series {
      precondition(series.values.count == categories.count, "\(series.name): one value per category is needed")
      precondition(
        series.errors.isEmpty || series.errors.count == categories.count,
        "\(series.name): one error bar per category is needed")
    }
    self.title = title
    self.categories = categories
    self.categoryTitle = categoryTitle
    self.yAxis = yAxis
    self.series = series
    self.legend = legend
    self.width = width
    self.height = height
  }

  static let labelAngle = 35.0
  static let maximumLabelCharacters = 24
  static let labelLineHeight = 14.0

  public func svg() -> String {
    let labels = categories.map {
      $0.count > Self.maximumLabelCharacters ? $0.prefix(Self.maximumLabelCharacters - 1) + "…" : $0
    }
    let labelWidth = labels.map { SVGDocument.textWidth($0, fontSize: PlotFrame.tickFontSize) }.max() ?? 0
    let legend = Legend(
      entries: series.map { Legend.Entry(label: $0.name, swatch: .box($0.color)) }, placement: legend,
      chartWidth: width)
    var yValues = series.flatMap { $0.values + $0.errors.flatMap { [$0.lower, $0.upper] } }
    if yAxis.scale == .linear { yValues.append(0) }
    func layout(xLabelsHeight: Double) -> PlotFrame {
      PlotFrame(
        width: width, height: height, title: title, yAxis: yAxis, yValues: yValues, legend: legend,
        xLabelsHeight: xLabelsHeight, hasXTitle: !categoryTitle.isEmpty)
    }
    var frame = layout(xLabelsHeight: PlotFrame.tickLabelsHeight)
    // Lines narrower than the group by a margin, as the second layout may narrow it a little.
    let lineWidth = frame.plotWidth / Double(max(1, categories.count)) - 12
    let wrapped = labels.map { Self.wrapped($0, width: lineWidth) }
    let lines = wrapped.contains { $0 == nil } ? nil : wrapped.map { $0! }
    if let lines {
      let count = Double(lines.map(\.count).max() ?? 1)
      frame = layout(xLabelsHeight: PlotFrame.tickLabelsHeight + (count - 1) * Self.labelLineHeight)
    } else {
      let angle = Self.labelAngle * .pi / 180
      frame = layout(
        xLabelsHeight: PlotFrame.tickLength + 6 + labelWidth * sin(angle) + PlotFrame.tickFontSize * cos(angle))
    }

    var document = SVGDocument(width: width, height: height)
    frame.drawBackground(in: &document, title: title)
    frame.drawYAxis(in: &document, title: yAxis.title)
    drawBars(in: &document, frame: frame)
    drawCategoryLabels(lines ?? labels.map { [$0] }, rotated: lines == nil, in: &document, frame: frame)
    frame.drawXTitle(in: &document, categoryTitle)
    frame.drawLegend(in: &document, hasXTitle: !categoryTitle.isEmpty)
    return document.rendered()
  }

  /// The horizontal pixel at the centre of group `index`.
  private func groupCenter(_ index: Int, frame: PlotFrame) -> Double {
    frame.x((Double(index) + 0.5) / Double(categories.count))
  }

  private func drawBars(in document: inout SVGDocument, frame: PlotFrame) {
    let groupWidth = frame.plotWidth / Double(max(1, categories.count))
    let barWidth = groupWidth * 0.8 / Double(max(1, series.count))
    let baselineValue =
      yAxis.scale == .linear ? min(max(0, frame.yLayout.lower), frame.yLayout.upper) : frame.yLayout.lower
    let baseline = frame.y(frame.yLayout.position(baselineValue))
    frame.openClip(in: &document, margin: 0)
    for (seriesIndex, series) in series.enumerated() {
      document.open("g", [("class", "bar-series"), ("data-series", series.name), ("fill", series.color.hexadecimal)])
      for (category, value) in series.values.enumerated() {
        let left = groupCenter(category, frame: frame) - groupWidth * 0.4 + Double(seriesIndex) * barWidth
        let position = frame.yLayout.position(value)
        guard position.isFinite else {
          document.element(
            "text",
            [
              ("x", SVGDocument.number(left + barWidth / 2)), ("y", SVGDocument.number(baseline - 4)),
              ("text-anchor", "middle"), ("font-size", "10"), ("fill", PlotFrame.textColor),
            ], text: "n/a")
          continue
        }
        let top = frame.y(position)
        document.element(
          "rect",
          [
            ("class", "bar"), ("data-series", series.name), ("x", SVGDocument.number(left + 0.5)),
            ("y", SVGDocument.number(min(top, baseline))), ("width", SVGDocument.number(max(1, barWidth - 1))),
            ("height", SVGDocument.number((baseline - top).magnitude)),
          ])
      }
      document.close("g")
    }
    for (seriesIndex, series) in series.enumerated() {
      for (category, error) in series.errors.enumerated() {
        let lower = frame.yLayout.position(error.lower)
        let upper = frame.yLayout.position(error.upper)
        guard lower.isFinite, upper.isFinite else { continue }
        let center = groupCenter(category, frame: frame) - groupWidth * 0.4 + (Double(seriesIndex) + 0.5) * barWidth
        let cap = min(8, barWidth * 0.5) / 2
        let data =
          "M" + SVGDocument.number(center) + " " + SVGDocument.number(frame.y(lower)) + "V"
          + SVGDocument.number(frame.y(upper)) + "M" + SVGDocument.number(center - cap) + " "
          + SVGDocument.number(frame.y(lower)) + "h" + SVGDocument.number(2 * cap) + "M"
          + SVGDocument.number(center - cap) + " " + SVGDocument.number(frame.y(upper)) + "h"
          + SVGDocument.number(2 * cap)
        document.element(
          "path",
          [
            ("class", "error-bar"), ("data-series", series.name), ("d", data), ("stroke", "#222"),
            ("stroke-width", "1.3"), ("fill", "none"),
          ])
      }
    }
    frame.closeClip(in: &document)
    frame.drawXAxisLine(in: &document)
    if baseline < frame.bottom {
      frame.line(
        in: &document, from: (frame.left, baseline), to: (frame.left + frame.plotWidth, baseline),
        color: PlotFrame.axisColor)
    }
  }

  /// `label` broken at spaces into lines no wider than `width` pixels; nil when a word alone
  /// is wider or it takes more than three lines.
  static func wrapped(_ label: String, width: Double) -> [String]? {
    var lines: [String] = []
    for word in label.split(separator: " ") {
      if let last = lines.last, SVGDocument.textWidth(last + " " + word, fontSize: PlotFrame.tickFontSize) <= width {
        lines[lines.count - 1] = last + " " + word
      } else {
        guard SVGDocument.textWidth(String(word), fontSize: PlotFrame.tickFontSize) <= width else { return nil }
        lines.append(String(word))
      }
    }
    return lines.count <= 3 ? lines : nil
  }

  /// Each category's label under its group: one `<text>` per line, or one turned `<text>`.
  private func drawCategoryLabels(_ labels: [[String]], rotated: Bool, in document: inout SVGDocument, frame: PlotFrame)
  {
    document.open("g", [("class", "x-axis"), ("font-size", SVGDocument.number(PlotFrame.tickFontSize))])
    for (index, lines) in labels.enumerated() {
      let x = groupCenter(index, frame: frame)
      for (number, line) in lines.enumerated() {
        let y =
          frame.bottom + PlotFrame.tickLength + 3 + PlotFrame.tickFontSize * 0.8 + Double(number) * Self.labelLineHeight
        var attributes = [
          ("x", SVGDocument.number(x)), ("y", SVGDocument.number(y)), ("text-anchor", rotated ? "end" : "middle"),
          ("fill", PlotFrame.textColor),
        ]
        if rotated {
          attributes.append(
            (
              "transform",
              "rotate(-\(SVGDocument.number(Self.labelAngle)) \(SVGDocument.number(x)) \(SVGDocument.number(y - 4)))"
            ))
        }
        document.element("text", attributes, text: line)
      }
    }
    document.close("g")
  }
}

/// One bar in every group of a `BarChart`.
public struct BarSeries: Sendable {
  /// The legend's name.
  public var name: String
  /// One value per category; non-finite for a missing or diverged one.
  public var values: [Double]
  /// The bars' color.
  public var color: Color
  /// One error bar per category, or none at all.
  public var errors: [ErrorBar]

  /// A series of one value per category, with optional error bars.
  public init(name: String, values: [Double], color: Color, errors: [ErrorBar] = []) {
    self.name = name
    self.values = values
    self.color = color
    self.errors = errors
  }
}

/// The extent of an error bar, in data values (not offsets from the bar).
public struct ErrorBar: Sendable, Equatable {
  /// The error bar's lower end.
  public var lower: Double
  /// The error bar's upper end.
  public var upper: Double

  /// An error bar from `lower` to `upper`.
  public init(lower: Double, upper: Double) {
    self.lower = lower
    self.upper = upper
  }
}
