/// A chart's legend: a column right of the plot area, or rows under it.
struct Legend {
  /// The small picture before an entry's text.
  enum Swatch {
    /// A line segment as the series draws it, over a translucent box when it has a band.
    case line(Color, LineStyle, Marker, band: Bool)
    /// A filled box, as a bar.
    case box(Color)
    /// The cross that marks where a series diverged.
    case cross
  }

  struct Entry {
    var label: String
    var swatch: Swatch
  }

  static let fontSize = 12.0
  static let rowHeight = 18.0
  static let swatchWidth = 24.0
  static let swatchGap = 6.0
  static let entryGap = 18.0

  let entries: [Entry]
  let placement: LegendPlacement

  /// A legend for a chart `chartWidth` pixels wide. A column on the right may take 30 % of
  /// the width; when a label is wider, the legend goes below instead, where labels may take
  /// the whole width and are shortened with "…" beyond it.
  init(entries: [Entry], placement: LegendPlacement, chartWidth: Double) {
    let rightWidth = chartWidth * 0.3
    let placement =
      placement == .right && entries.contains { SVGDocument.textWidth($0.label, fontSize: Self.fontSize) > rightWidth }
      ? .below : placement
    let labelWidth =
      placement == .right ? rightWidth : Self.rowsWidth(chartWidth: chartWidth) - Self.swatchWidth - Self.swatchGap
    let characters = max(4, Int(labelWidth / SVGDocument.textWidth("m", fontSize: Self.fontSize)))
    self.entries = entries.map { entry in
      guard entry.label.count > characters else { return entry }
      return Entry(label: entry.label.prefix(characters - 1) + "…", swatch: entry.swatch)
    }
    self.placement = entries.isEmpty ? .hidden : placement
  }

  /// The width the rows of a legend below the plot take in a chart `chartWidth` pixels wide.
  static func rowsWidth(chartWidth: Double) -> Double {
    chartWidth - 20
  }

  /// The width of the widest entry.
  private var entryWidth: Double {
    entries.map { Self.swatchWidth + Self.swatchGap + SVGDocument.textWidth($0.label, fontSize: Self.fontSize) }.max()
      ?? 0
  }

  /// The width of the column, for `.right`; 0 otherwise.
  var columnWidth: Double {
    placement == .right ? entryWidth : 0
  }

  /// How many entries go side by side in the rows below the plot, in aligned columns.
  private func columns(width: Double) -> Int {
    min(entries.count, max(1, Int((width + Self.entryGap) / (entryWidth + Self.entryGap))))
  }

  /// The height of the rows within `width`, for `.below`; 0 otherwise.
  func rowsHeight(width: Double) -> Double {
    guard placement == .below else { return 0 }
    let columns = columns(width: width)
    return Double((entries.count + columns - 1) / columns) * Self.rowHeight
  }

  /// Draws the column with its top-left corner at (`x`, `y`), or the rows, in aligned columns
  /// centred in the `width` pixels from `x`.
  func draw(in document: inout SVGDocument, x: Double, y: Double, width: Double) {
    guard placement != .hidden else { return }
    document.open("g", [("class", "legend"), ("font-size", SVGDocument.number(Self.fontSize))])
    let columns = placement == .right ? 1 : columns(width: width)
    let columnsWidth = Double(columns) * (entryWidth + Self.entryGap) - Self.entryGap
    let left = placement == .right ? x : x + (width - columnsWidth) / 2
    for (index, entry) in entries.enumerated() {
      let (row, column) = index.quotientAndRemainder(dividingBy: columns)
      draw(
        entry, in: &document, x: left + Double(column) * (entryWidth + Self.entryGap),
        centerY: y + Self.rowHeight * (Double(row) + 0.5))
    }
    document.close("g")
  }

  private func draw(_ entry: Entry, in document: inout SVGDocument, x: Double, centerY: Double) {
    let middle = x + Self.swatchWidth / 2
    switch entry.swatch {
    case .line(let color, let style, let marker, let band):
      if band {
        document.element(
          "rect",
          [
            ("x", SVGDocument.number(x)), ("y", SVGDocument.number(centerY - 6)),
            ("width", SVGDocument.number(Self.swatchWidth)), ("height", "12"), ("fill", color.hexadecimal),
            ("fill-opacity", LineChart.bandOpacity),
          ])
      }
      var attributes = [
        (
          "d",
          "M" + SVGDocument.number(x) + " " + SVGDocument.number(centerY) + "h" + SVGDocument.number(Self.swatchWidth)
        ),
        ("stroke", color.hexadecimal), ("stroke-width", LineChart.lineWidth), ("fill", "none"),
      ]
      if let dashes = style.dashArray { attributes.append(("stroke-dasharray", dashes)) }
      document.element("path", attributes)
      if marker != .none {
        document.element(
          "path", [("d", marker.path(x: middle, y: centerY, size: LineChart.markerSize)), ("fill", color.hexadecimal)])
      }
    case .box(let color):
      document.element(
        "rect",
        [
          ("x", SVGDocument.number(middle - 6)), ("y", SVGDocument.number(centerY - 6)), ("width", "12"),
          ("height", "12"), ("fill", color.hexadecimal),
        ])
    case .cross:
      LineChart.drawCross(in: &document, x: middle, y: centerY, color: Palette.neutral)
    }
    document.element(
      "text",
      [
        ("x", SVGDocument.number(x + Self.swatchWidth + Self.swatchGap)),
        ("y", SVGDocument.number(centerY + Self.fontSize * 0.35)), ("fill", "#222"),
      ], text: entry.label)
  }
}
