/// An opaque sRGB colour, written to SVG as `#rrggbb`.
public struct Color: Sendable, Hashable {
  /// Red, 0–255.
  public var red: UInt8
  /// Green, 0–255.
  public var green: UInt8
  /// Blue, 0–255.
  public var blue: UInt8

  /// A color from its components, 0–255.
  public init(red: UInt8, green: UInt8, blue: UInt8) {
    self.red = red
    self.green = green
    self.blue = blue
  }

  /// A colour from `0xRRGGBB`, as web colours are written: `Color(0x0072B2)`.
  public init(_ hexadecimal: UInt32) {
    self.init(
      red: UInt8(truncatingIfNeeded: hexadecimal >> 16), green: UInt8(truncatingIfNeeded: hexadecimal >> 8),
      blue: UInt8(truncatingIfNeeded: hexadecimal))
  }

  /// `#rrggbb` in lower case.
  public var hexadecimal: String {
    "#"
      + [red, green, blue].map { component in
        let digits = String(component, radix: 16)
        return digits.count == 1 ? "0" + digits : digits
      }.joined()
  }

  /// The colour `fraction` of the way from `self` to `other` in sRGB.
  func mixed(with other: Color, fraction: Double) -> Color {
    func blend(_ from: UInt8, _ to: UInt8) -> UInt8 {
      UInt8((Double(from) + (Double(to) - Double(from)) * fraction).rounded())
    }
    return Color(red: blend(red, other.red), green: blend(green, other.green), blue: blend(blue, other.blue))
  }
}
