import CZlib
import Foundation
import Testing

/// The bytes of an IDX file assembled by hand: 00 00, `type`, the rank, each dimension as a
/// big-endian UInt32, then `values`.
func idxFile(type: UInt8 = 0x08, dimensions: [Int], values: [UInt8]) -> Data {
  var file = Data([0, 0, type, UInt8(dimensions.count)])
  for dimension in dimensions {
    file += (0..<4).reversed().map { UInt8(truncatingIfNeeded: dimension >> (8 * $0)) }
  }
  file += values
  return file
}

/// `members` compressed by zlib's own gzip writer, one gzip member each, concatenated.
///
/// zlib's `gzopen` with mode "ab" appends a new member to the file, which is how `cat a.gz b.gz`
/// files come about.
func gzipped(_ members: [Data]) throws -> Data {
  try withTemporaryDirectory { directory in
    let path = directory.appendingPathComponent("members.gz").path
    for member in members {
      let file = try #require(gzopen(path, "ab"))
      let written = member.withUnsafeBytes { gzwrite(file, $0.baseAddress, UInt32($0.count)) }
      #expect(gzclose(file) == Z_OK)
      #expect(Int(written) == member.count)
    }
    return try Data(contentsOf: URL(fileURLWithPath: path))
  }
}

/// `data` as one gzip member.
func gzipped(_ data: Data) throws -> Data {
  try gzipped([data])
}

/// Runs `body` with a fresh empty directory that is removed afterwards.
func withTemporaryDirectory<Result>(_ body: (URL) throws -> Result) throws -> Result {
  let directory = FileManager.default.temporaryDirectory
    .appendingPathComponent("DatasetsTests-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
  defer { try? FileManager.default.removeItem(at: directory) }
  return try body(directory)
}

/// `count` bytes from a seeded generator.
func randomBytes(_ count: Int, seed: UInt64) -> Data {
  var generator = SplitMix64(seed: seed)
  return Data((0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
}

/// SplitMix64 (Steele, Lea and Flood 2014): a small seeded generator, so tests are reproducible.
struct SplitMix64: RandomNumberGenerator {
  private var state: UInt64

  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

extension Data {
  /// Bytes from hexadecimal digit pairs; whitespace is ignored.
  init(hexadecimal text: String) {
    let digits = text.filter { !$0.isWhitespace }.map { $0.hexDigitValue ?? 0 }
    precondition(digits.count % 2 == 0, "odd number of hexadecimal digits")
    self.init(stride(from: 0, to: digits.count, by: 2).map { UInt8(digits[$0] << 4 | digits[$0 + 1]) })
  }
}
