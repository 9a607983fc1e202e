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
  public static func decode(_ data: Data, file: String) throws(FileFormatError) -> IDX {
    let compressed = Gzip.isCompressed(data)
    let bytes = compressed ? try Gzip.decompress(data, file: file) : data
    let after = compressed ? " after decompression" : ""
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
      throw failure("unsupported IDX element type \(typeDescription(type)); only 0x08 (unsigned byte) is read")
    }
    guard (1...maximumRank).contains(Int(rank)) else {
      throw failure("unsupported IDX rank \(rank); expected 1 to \(maximumRank) dimensions")
    }
    let dataStart = 4 + 4 * Int(rank)
    guard bytes.count >= dataStart else {
      throw failure(
        "truncated: rank \(rank) needs \(4 * Int(rank)) bytes of dimensions but only \(bytes.count - 4) bytes follow the magic number\(after)"
      )
    }
    let dimensions = (0..<Int(rank)).map { index in
      let offset = start + 4 + 4 * index
      return bytes[offset..<(offset + 4)].reduce(0) { value, byte in value << 8 | Int(byte) }
    }
    var elementCount = 1
    for dimension in dimensions {
      let (product, overflow) = elementCount.multipliedReportingOverflow(by: dimension)
      guard !overflow else {
        throw failure("the dimensions \(dimensions) hold more elements than memory can hold")
      }
      elementCount = product
    }
    let available = bytes.count - dataStart
    let declared = "the dimensions \(dimensions) declare \(elementCount) bytes of data"
    guard available >= elementCount else {
      throw failure("truncated: \(declared) but only \(available) bytes follow\(after)")
    }
    guard available == elementCount else {
      throw failure("unexpected data after the array: \(declared) but \(available) bytes follow\(after)")
    }
    return IDX(dimensions: dimensions, values: [UInt8](bytes.dropFirst(dataStart)))
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
