/// One line of a `LineChart`: named points in a colour, with an optional band around them.
public struct Series: Sendable {
  /// The legend's text for the series; also written to the SVG as `data-series`.
  public var name: String
  /// The points in drawing order. A point with a non-finite coordinate (or one a logarithmic
  /// axis cannot show) breaks the line: each finite run is its own `<path>`.
  public var points: [ChartPoint]
  /// The line's color.
  public var color: Color
  /// Solid, dashed or dotted.
  public var style: LineStyle
  /// The marker at each point, if any.
  public var marker: Marker
  /// A translucent area from `lower` to `upper` (min–max or ±std over seeds, a percentile
  /// range), drawn under every line; empty for none. Non-finite values break it like a line.
  public var band: [BandPoint]
  /// Whether a series that ends in non-finite values gets a cross at its last finite point,
  /// and the legend a "diverged" entry.
  public var marksDivergence: Bool

  /// A series from its points; `band` draws a shaded range under it, `marksDivergence` a cross where it diverged.
  public init(
    name: String, points: [ChartPoint], color: Color, style: LineStyle = .solid, marker: Marker = .none,
    band: [BandPoint] = [], marksDivergence: Bool = true
  ) {
    self.name = name
    self.points = points
    self.color = color
    self.style = style
    self.marker = marker
    self.band = band
    self.marksDivergence = marksDivergence
  }

  /// A series from parallel arrays of x and y values.
  public init(
    name: String, x: [Double], y: [Double], color: Color, style: LineStyle = .solid, marker: Marker = .none,
    band: [BandPoint] = [], marksDivergence: Bool = true
  ) {
    precondition(x.count == y.count, "\(x.count) x values but \(y.count) y values")
    self.init(
      name: name, points: zip(x, y).map(ChartPoint.init), color: color, style: style, marker: marker, band: band,
      marksDivergence: marksDivergence)
  }

  /// Whether the series ends in non-finite values after at least one finite point.
  var diverged: Bool {
    guard let last = points.last, !(last.x.isFinite && last.y.isFinite) else { return false }
    return points.contains { $0.x.isFinite && $0.y.isFinite }
  }
}

/// A point of a series in data coordinates.
public struct ChartPoint: Sendable, Equatable {
  /// The horizontal value.
  public var x: Double
  /// The vertical value.
  public var y: Double

  /// A point.
  public init(x: Double, y: Double) {
    self.x = x
    self.y = y
  }
}

/// The extent of a band at one x.
public struct BandPoint: Sendable, Equatable {
  /// The horizontal value.
  public var x: Double
  /// The band's lower edge.
  public var lower: Double
  /// The band's upper edge.
  public var upper: Double

  /// A band point.
  public init(x: Double, lower: Double, upper: Double) {
    self.x = x
    self.lower = lower
    self.upper = upper
  }

  /// A band from parallel arrays.
  public static func band(x: [Double], lower: [Double], upper: [Double]) -> [BandPoint] {
    precondition(x.count == lower.count && x.count == upper.count, "a band needs as many bounds as x values")
    return x.indices.map { BandPoint(x: x[$0], lower: lower[$0], upper: upper[$0]) }
  }
}

/// How a line is stroked.
public enum LineStyle: Sendable {
  /// A solid line.
  case solid
  /// A dashed line.
  case dashed
  /// A dotted line.
  case dotted

  /// The SVG `stroke-dasharray`, nil for a solid line.
  var dashArray: String? {
    switch self {
    case .solid: nil
    case .dashed: "7 4"
    case .dotted: "1.5 3.5"
    }
  }
}

/// A symbol drawn at every point of a series.
public enum Marker: Sendable {
  /// No marker.
  case none
  /// A circle.
  case circle
  /// A square.
  case square
  /// A triangle.
  case triangle
  /// A diamond.
  case diamond

  /// The symbol centred at (`x`, `y`) as SVG subpath commands, `size` pixels across.
  func path(x: Double, y: Double, size: Double) -> String {
    let half = size / 2
    func point(_ dx: Double, _ dy: Double) -> String {
      SVGDocument.number(x + dx) + " " + SVGDocument.number(y + dy)
    }
    switch self {
    case .none:
      return ""
    case .circle:
      let radius = SVGDocument.number(half)
      return "M" + point(-half, 0) + "a\(radius) \(radius) 0 1 0 \(SVGDocument.number(size)) 0"
        + "a\(radius) \(radius) 0 1 0 -\(SVGDocument.number(size)) 0Z"
    case .square:
      return "M" + point(-half, -half) + "L" + point(half, -half) + "L" + point(half, half) + "L"
        + point(-half, half) + "Z"
    case .triangle:
      return "M" + point(0, -half * 1.2) + "L" + point(half * 1.1, half * 0.8) + "L" + point(-half * 1.1, half * 0.8)
        + "Z"
    case .diamond:
      return "M" + point(0, -half * 1.3) + "L" + point(half, 0) + "L" + point(0, half * 1.3) + "L" + point(-half, 0)
        + "Z"
    }
  }
}
