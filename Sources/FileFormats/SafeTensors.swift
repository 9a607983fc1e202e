import Foundation

/// The safetensors format: named tensors and string metadata in one file.
///
/// Layout: an 8-byte little-endian UInt64 N, N bytes of UTF-8 JSON header, then the data
/// buffer. The header maps each tensor name to
/// `{"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}` (byte offsets into the
/// buffer, end exclusive) and may hold `"__metadata__": {"key": "value"}`. Tensors are
/// row-major and little-endian, and together they cover the buffer exactly, without gaps or
/// overlaps. Writing orders the tensors by name, packs their data in that order, and pads the
/// header with spaces to a multiple of 8 bytes, as the reference implementation does.
///
/// Reference: https://github.com/huggingface/safetensors
public struct SafeTensors: Equatable, Sendable {
  /// The tensors by name, e.g. PyTorch state_dict keys such as `bn1.running_var`.
  public var tensors: [String: StoredArray]
  /// Free-form string metadata (`__metadata__` in the header), e.g. `["format": "pt"]`.
  public var metadata: [String: String]

  /// The header key that holds the metadata instead of a tensor.
  static let metadataKey = "__metadata__"

  /// Creates a file's contents from tensors and metadata.
  public init(tensors: [String: StoredArray] = [:], metadata: [String: String] = [:]) {
    self.tensors = tensors
    self.metadata = metadata
  }

  /// Reads tensors and metadata from the bytes of a safetensors file; errors name `file`.
  public static func decode(_ data: Data, file: String) throws(FileFormatError) -> SafeTensors {
    guard let declaredLength = data.littleEndian(UInt64.self, at: 0) else {
      throw FileFormatError(
        file: file,
        problem: "not a safetensors file: only \(data.count) bytes, less than the 8-byte header length")
    }
    let available = data.count - 8
    guard declaredLength <= UInt64(available) else {
      throw FileFormatError(
        file: file,
        problem: "the header length is \(declaredLength) bytes but only \(available) bytes follow it")
    }
    // In range: 8 + declaredLength <= data.count was just checked.
    let headerEnd = data.startIndex + 8 + Int(declaredLength)
    let header = data[(data.startIndex + 8)..<headerEnd]
    let buffer = data[headerEnd...]
    let (entries, metadata) = try parseHeader(header, bufferCount: buffer.count, file: file)

    var tensors: [String: StoredArray] = [:]
    for entry in entries {
      // In range: `SafeTensorsEntry` checked that its offsets lie inside the buffer.
      let bytes = buffer[(headerEnd + entry.offsets.lowerBound)..<(headerEnd + entry.offsets.upperBound)]
      let elements = StoredArray.Elements(
        entry.scalarType, count: entry.elementCount, from: bytes, bigEndian: false)
      tensors[entry.name] = StoredArray(shape: entry.shape, elements: elements)
    }
    return SafeTensors(tensors: tensors, metadata: metadata)
  }

  /// Reads the safetensors file at `url`; errors name its path.
  public static func read(contentsOf url: URL) throws(FileFormatError) -> SafeTensors {
    try decode(Data.contents(of: url), file: url.path)
  }

  /// The file's bytes: tensors in name order, header padded with spaces to a multiple of 8.
  public func encode() -> Data {
    precondition(
      tensors[Self.metadataKey] == nil,
      "'\(Self.metadataKey)' holds the metadata in a safetensors header; it cannot name a tensor")
    var fields: [String] = []
    if !metadata.isEmpty {
      let pairs = metadata.sorted { $0.key < $1.key }.map { "\($0.key.jsonQuoted):\($0.value.jsonQuoted)" }
      fields.append("\(Self.metadataKey.jsonQuoted):{\(pairs.joined(separator: ","))}")
    }
    var buffer = Data()
    for (name, array) in tensors.sorted(by: { $0.key < $1.key }) {
      precondition(
        StoredArray.elementCount(of: array.shape) == array.elementCount,
        "tensor '\(name)': shape \(array.shape) does not hold \(array.elementCount) elements")
      let begin = buffer.count
      buffer += array.elements.littleEndianBytes
      let dtype = array.elements.scalarType.safeTensorsName
      let shape = array.shape.map(String.init).joined(separator: ",")
      let entry = #"{"dtype":"\#(dtype)","shape":[\#(shape)],"data_offsets":[\#(begin),\#(buffer.count)]}"#
      fields.append("\(name.jsonQuoted):\(entry)")
    }
    var header = Array("{\(fields.joined(separator: ","))}".utf8)
    header += repeatElement(0x20, count: (8 - header.count % 8) % 8)
    var data = Data(capacity: 8 + header.count + buffer.count)
    data.appendLittleEndian(UInt64(header.count))
    data += header
    data += buffer
    return data
  }

  /// Writes the file to `url`, atomically (see `AtomicFile`).
  public func write(to url: URL) throws(FileFormatError) {
    try AtomicFile.write(encode(), to: url)
  }
}
