/// The element types the file formats store, with their names in each format. NPY has
/// no bfloat16 (NumPy has no such type); safetensors stores all of them.
enum ScalarType: CaseIterable {
  case float32, float64, float16, bfloat16, int64, uint8

  /// The size of one element in bytes.
  var byteCount: Int {
    switch self {
    case .float32: 4
    case .float64: 8
    case .float16, .bfloat16: 2
    case .int64: 8
    case .uint8: 1
    }
  }

  /// The NumPy dtype name, e.g. "float32".
  var numpyName: String {
    switch self {
    case .float32: "float32"
    case .float64: "float64"
    case .float16: "float16"
    case .bfloat16: "bfloat16"
    case .int64: "int64"
    case .uint8: "uint8"
    }
  }

  /// The safetensors dtype name, e.g. "F32".
  var safeTensorsName: String {
    switch self {
    case .float32: "F32"
    case .float64: "F64"
    case .float16: "F16"
    case .bfloat16: "BF16"
    case .int64: "I64"
    case .uint8: "U8"
    }
  }

  /// The type whose safetensors dtype name is `name`, if it is one of ours.
  init?(safeTensorsName name: String) {
    guard let match = ScalarType.allCases.first(where: { $0.safeTensorsName == name && $0.isAvailable }) else {
      return nil
    }
    self = match
  }
}

extension ScalarType {
  /// Whether this platform has the type: Intel Macs have no Float16, so the readers
  /// refuse float16 there.
  var isAvailable: Bool {
    #if (os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64)
      return self != .float16
    #else
      return true
    #endif
  }
}
