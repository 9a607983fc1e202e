import Foundation

/// One tensor's entry in a safetensors header, checked:
/// `{"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}`.
struct SafeTensorsEntry {
  var name: String
  var scalarType: ScalarType
  var shape: [Int]
  /// The tensor's bytes in the data buffer; inside the buffer, and as long as the shape needs.
  var offsets: Range<Int>
  /// The number of elements, the product of `shape`.
  var elementCount: Int

  /// Checks the entry `value` for tensor `name` against a buffer of `bufferCount` bytes.
  init(name: String, value: JSONValue, bufferCount: Int, file: String) throws(FileFormatError) {
    let tensor = "tensor '\(FileFormatError.printable(name))'"
    func failure(_ problem: String) -> FileFormatError {
      FileFormatError(file: file, problem: "\(tensor) \(problem)")
    }
    guard case .object(let fields) = value else { throw failure("is not a JSON object") }
    for key in ["dtype", "shape", "data_offsets"] where fields[key] == nil {
      throw failure("has no \(key)")
    }
    guard case .string(let dtype) = fields["dtype"] else {
      throw failure("has a dtype that is not a string")
    }
    guard let shape = fields["shape"]?.nonNegativeIntegers else {
      throw failure("has a shape that is not a list of non-negative integers")
    }
    guard let offsets = fields["data_offsets"]?.nonNegativeIntegers, offsets.count == 2 else {
      throw failure("has data_offsets that are not two non-negative integers")
    }
    guard let type = ScalarType(safeTensorsName: dtype) else {
      let supported = ScalarType.allCases.filter(\.isAvailable).map(\.safeTensorsName).joined(separator: ", ")
      throw failure("has dtype \(FileFormatError.printable(dtype)); supported: \(supported)")
    }
    let (begin, end) = (offsets[0], offsets[1])
    guard begin <= end else {
      throw failure("has data_offsets [\(begin), \(end)]: the end is before the beginning")
    }
    guard end <= bufferCount else {
      throw failure("has data_offsets [\(begin), \(end)] beyond the data buffer (\(bufferCount) bytes)")
    }
    guard let count = StoredArray.elementCount(of: shape),
      case (let byteCount, false) = count.multipliedReportingOverflow(by: type.byteCount)
    else {
      throw failure("has shape \(shape), more elements than memory can hold")
    }
    guard byteCount == end - begin else {
      let offsets = "data_offsets [\(begin), \(end)] span \(end - begin) bytes"
      throw failure("has shape \(shape) of \(dtype) (\(byteCount) bytes) but \(offsets)")
    }
    self.name = name
    self.scalarType = type
    self.shape = shape
    self.offsets = begin..<end
    self.elementCount = count
  }
}

extension SafeTensors {
  /// Parses the JSON header: the tensor entries, checked to cover a buffer of `bufferCount`
  /// bytes exactly, and the metadata.
  static func parseHeader(
    _ bytes: Data, bufferCount: Int, file: String
  ) throws(FileFormatError) -> (entries: [SafeTensorsEntry], metadata: [String: String]) {
    func failure(_ problem: String) -> FileFormatError {
      FileFormatError(file: file, problem: problem)
    }
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw failure("the header is not valid UTF-8")
    }
    let shown = FileFormatError.printable(text.trimmingCharacters(in: .whitespaces))
    guard let json = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else {
      throw failure("the header is not valid JSON: \(shown)")
    }
    guard case .object(let fields) = json else {
      throw failure("the header is not a JSON object: \(shown)")
    }

    var metadata: [String: String] = [:]
    switch fields[metadataKey] {
    case nil, .null:
      break
    case .object(let pairs):
      for (key, value) in pairs.sorted(by: { $0.key < $1.key }) {
        guard case .string(let string) = value else {
          throw failure("the \(metadataKey) value of '\(FileFormatError.printable(key))' is not a string")
        }
        metadata[key] = string
      }
    default:
      throw failure("the \(metadataKey) entry is not a JSON object")
    }

    var entries: [SafeTensorsEntry] = []
    for (name, value) in fields.sorted(by: { $0.key < $1.key }) where name != metadataKey {
      entries.append(try SafeTensorsEntry(name: name, value: value, bufferCount: bufferCount, file: file))
    }
    try checkCoverage(of: &entries, bufferCount: bufferCount, file: file)
    return (entries, metadata)
  }

  /// Sorts `entries` by offset and checks that they cover the buffer without gaps or overlaps.
  private static func checkCoverage(
    of entries: inout [SafeTensorsEntry], bufferCount: Int, file: String
  ) throws(FileFormatError) {
    entries.sort { first, second in
      (first.offsets.lowerBound, first.offsets.upperBound, first.name)
        < (second.offsets.lowerBound, second.offsets.upperBound, second.name)
    }
    var covered = 0
    var previous: SafeTensorsEntry?
    for entry in entries {
      if entry.offsets.lowerBound > covered {
        throw uncovered(covered..<entry.offsets.lowerBound, file: file)
      }
      if entry.offsets.lowerBound < covered, let previous {
        let first = "'\(FileFormatError.printable(previous.name))' \(describe(previous.offsets))"
        let second = "'\(FileFormatError.printable(entry.name))' \(describe(entry.offsets))"
        throw FileFormatError(file: file, problem: "tensors \(first) and \(second) overlap")
      }
      covered = entry.offsets.upperBound
      previous = entry
    }
    if covered < bufferCount {
      throw uncovered(covered..<bufferCount, file: file)
    }
  }

  private static func uncovered(_ range: Range<Int>, file: String) -> FileFormatError {
    FileFormatError(
      file: file,
      problem: "bytes \(range.lowerBound)..<\(range.upperBound) of the data buffer belong to no tensor")
  }

  /// "[0, 24]", as data_offsets are written.
  private static func describe(_ offsets: Range<Int>) -> String {
    "[\(offsets.lowerBound), \(offsets.upperBound)]"
  }
}
