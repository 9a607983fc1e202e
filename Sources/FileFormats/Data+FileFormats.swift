import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

extension Data {
  /// The contents of the file at `url`, or an error naming its path ("no such file", or why not).
  /// A pipe, `/dev/stdin` or a device is read to its end.
  package static func contents(of url: URL) throws(FileFormatError) -> Data {
    var status = stat()
    if stat(url.path, &status) == 0 {
      let type = status.st_mode & S_IFMT
      if type == S_IFDIR { throw FileFormatError(file: url.path, problem: "is a directory, not a file") }
      if type != S_IFREG { return try readToEnd(url) }
    }
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

  /// Everything a pipe or a device at `url` gives until its end.
  private static func readToEnd(_ url: URL) throws(FileFormatError) -> Data {
    guard let handle = FileHandle(forReadingAtPath: url.path) else {
      throw FileFormatError(file: url.path, problem: "cannot open for reading: \(String(cString: strerror(errno)))")
    }
    defer { try? handle.close() }
    do {
      return try handle.readToEnd() ?? Data()
    } catch {
      throw FileFormatError(file: url.path, problem: "cannot read: \(error.localizedDescription)")
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
