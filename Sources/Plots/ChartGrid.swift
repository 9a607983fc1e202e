/// Small multiples: several charts in one SVG, row by row in `columns` columns, each cell as
/// large as the largest chart, under an optional overall title.
public struct ChartGrid: Chart {
  /// The title above the grid.
  public var title: String
  /// Charts per row.
  public var columns: Int
  /// The charts, row by row.
  public var charts: [any Chart]

  static let titleHeight = 36.0

  /// A grid of charts.
  public init(title: String = "", columns: Int = 2, charts: [any Chart]) {
    precondition(columns > 0, "a grid needs at least one column")
    self.title = title
    self.columns = columns
    self.charts = charts
  }

  private var cellWidth: Double { charts.map(\.width).max() ?? 0 }
  private var cellHeight: Double { charts.map(\.height).max() ?? 0 }
  private var rows: Int { (charts.count + columns - 1) / columns }
  private var top: Double { title.isEmpty ? 0 : Self.titleHeight }

  public var width: Double { max(1, Double(min(columns, max(1, charts.count))) * cellWidth) }
  public var height: Double { max(1, top + Double(rows) * cellHeight) }

  public func svg() -> String {
    var document = SVGDocument(width: width, height: height)
    document.element(
      "rect", [("width", SVGDocument.number(width)), ("height", SVGDocument.number(height)), ("fill", "#fff")])
    if !title.isEmpty {
      document.element(
        "text",
        [
          ("class", "title"), ("x", SVGDocument.number(width / 2)), ("y", "26"), ("text-anchor", "middle"),
          ("font-size", "17"), ("font-weight", "bold"), ("fill", PlotFrame.textColor),
        ], text: title)
    }
    for (index, chart) in charts.enumerated() {
      let x = Double(index % columns) * cellWidth
      let y = top + Double(index / columns) * cellHeight
      document.open("g", [("transform", "translate(\(SVGDocument.number(x)) \(SVGDocument.number(y)))")])
      document.embed(chart.svg())
      document.close("g")
    }
    return document.rendered()
  }
}
