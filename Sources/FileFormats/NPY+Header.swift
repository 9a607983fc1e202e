import Foundation

/// The dict that opens a .npy file, as NumPy writes it:
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
///
/// `descr` is the dtype string (byte order `<`, `>` or `|`, kind, size in bytes),
/// `fortran_order` says whether the data is column-major, and `shape` is a tuple of
/// non-negative integers (`()` for a scalar, `(5,)` for one dimension).
struct NPYHeader {
  var scalarType: ScalarType
  var isBigEndian: Bool
  var shape: [Int]

  /// The dtype strings we read, with the type and byte order each stands for.
  private static let readableDescrs: [String: (type: ScalarType, isBigEndian: Bool)] = [
    "<f4": (.float32, false), ">f4": (.float32, true),
    "<f8": (.float64, false), ">f8": (.float64, true),
    "<f2": (.float16, false), ">f2": (.float16, true),
    "<i8": (.int64, false), ">i8": (.int64, true),
    "|u1": (.uint8, false), "<u1": (.uint8, false), ">u1": (.uint8, false),
  ]

  /// Parses and checks the header `text`; errors name `file`.
  init(parsing text: String, file: String) throws(FileFormatError) {
    func failure(_ problem: String) -> FileFormatError {
      FileFormatError(file: file, problem: problem)
    }
    let shown = FileFormatError.printable(text.trimmingCharacters(in: .whitespacesAndNewlines), limit: 120)
    let literal: PythonLiteral
    do {
      literal = try PythonLiteral(parsing: text)
    } catch {
      throw failure("the header is not a Python dict literal (\(error.reason)): \(shown)")
    }
    guard case .dictionary(let entries) = literal else {
      throw failure("the header is not a Python dict literal: \(shown)")
    }
    for key in ["descr", "fortran_order", "shape"] where entries[key] == nil {
      throw failure("the header has no '\(key)' key: \(shown)")
    }

    switch entries["descr"] {
    case .string(let descr):
      guard let readable = NPYHeader.readableDescrs[descr], readable.type.isAvailable else {
        let name = NPYHeader.typeName(ofDescr: descr).map { " (\($0))" } ?? ""
        let dtype = "'\(FileFormatError.printable(descr))'\(name)"
        throw failure("unsupported dtype \(dtype); supported: \(NPYHeader.supportedNames)")
      }
      (scalarType, isBigEndian) = readable
    case .sequence:
      let dtype = "a structured array (a list of fields)"
      throw failure("unsupported dtype: \(dtype); supported: \(NPYHeader.supportedNames)")
    default:
      throw failure("the header's 'descr' is not a dtype string: \(shown)")
    }

    switch entries["fortran_order"] {
    case .boolean(false): break
    case .boolean(true):
      throw failure("Fortran-ordered arrays are not supported: save with numpy.ascontiguousarray")
    default:
      throw failure("the header's 'fortran_order' is not True or False: \(shown)")
    }

    guard case .sequence(let dimensions) = entries["shape"] else {
      throw failure("the header's 'shape' is not a tuple of integers: \(shown)")
    }
    shape = []
    for case .integer(let dimension) in dimensions { shape.append(dimension) }
    guard shape.count == dimensions.count else {
      throw failure("the header's 'shape' is not a tuple of integers: \(shown)")
    }
    guard shape.allSatisfy({ $0 >= 0 }) else {
      throw failure("the header's shape \(shape) has a negative dimension")
    }
  }

  /// The header text NumPy writes for `array`, before padding.
  static func text(for array: StoredArray) -> String {
    let dimensions = array.shape.map(String.init)
    let shape = dimensions.count == 1 ? "(\(dimensions[0]),)" : "(\(dimensions.joined(separator: ", ")))"
    return "{'descr': '\(array.elements.scalarType.numpyDescr!)', 'fortran_order': False, 'shape': \(shape), }"
  }

  /// "float32, float64, float16, int64, uint8".
  private static var supportedNames: String {
    ScalarType.allCases.filter { $0.numpyDescr != nil && $0.isAvailable }.map(\.numpyName).joined(separator: ", ")
  }

  /// The NumPy name of a dtype string we do not read: "float16" for '<f2', "unicode string"
  /// for '<U5'; nil when the string is not one NumPy would write.
  private static func typeName(ofDescr descr: String) -> String? {
    let body = descr.drop { "<>|=".contains($0) }
    guard let kind = body.first else { return nil }
    let bits = Int(body.dropFirst()).flatMap { (1...64).contains($0) ? $0 * 8 : nil }
    switch kind {
    case "f": return bits.map { "float\($0)" }
    case "i": return bits.map { "int\($0)" }
    case "u": return bits.map { "uint\($0)" }
    case "c": return bits.map { "complex\($0)" }
    case "b": return "bool"
    case "U": return "unicode string"
    case "S", "a": return "byte string"
    case "V": return "raw bytes"
    case "O": return "Python object"
    case "M": return "datetime64"
    case "m": return "timedelta64"
    default: return nil
    }
  }
}

extension ScalarType {
  /// The dtype string NumPy writes for this type on a little-endian machine; nil for
  /// bfloat16, which NumPy lacks.
  var numpyDescr: String? {
    switch self {
    case .float32: "<f4"
    case .float64: "<f8"
    case .float16: "<f2"
    case .bfloat16: nil
    case .int64: "<i8"
    case .uint8: "|u1"
    }
  }
}
