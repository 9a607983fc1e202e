/// A labelled line across the plot area at a fixed value, such as a target accuracy or the
/// step where a schedule changes. It counts for the automatic axis range.
public struct ReferenceLine: Sendable {
  /// The direction of the line.
  public enum Orientation: Sendable {
    /// At a y value, across the whole width.
    case horizontal
    /// At an x value, across the whole height.
    case vertical
  }

  /// Horizontal (at a y value) or vertical (at an x value).
  public var orientation: Orientation
  /// The y value of a horizontal line or the x value of a vertical one.
  public var value: Double
  /// Text at the line's end (right end of a horizontal line, top of a vertical one).
  public var label: String
  /// The line's color.
  public var color: Color
  /// Solid, dashed or dotted.
  public var style: LineStyle

  /// A reference line at `value`, with an optional label.
  public init(
    _ orientation: Orientation, at value: Double, label: String, color: Color = Palette.neutral,
    style: LineStyle = .dashed
  ) {
    self.orientation = orientation
    self.value = value
    self.label = label
    self.color = color
    self.style = style
  }
}
