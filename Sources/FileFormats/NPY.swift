import Foundation

/// The NumPy `.npy` format: one array per file.
///
/// Layout: the magic string `\x93NUMPY`, a major and a minor version byte, the header length
/// (little-endian UInt16 in version 1.0, UInt32 in 2.0 and 3.0), the header (a Python dict
/// literal, see `NPYHeader`; Latin-1 in 1.0 and 2.0, UTF-8 in 3.0) padded with spaces and a
/// final `\n` so that the data starts on a 64-byte boundary, then the elements in row-major
/// order. Reading accepts versions 1.0, 2.0 and 3.0; writing produces exactly NumPy's bytes:
/// version 1.0, or 2.0 when the header needs more than 65535 bytes.
///
/// Reference: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
public enum NPY {
  /// `\x93NUMPY`.
  private static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
  /// The data starts at a multiple of this many bytes.
  private static let alignment = 64
  /// NumPy pads the header so that the first dimension can grow to this many digits in place.
  private static let growthDigits = 21

  /// Reads an array from the bytes of a .npy file; errors name `file`.
  public static func decode(_ data: Data, file: String) throws(FileFormatError) -> StoredArray {
    func failure(_ problem: String) -> FileFormatError {
      FileFormatError(file: file, problem: problem)
    }
    guard data.starts(with: magic) else {
      if magic.starts(with: data) {
        throw failure("truncated: only \(data.count) bytes, not even the magic string \\x93NUMPY")
      }
      let found = FileFormatError.hexadecimal(data.prefix(magic.count))
      let zip = data.starts(with: [0x50, 0x4B, 0x03, 0x04]) ? " (a ZIP archive: an .npz file?)" : ""
      throw failure("not a .npy file: it starts with \(found) instead of \\x93NUMPY\(zip)")
    }
    guard let version = data.bytes(at: 6..<8).map(Array.init) else {
      throw failure("truncated: only \(data.count) bytes, no version after the magic string")
    }
    let lengthFieldSize: Int
    switch (version[0], version[1]) {
    case (1, 0): lengthFieldSize = 2
    case (2, 0), (3, 0): lengthFieldSize = 4
    default:
      throw failure("unsupported .npy format version \(version[0]).\(version[1]); supported: 1.0, 2.0, 3.0")
    }
    let headerStart = 8 + lengthFieldSize
    let declaredLength =
      lengthFieldSize == 2
      ? data.littleEndian(UInt16.self, at: 8).map(Int.init)
      : data.littleEndian(UInt32.self, at: 8).map(Int.init)
    guard let headerLength = declaredLength else {
      throw failure("truncated: only \(data.count) bytes, no header length after the version")
    }
    guard let headerBytes = data.bytes(at: headerStart..<(headerStart + headerLength)) else {
      let available = data.count - headerStart
      throw failure("truncated: the header length is \(headerLength) bytes but only \(available) bytes follow")
    }
    let text: String
    if version[0] == 3 {
      guard let utf8 = String(validating: headerBytes, as: UTF8.self) else {
        throw failure("the header is not valid UTF-8")
      }
      text = utf8
    } else {
      // Latin-1: each byte is the Unicode scalar with the same value.
      text = String(String.UnicodeScalarView(headerBytes.map { Unicode.Scalar($0) }))
    }
    let header = try NPYHeader(parsing: text, file: file)

    let type = header.scalarType
    guard let count = StoredArray.elementCount(of: header.shape),
      case (let byteCount, false) = count.multipliedReportingOverflow(by: type.byteCount)
    else {
      throw failure("the header's shape \(header.shape) has more elements than memory can hold")
    }
    let dataStart = headerStart + headerLength
    let available = data.count - dataStart
    let declared = "the header declares shape \(header.shape) of \(type.numpyName) (\(byteCount) bytes)"
    guard available >= byteCount else {
      throw failure("truncated: \(declared) but only \(available) bytes of data follow")
    }
    guard available == byteCount, let body = data.bytes(at: dataStart..<data.count) else {
      throw failure("unexpected data after the array: \(declared) but \(available) bytes follow")
    }
    let elements = StoredArray.Elements(type, count: count, from: body, bigEndian: header.isBigEndian)
    return StoredArray(shape: header.shape, elements: elements)
  }

  /// Reads the .npy file at `url`; errors name its path.
  public static func read(contentsOf url: URL) throws(FileFormatError) -> StoredArray {
    try decode(Data.contents(of: url), file: url.path)
  }

  /// The bytes NumPy's `numpy.save` writes for `array` (little-endian).
  /// - Precondition: the array is not bfloat16, which NumPy lacks (``canStore(_:)``).
  public static func encode(_ array: StoredArray) -> Data {
    precondition(canStore(array), "NumPy has no bfloat16: store it as safetensors")
    precondition(
      StoredArray.elementCount(of: array.shape) == array.elementCount,
      "shape \(array.shape) does not hold \(array.elementCount) elements")
    var header = Array(NPYHeader.text(for: array).utf8)
    if let first = array.shape.first {
      header += repeatElement(0x20, count: max(0, growthDigits - String(first).count))
    }
    var data = Data(magic)
    let version1Length = paddedHeaderLength(header.count, lengthFieldSize: 2)
    let headerLength: Int
    if version1Length <= Int(UInt16.max) {
      headerLength = version1Length
      data += [1, 0]
      data.appendLittleEndian(UInt16(headerLength))
    } else {
      headerLength = paddedHeaderLength(header.count, lengthFieldSize: 4)
      data += [2, 0]
      data.appendLittleEndian(UInt32(headerLength))
    }
    data += header
    data += repeatElement(0x20, count: headerLength - header.count - 1)
    data.append(0x0A)
    data += array.elements.littleEndianBytes
    return data
  }

  /// Writes `array` to `url` as a .npy file, atomically (see `AtomicFile`).
  /// - Throws: for a bfloat16 array (NumPy has no bfloat16; write safetensors instead),
  ///   or when the file cannot be written.
  public static func write(_ array: StoredArray, to url: URL) throws(FileFormatError) {
    guard canStore(array) else {
      throw FileFormatError(file: url.path, problem: "NumPy has no bfloat16: write a .safetensors file instead")
    }
    try AtomicFile.write(encode(array), to: url)
  }

  /// Whether an .npy file can hold `array`'s element type (every type but bfloat16).
  public static func canStore(_ array: StoredArray) -> Bool {
    array.elements.scalarType.numpyDescr != nil
  }

  /// The header length with NumPy's padding: `count` bytes, then 1 to 64 spaces and a `\n`,
  /// so that the data starts at a multiple of `alignment`.
  private static func paddedHeaderLength(_ count: Int, lengthFieldSize: Int) -> Int {
    let unpadded = magic.count + 2 + lengthFieldSize + count + 1
    return count + 1 + alignment - unpadded % alignment
  }
}
