import HalfPrecision

/// An n-dimensional array as a file holds it: a shape and its elements in row-major (C) order.
///
/// A shape of `[]` is a scalar (one element); a dimension of 0 makes an empty array. The element
/// count is always the product of the shape, which the convenience initializers check.
public struct StoredArray: Equatable, Sendable {
  /// The elements in row-major order, tagged with their type.
  public enum Elements: Equatable, Sendable {
    /// float32 (`<f4`, `F32`) values.
    case float32([Float])
    /// float64 (`<f8`, `F64`) values.
    case float64([Double])
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      /// IEEE binary16 (`<f2`, `F16`) values (not on Intel Macs, which have no Float16).
      case float16([Float16])
    #endif
    /// bfloat16 (`BF16`) values; safetensors only.
    case bfloat16([BFloat16])
    /// int64 (`<i8`, `I64`) values.
    case int64([Int64])
    /// uint8 (`|u1`, `U8`) values.
    case uint8([UInt8])
  }

  /// The size of each dimension, outermost first.
  public var shape: [Int]
  /// The elements, in row-major order.
  public var elements: Elements

  /// Creates an array; the element count must equal the product of `shape`.
  public init(shape: [Int], elements: Elements) {
    precondition(
      StoredArray.elementCount(of: shape) == elements.count,
      "shape \(shape) does not hold \(elements.count) elements")
    self.shape = shape
    self.elements = elements
  }

  /// Creates a float32 array; `values.count` must equal the product of `shape`.
  public init(shape: [Int], float32 values: [Float]) {
    self.init(shape: shape, elements: .float32(values))
  }

  /// Creates a float64 array; `values.count` must equal the product of `shape`.
  public init(shape: [Int], float64 values: [Double]) {
    self.init(shape: shape, elements: .float64(values))
  }

  #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
    /// Creates a float16 array; `values.count` must equal the product of `shape`.
    public init(shape: [Int], float16 values: [Float16]) {
      self.init(shape: shape, elements: .float16(values))
    }
  #endif

  /// Creates a bfloat16 array; `values.count` must equal the product of `shape`.
  public init(shape: [Int], bfloat16 values: [BFloat16]) {
    self.init(shape: shape, elements: .bfloat16(values))
  }

  /// Creates an int64 array; `values.count` must equal the product of `shape`.
  public init(shape: [Int], int64 values: [Int64]) {
    self.init(shape: shape, elements: .int64(values))
  }

  /// Creates a uint8 array; `values.count` must equal the product of `shape`.
  public init(shape: [Int], uint8 values: [UInt8]) {
    self.init(shape: shape, elements: .uint8(values))
  }

  /// The number of elements.
  public var elementCount: Int { elements.count }

  /// The element type's NumPy (and PyTorch) name: "float32", "float64", "float16",
  /// "bfloat16", "int64" or "uint8".
  public var dtypeName: String { elements.scalarType.numpyName }

  /// The elements if they are float32, without conversion; otherwise nil.
  public func floats() -> [Float]? {
    guard case .float32(let values) = elements else { return nil }
    return values
  }

  /// The elements if they are float64, without conversion; otherwise nil.
  public func doubles() -> [Double]? {
    guard case .float64(let values) = elements else { return nil }
    return values
  }

  /// The elements as Float, exactly, if they are float32, float16 or bfloat16 (the half
  /// types widened); otherwise nil.
  public func floatsWidening() -> [Float]? {
    switch elements {
    case .float32(let values): return values
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      case .float16(let values): return Float16.widened(values)
    #endif
    case .bfloat16(let values): return BFloat16.widened(values)
    case .float64, .int64, .uint8: return nil
    }
  }

  /// Whether the elements are a 16-bit floating-point type (float16 or bfloat16).
  public var isHalfPrecision: Bool { elements.scalarType.byteCount == 2 }

  /// The elements converted to Double, whatever their type (int64 beyond 2^53 rounds).
  public func doublesConverting() -> [Double] {
    switch elements {
    case .float32(let values): values.map(Double.init)
    case .float64(let values): values
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      case .float16(let values): Float16.widened(values).map(Double.init)
    #endif
    case .bfloat16(let values): BFloat16.widened(values).map(Double.init)
    case .int64(let values): values.map(Double.init)
    case .uint8(let values): values.map(Double.init)
    }
  }

  /// The product of `shape`, or nil when a dimension is negative or the product overflows `Int`.
  static func elementCount(of shape: [Int]) -> Int? {
    var product = 1
    for dimension in shape {
      guard dimension >= 0 else { return nil }
      let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
      guard !overflow else { return nil }
      product = next
    }
    return product
  }
}
