import FileFormats
import Foundation
import Testing

@testable import Datasets

@Suite("Gzip")
struct GzipTests {
  /// `"Batch Normalization\n" × 3` as Python's gzip module writes it, with a file name in the
  /// header (flag FNAME), which zlib's own writer never sets:
  /// python3 -c "import gzip, io; b = io.BytesIO(); f = gzip.GzipFile(filename='greeting.txt',
  ///   mode='wb', fileobj=b, mtime=0); f.write(b'Batch Normalization\n' * 3); f.close();
  ///   print(b.getvalue().hex())"
  static let pythonFixture = Data(
    hexadecimal: """
      1f8b08080000000002ff6772656574696e672e74787400734a2c49ce50f0cb2fca4dccc9ac4a2cc9cccfe37222520c00f3e7c69b3c000000
      """)

  @Test("Decompresses what zlib compressed", arguments: [0, 1, 1000, 300_000])
  func roundTrip(count: Int) throws {
    let original = randomBytes(count, seed: UInt64(count))
    #expect(try Gzip.decompress(gzipped(original), file: "random.gz") == original)
  }

  @Test("Decompresses highly compressible data beyond the first buffer")
  func compressible() throws {
    let original = Data(repeating: 7, count: 5_000_000)
    let compressed = try gzipped(original)
    #expect(compressed.count < 10_000)
    #expect(try Gzip.decompress(compressed, file: "sevens.gz") == original)
  }

  @Test("Concatenated members decompress to the concatenation, as with gunzip")
  func concatenatedMembers() throws {
    let members = [Data("first ".utf8), Data(), randomBytes(70_000, seed: 2), Data("last".utf8)]
    #expect(try Gzip.decompress(gzipped(members), file: "members.gz") == members.reduce(Data(), +))
  }

  @Test("Reads Python's gzip, with a file name in the header")
  func pythonHeader() throws {
    let text = try Gzip.decompress(Self.pythonFixture, file: "greeting.txt.gz")
    #expect(text == Data(String(repeating: "Batch Normalization\n", count: 3).utf8))
  }

  @Test("Reads a Data slice that does not start at index 0")
  func slice() throws {
    let original = Data("sliced".utf8)
    let padded = Data([1, 2, 3]) + (try gzipped(original))
    #expect(try Gzip.decompress(padded.dropFirst(3), file: "slice.gz") == original)
  }

  @Test(
    "Rejects data without the gzip magic",
    arguments: [
      (Data(), "not a gzip stream: the file is empty instead of 1F 8B"),
      (Data([0x1F]), "not a gzip stream: it starts with 1F instead of 1F 8B"),
      (Data("PK\u{3}\u{4}".utf8), "not a gzip stream: it starts with 50 4B instead of 1F 8B"),
    ])
  func notGzip(data: Data, problem: String) {
    #expect(throws: FileFormatError(file: "x.gz", problem: problem)) {
      try Gzip.decompress(data, file: "x.gz")
    }
  }

  @Test("Every cut-short stream is truncated, naming the byte counts")
  func truncated() throws {
    let compressed = try gzipped(randomBytes(2000, seed: 3))
    for length in 2..<compressed.count {
      #expect {
        try Gzip.decompress(compressed.prefix(length), file: "cut.gz")
      } throws: { error in
        let problem = (error as? FileFormatError)?.problem ?? ""
        return problem.hasPrefix("truncated gzip stream: it ends after \(length) bytes, inside a member (")
      }
    }
  }

  @Test(
    "Damaged data is corrupt, with zlib's message",
    arguments: [
      (2, 0x07, "corrupt gzip data: unknown compression method"),
      (3, 0xE0, "corrupt gzip data: unknown header flags set"),
      (-8, 0x00, "corrupt gzip data: incorrect data check"),
      (-4, 0xFF, "corrupt gzip data: incorrect length check"),
    ])
  func corrupt(offset: Int, byte: UInt8, problem: String) throws {
    var compressed = try gzipped(Data("Ioffe and Szegedy, 2015".utf8))
    compressed[offset >= 0 ? offset : compressed.count + offset] = byte
    #expect(throws: FileFormatError(file: "damaged.gz", problem: problem)) {
      try Gzip.decompress(compressed, file: "damaged.gz")
    }
  }

  @Test("Bytes after the last member are an error, unless they start another member")
  func trailingBytes() throws {
    let compressed = try gzipped(Data("data".utf8))
    #expect(
      throws: FileFormatError(
        file: "trailing.gz",
        problem: "unexpected data after the gzip stream: 3 bytes that do not start another gzip member")
    ) {
      try Gzip.decompress(compressed + [0, 0, 0], file: "trailing.gz")
    }
    #expect {
      try Gzip.decompress(compressed + [0x1F], file: "trailing.gz")
    } throws: { error in
      (error as? FileFormatError)?.problem.hasPrefix("truncated gzip stream") == true
    }
  }

  @Test("Randomly damaged streams decompress or throw, never crash")
  func damaged() throws {
    let compressed = try gzipped(randomBytes(500, seed: 4) + Data(repeating: 1, count: 500))
    var generator = SplitMix64(seed: 5)
    for _ in 0..<500 {
      var copy = compressed
      for _ in 0..<Int.random(in: 1...3, using: &generator) {
        copy[Int.random(in: 2..<copy.count, using: &generator)] = UInt8.random(in: .min ... .max, using: &generator)
      }
      _ = try? Gzip.decompress(copy, file: "damaged.gz")
    }
  }
}
