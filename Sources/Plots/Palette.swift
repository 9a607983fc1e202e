/// The colours of every plot, so that "with BN" and "without BN" look the same in all of them.
///
/// The categorical colours are Okabe and Ito's palette ("Color Universal Design", 2008),
/// distinguishable with every common form of colour blindness; the sequential one samples
/// viridis (van der Walt and Smith, matplotlib 2015), which stays ordered in grey scale.
public enum Palette {
  /// Networks with Batch Normalization: Okabe–Ito blue.
  public static let withBatchNorm = Color(0x0072B2)
  /// Networks without it: Okabe–Ito vermillion.
  public static let withoutBatchNorm = Color(0xD55E00)
  /// Reference lines, annotations and neutral elements.
  public static let neutral = Color(0x555555)

  /// Distinct colours for unordered series, starting with `withBatchNorm` and
  /// `withoutBatchNorm`; Okabe–Ito's yellow is left out, it vanishes on white.
  public static let categorical: [Color] = [
    withBatchNorm, withoutBatchNorm, Color(0x009E73), Color(0xCC79A7), Color(0xE69F00), Color(0x56B4E9),
    Color(0x000000),
  ]

  /// The categorical colour for series `index`, repeating after `categorical.count` series.
  public static func categorical(_ index: Int) -> Color {
    categorical[index % categorical.count]
  }

  /// `count` colours in order from dark purple to yellow-green, for sweeps over an ordered
  /// quantity such as the learning rate or the batch size.
  public static func sequential(_ count: Int) -> [Color] {
    precondition(count >= 0, "count must not be negative")
    // Viridis at 0, 1/6, …, 5/6 of its range, stopping before its pale yellow end.
    let anchors = [
      Color(0x440154), Color(0x443983), Color(0x31688E), Color(0x21918C), Color(0x35B779), Color(0x90D743),
    ]
    return (0..<count).map { index in
      let position = count == 1 ? 0 : Double(index) / Double(count - 1) * Double(anchors.count - 1)
      let lower = min(Int(position), anchors.count - 2)
      return anchors[lower].mixed(with: anchors[lower + 1], fraction: position - Double(lower))
    }
  }
}
