import Foundation

/// A JSON document as plain values, decoded with Foundation's `JSONDecoder`.
///
/// Integers that fit in `Int` are `.integer`; other numbers are `.number`.
enum JSONValue: Decodable {
  case object([String: JSONValue])
  case array([JSONValue])
  case string(String)
  case integer(Int)
  case number(Double)
  case boolean(Bool)
  case null

  init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    if container.decodeNil() {
      self = .null
    } else if let value = try? container.decode(Bool.self) {
      self = .boolean(value)
    } else if let value = try? container.decode(Int.self) {
      self = .integer(value)
    } else if let value = try? container.decode(Double.self) {
      self = .number(value)
    } else if let value = try? container.decode(String.self) {
      self = .string(value)
    } else if let value = try? container.decode([JSONValue].self) {
      self = .array(value)
    } else {
      self = .object(try container.decode([String: JSONValue].self))
    }
  }

  /// The integer if this is a non-negative integer.
  var nonNegativeInteger: Int? {
    guard case .integer(let value) = self, value >= 0 else { return nil }
    return value
  }

  /// The elements if this is an array of non-negative integers.
  var nonNegativeIntegers: [Int]? {
    guard case .array(let elements) = self else { return nil }
    let integers = elements.compactMap(\.nonNegativeInteger)
    return integers.count == elements.count ? integers : nil
  }
}

extension String {
  /// The string as a JSON string literal: quoted, with `"`, `\` and control characters escaped.
  var jsonQuoted: String {
    var quoted = "\""
    for scalar in unicodeScalars {
      switch scalar {
      case "\"": quoted += "\\\""
      case "\\": quoted += "\\\\"
      case "\n": quoted += "\\n"
      case "\r": quoted += "\\r"
      case "\t": quoted += "\\t"
      case _ where scalar.value < 0x20:
        let hex = String(scalar.value, radix: 16)
        quoted += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: quoted.unicodeScalars.append(scalar)
      }
    }
    return quoted + "\""
  }
}
