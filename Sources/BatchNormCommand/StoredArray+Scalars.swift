import BatchNormalization
import FileFormats

extension StoredArray {
  /// The elements as `Scalar`, converting from any stored floating type (exact for
  /// float32 → Float and float64 → Double).
  func scalars<Scalar: BatchNormScalar>(as: Scalar.Type = Scalar.self) -> [Scalar] {
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
