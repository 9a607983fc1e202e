import Foundation

/// One axis of a chart: what it measures, in which unit, on which scale, over which range.
public struct Axis: Sendable {
  /// How values map to positions along the axis.
  public enum Scale: Sendable {
    /// Equal differences take equal lengths; ticks at 1, 2 or 5 × 10ⁿ steps.
    case linear
    /// Equal ratios take equal lengths; ticks at decades, with 2 and 5 labelled as well when
    /// the range spans two decades or less. Values ≤ 0 cannot be drawn and break lines.
    case logarithmic
  }

  /// What the axis measures, such as "test accuracy" or "learning rate".
  public var label: String
  /// The unit, shown in parentheses after the label; nil for a dimensionless quantity.
  public var unit: String?
  /// Linear or logarithmic.
  public var scale: Scale
  /// The range shown; nil extends the data's range to the nearest ticks.
  public var range: ClosedRange<Double>?
  /// The labelled ticks, such as the batch sizes 2, 4, …, 256 on a logarithmic axis; nil
  /// chooses them. Without a `range`, the axis spans the data and these ticks exactly.
  public var ticks: [Double]?

  /// An axis; `range` and `ticks` nil are chosen from the data.
  public init(
    _ label: String, unit: String? = nil, scale: Scale = .linear, range: ClosedRange<Double>? = nil,
    ticks: [Double]? = nil
  ) {
    if let range {
      precondition(range.lowerBound < range.upperBound, "an axis range needs two different bounds")
      precondition(scale == .linear || range.lowerBound > 0, "a logarithmic axis needs a positive range")
    }
    if let ticks {
      precondition(ticks.allSatisfy { $0.isFinite && (scale == .linear || $0 > 0) }, "ticks must be drawable")
    }
    self.label = label
    self.unit = unit
    self.scale = scale
    self.range = range
    self.ticks = ticks
  }

  /// The label with its unit: "time (s)".
  var title: String {
    unit.map { "\(label) (\($0))" } ?? label
  }

  /// The axis laid out along `length` pixels for data `values` (non-finite values and, on a
  /// logarithmic axis, values ≤ 0 are ignored): as many ticks as fit about one per
  /// `preferredSpacing` pixels, then fewer until no two labels are closer than half their
  /// `extent`s (the space a label takes along the axis) plus `gap`.
  func layout(
    values: [Double], length: Double, preferredSpacing: Double, gap: Double, extent: (String) -> Double
  ) -> AxisLayout {
    let most = max(2, Int(length / preferredSpacing))
    if let ticks {
      return explicitLayout(ticks: ticks, values: values)
    }
    let candidates =
      switch scale {
      case .linear: linearCandidates(values: values, most: most)
      case .logarithmic: logarithmicCandidates(values: values)
      }
    let fitting = candidates.first { candidate in
      let labelled = candidate.ticks.filter { $0.label != nil }
      return labelled.count <= most + 1
        && zip(labelled, labelled.dropFirst()).allSatisfy { first, second in
          let distance = (candidate.position(second.value) - candidate.position(first.value)).magnitude * length
          return distance >= (extent(first.label!) + extent(second.label!)) / 2 + gap
        }
    }
    return fitting ?? candidates.last!
  }

  /// The layout with the caller's ticks, labelled with up to four significant digits.
  private func explicitLayout(ticks: [Double], values: [Double]) -> AxisLayout {
    let drawable = (values + ticks).filter { $0.isFinite && (scale == .linear || $0 > 0) }
    var (lower, upper) = range.map { ($0.lowerBound, $0.upperBound) } ?? (drawable.min() ?? 0, drawable.max() ?? 1)
    if lower == upper {
      (lower, upper) = scale == .linear ? Self.linearDataRange([lower]) : (lower / 2, upper * 2)
    }
    let scientific = ticks.contains { $0 != 0 && ($0.magnitude < 1e-4 || $0.magnitude >= 1e6) }
    let labelled = ticks.sorted().filter { $0 >= lower && $0 <= upper }.map { value in
      Tick(value: value, label: scientific ? Self.scientific(value) : Self.significant(value))
    }
    return AxisLayout(scale: scale, lower: lower, upper: upper, ticks: labelled)
  }

  /// Linear layouts from the most ticks to two.
  private func linearCandidates(values: [Double], most: Int) -> [AxisLayout] {
    let (lower, upper) = range.map { ($0.lowerBound, $0.upperBound) } ?? Self.linearDataRange(values)
    return (1...most).reversed().map { count in
      let step = Self.niceStep(above: (upper - lower) / Double(count))
      let domain =
        range == nil
        ? ((lower / step + 1e-9).rounded(.down) * step, (upper / step - 1e-9).rounded(.up) * step) : (lower, upper)
      let first = Int((domain.0 / step - 1e-9).rounded(.up))
      let last = Int((domain.1 / step + 1e-9).rounded(.down))
      let scientific = step < 1e-4 || max(domain.0.magnitude, domain.1.magnitude) >= 1e6
      let decimals = max(0, -Int((log10(step) + 1e-9).rounded(.down)))
      let ticks = (first...max(first, last)).map { index in
        let value = Double(index) * step
        return Tick(
          value: value, label: scientific ? Self.scientific(value) : SVGDocument.fixed(value, decimals: decimals))
      }
      return AxisLayout(scale: .linear, lower: domain.0, upper: domain.1, ticks: last >= first ? ticks : [])
    }
  }

