/// A chart that renders itself as a standalone SVG document.
public protocol Chart: Sendable {
  /// The width of the document in pixels.
  var width: Double { get }
  /// The height of the document in pixels.
  var height: Double { get }
  /// An `<svg>` element with `width`, `height`, a `viewBox` and the font family: a file on its
  /// own, or markup to embed in HTML. It uses no `id`s, so many can share one page, and the
  /// same chart always gives the same bytes.
  func svg() -> String
}

/// Where a chart puts its legend: outside the plot area, so that it never covers data.
public enum LegendPlacement: Sendable {
  /// A column to the right of the plot area.
  case right
  /// Rows under the x-axis label, for charts with many or long series names.
  case below
  /// No legend.
  case hidden
}
