import BatchNormalization
import FileFormats
import HalfPrecision

extension StoredArray {
  /// The elements as `Scalar`, converting from any stored floating type (exact for
  /// float32, float16 and bfloat16 → Float and float64 → Double).
  func scalars<Scalar: BatchNormScalar>(as: Scalar.Type = Scalar.self) -> [Scalar] {
    if Scalar.self == Float.self, let floats = floatsWidening() { return floats as! [Scalar] }
    switch elements {
    case .float32(let values): return values as? [Scalar] ?? values.map { Scalar($0) }
    case .float64(let values): return values as? [Scalar] ?? values.map { Scalar($0) }
    default: return doublesConverting().map { Scalar($0) }
    }
  }

  /// An array of `values` stored as float32 for Float and float64 for Double.
  init<Scalar: BatchNormScalar>(shape: [Int], scalars values: [Scalar]) {
    if let floats = values as? [Float] {
      self.init(shape: shape, float32: floats)
    } else {
      self.init(shape: shape, float64: values.map { Double($0) })
    }
  }
}

extension StoredArray {
  /// `values` rounded once to the element type of `like` when that is float16 or
  /// bfloat16 (the input's type for per-value outputs); otherwise as ``init(shape:scalars:)``.
  init<Scalar: BatchNormScalar>(shape: [Int], scalars values: [Scalar], storedLike like: StoredArray) {
    switch like.elements {
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      case .float16: self.init(shape: shape, float16: Float16.narrowed(values.map { Float($0) }))
    #endif
    case .bfloat16: self.init(shape: shape, bfloat16: BFloat16.narrowed(values.map { Float($0) }))
    default: self.init(shape: shape, scalars: values)
    }
  }
}
