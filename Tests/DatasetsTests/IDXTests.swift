import FileFormats
import Foundation
import Testing

@testable import Datasets

@Suite("IDX")
struct IDXTests {
  @Test(
    "Round trips, plain and gzipped",
    arguments: [[0], [5], [2, 3], [3, 0, 2], [3, 4, 2], [2, 1, 3, 2]], [false, true])
  func roundTrip(dimensions: [Int], compressed: Bool) throws {
    let values = [UInt8](randomBytes(dimensions.reduce(1, *), seed: 1))
    let plain = idxFile(dimensions: dimensions, values: values)
    let bytes = compressed ? try gzipped(plain) : plain
    try withTemporaryDirectory { directory in
      let url = directory.appendingPathComponent(compressed ? "array-idx3-ubyte.gz" : "array-idx3-ubyte")
      try bytes.write(to: url)
      let array = try IDX.read(contentsOf: url)
      #expect(array.dimensions == dimensions)
      #expect(array.values == values)
    }
  }

  @Test("Reads a Data slice that does not start at index 0")
  func slice() throws {
    let file = Data([9, 9]) + idxFile(dimensions: [2, 2], values: [1, 2, 3, 4])
    let array = try IDX.decode(file.dropFirst(2), file: "slice")
    #expect(array.dimensions == [2, 2])
    #expect(array.values == [1, 2, 3, 4])
  }

  /// Broken files and the problem each must report.
  static let brokenFiles: [(name: String, bytes: Data, problem: String)] = [
    ("empty", Data(), "truncated: only 0 bytes, not even the 4-byte IDX magic number"),
    ("3 bytes", Data([0, 0, 8]), "truncated: only 3 bytes, not even the 4-byte IDX magic number"),
    (
      "an NPY file", Data([0x93] + Array("NUMPY".utf8)),
      "not an IDX file: it starts with 93 4E 55 4D instead of 00 00, a type and a rank"
    ),
    (
      "float32 elements", idxFile(type: 0x0D, dimensions: [1], values: [0, 0, 0, 0]),
      "unsupported IDX element type 0x0D (Float32); only 0x08 (unsigned byte) is read"
    ),
    (
      "signed bytes", idxFile(type: 0x09, dimensions: [1], values: [0]),
      "unsupported IDX element type 0x09 (signed byte); only 0x08 (unsigned byte) is read"
    ),
    (
      "an unknown type", idxFile(type: 0x07, dimensions: [1], values: [0]),
      "unsupported IDX element type 0x07 (not an IDX type); only 0x08 (unsigned byte) is read"
    ),
    ("rank 0", idxFile(dimensions: [], values: [7]), "unsupported IDX rank 0; expected 1 to 4 dimensions"),
    (
      "rank 5", idxFile(dimensions: [1, 1, 1, 1, 1], values: [7]),
      "unsupported IDX rank 5; expected 1 to 4 dimensions"
    ),
    (
      "cut-short dimensions", idxFile(dimensions: [60000, 28, 28], values: []).prefix(13),
      "truncated: rank 3 needs 12 bytes of dimensions but only 9 bytes follow the magic number"
    ),
    (
      "too many elements", idxFile(dimensions: [0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF], values: []),
      "the dimensions [4294967295, 4294967295, 4294967295] declare more bytes than a 64-bit integer counts"
    ),
    (
      "cut-short data", idxFile(dimensions: [2, 3], values: [1, 2, 3, 4, 5]),
      "truncated: the dimensions [2, 3] declare 6 bytes of data but only 5 bytes follow"
    ),
    (
      "trailing bytes", idxFile(dimensions: [2, 3], values: [1, 2, 3, 4, 5, 6, 7]),
      "unexpected data after the array: the dimensions [2, 3] declare 6 bytes of data but 7 bytes follow"
    ),
  ]

  @Test("Broken files throw an error naming the file and the values", arguments: brokenFiles)
  func broken(name: String, bytes: Data, problem: String) {
    #expect(throws: FileFormatError(file: "broken-idx", problem: problem)) {
      try IDX.decode(bytes, file: "broken-idx")
    }
  }

  @Test("A gzipped broken file says the counts are after decompression")
  func brokenGzipped() throws {
    let compressed = try gzipped(idxFile(dimensions: [2, 3], values: [1, 2, 3, 4, 5]))
    #expect(
      throws: FileFormatError(
        file: "broken-idx.gz",
        problem: "truncated: the dimensions [2, 3] declare 6 bytes of data but only 5 bytes follow after decompression")
    ) {
      try IDX.decode(compressed, file: "broken-idx.gz")
    }
  }

  @Test("A gzip bomb is refused after the bytes its header declares, never inflated whole")
  func gzipBomb() throws {
    // 10 labels declared, then 64 MiB of zeros: about 64 kB compressed.
    let bomb = try gzipped(idxFile(dimensions: [10], values: [UInt8](repeating: 0, count: 64 << 20)))
    #expect(bomb.count < 200_000)
    #expect(
      throws: FileFormatError(
        file: "bomb.gz",
        problem: "unexpected data after the array: the dimensions [10] declare 10 bytes of data but more follow after decompression")
    ) {
      try IDX.decode(bomb, file: "bomb.gz")
    }
    // The decompressor stops one byte past its limit.
    let (bytes, isComplete) = try Gzip.decompress(bomb, file: "bomb.gz", limit: 1000)
    #expect(bytes.count == 1000 && !isComplete)
    let (whole, wholeIsComplete) = try Gzip.decompress(try gzipped(Data([1, 2, 3])), file: "small.gz", limit: 3)
    #expect(whole == Data([1, 2, 3]) && wholeIsComplete)
  }

  @Test(
    "A header that declares more than memory holds is refused before reading on",
    arguments: [
      ([100_000, 100_000, 100_000], "the dimensions [100000, 100000, 100000] declare 1000000000000000 bytes of data, more than this machine's"),
      ([4_294_967_295, 4_294_967_295], "the dimensions [4294967295, 4294967295] declare more bytes than a 64-bit integer counts"),
    ])
  func hugeHeader(dimensions: [Int], message: String) throws {
    for file in [idxFile(dimensions: dimensions, values: [1, 2, 3]), try gzipped(idxFile(dimensions: dimensions, values: [1, 2, 3]))] {
      let error = #expect(throws: FileFormatError.self) { try IDX.decode(file, file: "huge") }
      #expect(error?.problem.hasPrefix(message) == true, "\(String(describing: error))")
    }
  }

  @Test("A corrupt gzip stream is a gzip error naming the file")
  func corruptGzip() throws {
    let compressed = try gzipped(idxFile(dimensions: [4], values: [1, 2, 3, 4]))
    #expect(
      throws: FileFormatError(
        file: "labels-idx1-ubyte.gz",
        problem: "truncated gzip stream: it ends after 20 bytes, inside a member (9 bytes decompressed)")
    ) {
      try IDX.decode(compressed.prefix(20), file: "labels-idx1-ubyte.gz")
    }
  }

  @Test("A missing file is an error naming its path")
  func missing() {
    let url = URL(fileURLWithPath: "/nonexistent/train-images-idx3-ubyte")
    #expect(throws: FileFormatError(file: url.path, problem: "no such file")) {
      try IDX.read(contentsOf: url)
    }
  }
}
