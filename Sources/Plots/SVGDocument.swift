/// An SVG document built element by element: the one place that writes markup.
///
/// Attribute values and text are escaped (`&`, `<`, `>`, `"`, `'`; characters XML 1.0 forbids
/// become U+FFFD), and every number goes through `SVGDocument.number(_:)`, which rounds to two
/// decimals, so the same drawing always produces the same bytes. The document has no XML
/// declaration and uses no `id`s, so it can be embedded as is in HTML or in another SVG.
struct SVGDocument {
  /// The font every text element inherits.
  static let fontFamily = "sans-serif"

  let width: Double
  let height: Double
  private var body = ""

  init(width: Double, height: Double) {
    self.width = width
    self.height = height
  }

  /// Adds `<name attributes/>`, or `<name attributes>text</name>` when `text` is given.
  mutating func element(_ name: String, _ attributes: [(String, String)], text: String? = nil) {
    body += "<" + name + Self.attributeList(attributes)
    if let text {
      body += ">" + Self.escaped(text) + "</" + name + ">\n"
    } else {
      body += "/>\n"
    }
  }

  /// Opens `<name attributes>`; close it with `close(_:)`.
  mutating func open(_ name: String, _ attributes: [(String, String)] = []) {
    body += "<" + name + Self.attributeList(attributes) + ">\n"
  }

  /// Closes the element `name` opened last.
  mutating func close(_ name: String) {
    body += "</" + name + ">\n"
  }

  /// Adds markup that is already well formed, such as another document's `rendered()`.
  mutating func embed(_ markup: String) {
    body += markup
  }

  /// The complete `<svg>` element with width, height, a viewBox and the font family.
  func rendered() -> String {
    let size = Self.attributeList([
      ("xmlns", "http://www.w3.org/2000/svg"),
      ("width", Self.number(width)), ("height", Self.number(height)),
      ("viewBox", "0 0 \(Self.number(width)) \(Self.number(height))"),
      ("font-family", Self.fontFamily),
    ])
    return "<svg" + size + ">\n" + body + "</svg>\n"
  }

  /// ` name="value"` for each pair, values escaped.
  private static func attributeList(_ attributes: [(String, String)]) -> String {
    attributes.map { " " + $0.0 + "=\"" + escaped($0.1) + "\"" }.joined()
  }

  /// `text` safe inside XML character data and quoted attribute values.
  static func escaped(_ text: String) -> String {
    var result = ""
    result.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
    for scalar in text.unicodeScalars {
      switch scalar {
      case "&": result += "&amp;"
      case "<": result += "&lt;"
      case ">": result += "&gt;"
      case "\"": result += "&quot;"
      case "'": result += "&apos;"
      case "\t", "\n", "\r": result.unicodeScalars.append(scalar)
      case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF:
        result.unicodeScalars.append("\u{FFFD}")
      default: result.unicodeScalars.append(scalar)
      }
    }
    return result
  }

  /// `value` rounded to two decimals without trailing zeros ("12.5", "-3", "0.07"); never
  /// "-0". Coordinates far outside any canvas are clamped to ±1,000,000.
  static func number(_ value: Double) -> String {
    precondition(!value.isNaN, "a coordinate is NaN")
    let hundredths = Int((min(max(value, -1e6), 1e6) * 100).rounded())
    let magnitude = hundredths.magnitude
    var text = hundredths < 0 ? "-" : ""
    text += String(magnitude / 100)
    let fraction = magnitude % 100
    if fraction != 0 {
      text += fraction % 10 == 0 ? "." + String(fraction / 10) : (fraction < 10 ? ".0" : ".") + String(fraction)
    }
    return text
  }

  /// `value` with exactly `decimals` decimals ("0.50", "-12", "3.142"), never "-0".
  static func fixed(_ value: Double, decimals: Int) -> String {
    precondition(value.isFinite && value.magnitude < 1e15, "\(value) is not a plottable number")
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = (value * scale).rounded()
    let digits = String(Int64(scaled.magnitude))
    let sign = scaled < 0 ? "-" : ""
    guard decimals > 0 else { return sign + digits }
    let padded = String(repeating: "0", count: max(0, decimals + 1 - digits.count)) + digits
    return sign + padded.dropLast(decimals) + "." + padded.suffix(decimals)
  }

  /// The approximate width of `text` in a sans-serif font of `fontSize` pixels, generous
  /// enough for DejaVu Sans (the widest common default) so that labels never collide.
  static func textWidth(_ text: String, fontSize: Double) -> Double {
    Double(text.count) * fontSize * 0.62
  }
}
