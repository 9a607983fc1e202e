/// A 16-bit storage type whose values are computed in Float: `Float16` (IEEE 754
/// binary16) and ``BFloat16``. Batch normalization reads and writes them, and keeps its
/// statistics and parameters in Float (the mixed-type rule of PyTorch and ONNX).
///
/// Conversions go whole arrays at a time, eight values per step (a build with F16C,
/// `-target-cpu haswell`, converts eight Float16 values per instruction).
public protocol HalfPrecisionScalar: HalfPrecisionVectors, Hashable, Sendable, CustomStringConvertible {
  /// The type's name as NumPy and PyTorch spell it: "float16" or "bfloat16".
  static var typeName: String { get }
  /// `value` rounded to the nearest value of this type, ties to even.
  init(rounding value: Float)
  /// The value as a Float, exactly.
  var floatValue: Float { get }
  /// Every value as a Float, exactly.
  static func widened(_ values: [Self]) -> [Float]
  /// Every value rounded to this type, to nearest, ties to even.
  static func narrowed(_ values: [Float]) -> [Self]
}

extension BFloat16: HalfPrecisionScalar {
  public static var typeName: String { "bfloat16" }

  public init(rounding value: Float) {
    self.init(value)
  }

  public static func widened(_ values: [BFloat16]) -> [Float] { HalfPrecision.widened(values) }

  public static func narrowed(_ values: [Float]) -> [BFloat16] { HalfPrecision.narrowed(values) }
}

#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
  // Float16 exists everywhere but on Intel Macs.
  extension Float16: HalfPrecisionScalar {
    public static var typeName: String { "float16" }

    public init(rounding value: Float) {
      self.init(value)
    }

    public var floatValue: Float { Float(self) }

    public static func widened(_ values: [Float16]) -> [Float] { HalfPrecision.widened(values) }

    public static func narrowed(_ values: [Float]) -> [Float16] { HalfPrecision.narrowed(values) }
  }
#endif