  /// Logarithmic layouts: 1-2-5 labels when the range is two decades or less, then every
  /// decade, every second, third, fifth and tenth decade. Labels are decimals ("0.001",
  /// "100"), or all in the "1e-6" style when the range leaves 10⁻⁴…10⁶. Unlabelled ticks mark 2…9 × 10ⁿ
  /// while the range spans at most eight decades.
  private func logarithmicCandidates(values: [Double]) -> [AxisLayout] {
    let (lower, upper) = range.map { ($0.lowerBound, $0.upperBound) } ?? Self.logarithmicDataRange(values)
    let firstDecade = Int(log10(lower).rounded(.down))
    let lastDecade = Int(log10(upper).rounded(.up))
    let decades = log10(upper) - log10(lower)
    let scientific = lower < 1e-4 * (1 - 1e-9) || upper >= 1e6
    var candidates: [AxisLayout] = []
    for stride in [0, 1, 2, 3, 5, 10] where stride > 0 || decades <= 2 {
      var ticks: [Tick] = []
      for decade in firstDecade...lastDecade {
        let power = Self.power(decade)
        for multiple in 1...9 {
          let value = Double(multiple) * power
          guard value >= lower * (1 - 1e-9), value <= upper * (1 + 1e-9) else { continue }
          let labelled =
            stride == 0 ? [1, 2, 5].contains(multiple) : multiple == 1 && decade.isMultiple(of: stride)
          if labelled {
            ticks.append(Tick(value: value, label: scientific ? Self.scientific(value) : Self.decimal(value)))
          } else if decades <= 8 {
            ticks.append(Tick(value: value, label: nil))
          }
        }
      }
      candidates.append(AxisLayout(scale: .logarithmic, lower: lower, upper: upper, ticks: ticks))
    }
    return candidates
  }

  /// The finite values' range, widened when it is a single value; 0…1 without data.
  private static func linearDataRange(_ values: [Double]) -> (Double, Double) {
    let finite = values.filter(\.isFinite)
    guard let lower = finite.min(), let upper = finite.max() else { return (0, 1) }
    guard lower < upper else {
      let half = lower == 0 ? 1 : lower.magnitude / 2
      return (lower - half, upper + half)
    }
    return (lower, upper)
  }

  /// The positive finite values' range widened to 1, 2 or 5 × 10ⁿ at each end (a decade
  /// around a single value); 1…10 without any.
  private static func logarithmicDataRange(_ values: [Double]) -> (Double, Double) {
    let positive = values.filter { $0.isFinite && $0 > 0 }
    guard let lower = positive.min(), let upper = positive.max() else { return (1, 10) }
    let niceLower = [5.0, 2, 1].map { $0 * power(Int((log10(lower) + 1e-9).rounded(.down))) }
      .first { $0 <= lower * (1 + 1e-9) }!
    let niceUpper = [1.0, 2, 5, 10].map { $0 * power(Int((log10(upper) - 1e-9).rounded(.down))) }
      .first { $0 >= upper * (1 - 1e-9) }!
    return niceLower < niceUpper ? (niceLower, niceUpper) : (niceLower, niceLower * 10)
  }

  /// The smallest of 1, 2, 5 × 10ⁿ that is at least `minimum` (and positive).
  static func niceStep(above minimum: Double) -> Double {
    guard minimum > 0, minimum.isFinite else { return 1 }
    let magnitude = power(Int(log10(minimum).rounded(.down)))
    let residual = minimum / magnitude
    let multiple: Double = residual <= 1 + 1e-9 ? 1 : residual <= 2 + 1e-9 ? 2 : residual <= 5 + 1e-9 ? 5 : 10
    return multiple * magnitude
  }

  /// A positive value with as many decimals as its first digit needs: "0.002", "500".
  private static func decimal(_ value: Double) -> String {
    SVGDocument.fixed(value, decimals: max(0, -Int((log10(value) + 1e-9).rounded(.down))))
  }

  /// `value` with up to four significant digits, without trailing zeros: "0.0025", "128".
  private static func significant(_ value: Double) -> String {
    guard value != 0 else { return "0" }
    let decimals = max(0, 3 - Int((log10(value.magnitude) + 1e-9).rounded(.down)))
    var text = SVGDocument.fixed(value, decimals: decimals)
    if text.contains(".") {
      while text.hasSuffix("0") { text.removeLast() }
      if text.hasSuffix(".") { text.removeLast() }
    }
    return text
  }

  /// "2.5e-5", "1e7", "0".
  private static func scientific(_ value: Double) -> String {
    guard value != 0 else { return "0" }
    var exponent = Int((log10(value.magnitude) + 1e-9).rounded(.down))
    var mantissa = (value / power(exponent) * 100).rounded() / 100
    if mantissa.magnitude >= 10 {
      mantissa /= 10
      exponent += 1
    }
    return SVGDocument.number(mantissa) + "e" + String(exponent)
  }

  /// 10ⁿ.
  private static func power(_ exponent: Int) -> Double {
    pow(10, Double(exponent))
  }
}

/// A position along an axis; unlabelled ticks are minor ticks on a logarithmic axis.
struct Tick: Equatable {
  var value: Double
  var label: String?
}

/// An axis resolved for drawing: the domain shown and the ticks in it.
struct AxisLayout {
  var scale: Axis.Scale
  var lower: Double
  var upper: Double
  var ticks: [Tick]

  /// Where `value` lies from 0 (at `lower`) to 1 (at `upper`); NaN for values that cannot be
  /// drawn (non-finite, or ≤ 0 on a logarithmic axis).
  func position(_ value: Double) -> Double {
    switch scale {
    case .linear:
      return value.isFinite ? (value - lower) / (upper - lower) : .nan
    case .logarithmic:
      guard value.isFinite, value > 0 else { return .nan }
      return (log10(value) - log10(lower)) / (log10(upper) - log10(lower))
    }
  }
}
