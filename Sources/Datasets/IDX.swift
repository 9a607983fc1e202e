import ComputeRuntime
import FileFormats
import Foundation

/// An array read from an IDX file, the format of the MNIST and Fashion-MNIST data sets.
///
/// Layout: two zero bytes, a type byte, a rank byte (the number of dimensions), each dimension
/// as a big-endian UInt32, then the elements in row-major order. The type codes are 0x08
/// unsigned byte, 0x09 signed byte, 0x0B Int16, 0x0C Int32, 0x0D Float32 and 0x0E Float64;
/// only 0x08 is read, which is what MNIST's images and labels use. Images are
/// `[count, height, width]` and labels `[count]`.
///
/// A file that starts with the gzip magic bytes 1F 8B is decompressed first, so
/// `train-images-idx3-ubyte` and `train-images-idx3-ubyte.gz` read alike.
///
/// Reference: http://yann.lecun.com/exdb/mnist/ ("FILE FORMATS FOR THE MNIST DATABASE").
public struct IDX: Equatable, Sendable {
  /// The size of each dimension, outermost first: 1 to 4 of them.
  public let dimensions: [Int]
  /// The elements in row-major order: the product of `dimensions` of them.
  public let values: [UInt8]

  /// The most dimensions a file may declare.
  static let maximumRank = 4

  /// Reads an array from the bytes of an IDX file, gzipped or not; errors name `file`.
  ///
  /// A gzipped file is decompressed in two steps: its header first, then exactly the
  /// bytes the header declares (when they fit in memory), so a small file that inflates
  /// to gigabytes is refused without being inflated.
  public static func decode(_ data: Data, file: String) throws(FileFormatError) -> IDX {
    guard Gzip.isCompressed(data) else {
      let header = try Header(data, file: file, after: "")
      return try header.array(in: data, file: file, after: "")
    }
    let after = " after decompression"
    let header = try Header(
      try Gzip.decompress(data, file: file, limit: 4 + 4 * maximumRank).bytes, file: file, after: after)
    let size = header.dataStart + header.elementCount  // cannot overflow: elementCount fits in memory
    let (bytes, isComplete) = try Gzip.decompress(data, file: file, limit: size)
    guard isComplete else {
      throw FileFormatError(
        file: file,
        problem: "unexpected data after the array: the dimensions \(header.dimensions) declare \(header.elementCount) bytes of data but more follow\(after)")
    }
    return try header.array(in: bytes, file: file, after: after)
  }

  /// The magic number, the type, the rank and the dimensions, checked.
  private struct Header {
    let dimensions: [Int]
    let dataStart: Int
    let elementCount: Int

    /// Reads the header at the start of `bytes`, which may hold only its start.
    init(_ bytes: Data, file: String, after: String) throws(FileFormatError) {
      func failure(_ problem: String) -> FileFormatError {
        FileFormatError(file: file, problem: problem)
      }
      guard bytes.count >= 4 else {
        throw failure("truncated: only \(bytes.count) bytes\(after), not even the 4-byte IDX magic number")
      }
      let start = bytes.startIndex
      let (type, rank) = (bytes[start + 2], bytes[start + 3])
      guard bytes[start] == 0, bytes[start + 1] == 0 else {
        let found = FileFormatError.hexadecimal(bytes.prefix(4))
        throw failure("not an IDX file: it starts with \(found)\(after) instead of 00 00, a type and a rank")
      }
      guard type == 0x08 else {
        throw failure("unsupported IDX element type \(IDX.typeDescription(type)); only 0x08 (unsigned byte) is read")
      }
      guard (1...IDX.maximumRank).contains(Int(rank)) else {
        throw failure("unsupported IDX rank \(rank); expected 1 to \(IDX.maximumRank) dimensions")
      }
      dataStart = 4 + 4 * Int(rank)
      guard bytes.count >= dataStart else {
        throw failure(
          "truncated: rank \(rank) needs \(4 * Int(rank)) bytes of dimensions but only \(bytes.count - 4) bytes follow the magic number\(after)"
        )
      }
      dimensions = (0..<Int(rank)).map { index in
        let offset = start + 4 + 4 * index
        return bytes[offset..<(offset + 4)].reduce(0) { value, byte in value << 8 | Int(byte) }
      }
      guard let count = MemoryBudget.product(dimensions) else {
        throw failure("the dimensions \(dimensions) declare more bytes than a 64-bit integer counts")
      }
      guard MemoryBudget.fits(count, bytesPerValue: 1) else {
        throw failure("the dimensions \(dimensions) declare \(count) bytes of data, \(MemoryBudget.limitDescription)")
      }
      elementCount = count
    }

    /// The array of `bytes`, which must hold the header and exactly the declared data.
    func array(in bytes: Data, file: String, after: String) throws(FileFormatError) -> IDX {
      let available = bytes.count - dataStart
      let declared = "the dimensions \(dimensions) declare \(elementCount) bytes of data"
      guard available >= elementCount else {
        throw FileFormatError(file: file, problem: "truncated: \(declared) but only \(available) bytes follow\(after)")
      }
      guard available == elementCount else {
        throw FileFormatError(file: file, problem: "unexpected data after the array: \(declared) but \(available) bytes follow\(after)")
      }
      return IDX(dimensions: dimensions, values: [UInt8](bytes.dropFirst(dataStart)))
    }
  }

  /// Reads the IDX file at `url`, gzipped or not; errors name its path.
  public static func read(contentsOf url: URL) throws(FileFormatError) -> IDX {
    try decode(Data.contents(of: url), file: url.path)
  }

  /// "0x0D (Float32)" for 0x0D.
  private static func typeDescription(_ type: UInt8) -> String {
    let name =
      switch type {
      case 0x09: "signed byte"
      case 0x0B: "Int16"
      case 0x0C: "Int32"
      case 0x0D: "Float32"
      case 0x0E: "Float64"
      default: "not an IDX type"
      }
    return "0x" + FileFormatError.hexadecimal([type]) + " (\(name))"
  }
}
