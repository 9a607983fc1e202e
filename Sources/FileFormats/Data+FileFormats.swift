import Foundation

extension Data {
  /// The contents of the file at `url`, or an error naming its path ("no such file", or why not).
  package static func contents(of url: URL) throws(FileFormatError) -> Data {
    do {
      return try Data(contentsOf: url)
    } catch let error as CocoaError where error.code == .fileReadNoSuchFile {
      throw FileFormatError(file: url.path, problem: "no such file")
    } catch {
      let reason =
        ((error as NSError).userInfo[NSUnderlyingErrorKey] as? POSIXError)
        .map { String(cString: strerror($0.code.rawValue)) } ?? error.localizedDescription
      throw FileFormatError(file: url.path, problem: "cannot read: \(reason)")
    }
  }

  /// The bytes at `offsets`, counted from the first byte whatever `startIndex` is;
  /// nil when the range is not inside the data.
  func bytes(at offsets: Range<Int>) -> Data? {
    guard offsets.lowerBound >= 0, offsets.upperBound <= count else { return nil }
    return self[(startIndex + offsets.lowerBound)..<(startIndex + offsets.upperBound)]
  }

  /// The unsigned integer stored little-endian at byte `offset`; nil when the data is too short.
  func littleEndian<Integer: FixedWidthInteger & UnsignedInteger>(
    _: Integer.Type, at offset: Int
  ) -> Integer? {
    let size = MemoryLayout<Integer>.size
    guard let bytes = bytes(at: offset..<(offset + size)) else { return nil }
    return bytes.reversed().reduce(0) { value, byte in value << 8 | Integer(byte) }
  }

  /// Appends `value` as little-endian bytes.
  mutating func appendLittleEndian<Integer: FixedWidthInteger>(_ value: Integer) {
    for shift in stride(from: 0, to: Integer.bitWidth, by: 8) { append(UInt8(truncatingIfNeeded: value >> shift)) }
  }
}
