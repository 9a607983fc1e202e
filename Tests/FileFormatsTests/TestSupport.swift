import Foundation
import HalfPrecision
import Testing

@testable import FileFormats

extension Data {
  /// Bytes from hexadecimal digit pairs; whitespace is ignored.
  init(hexadecimal text: String) {
    let digits = text.filter { !$0.isWhitespace }.map { $0.hexDigitValue ?? 0 }
    precondition(digits.count % 2 == 0, "odd number of hexadecimal digits")
    self.init(stride(from: 0, to: digits.count, by: 2).map { UInt8(digits[$0] << 4 | digits[$0 + 1]) })
  }
}

/// A .npy file assembled by hand: magic, version, length field, `header` verbatim, `data`.
func npyFile(header: String, version: (major: UInt8, minor: UInt8) = (1, 0), data: [UInt8] = []) -> Data {
  var file = Data([0x93] + Array("NUMPY".utf8) + [version.major, version.minor])
  let headerBytes = Array(header.utf8)
  let lengthBytes = version.major == 1 ? 2 : 4
  file += (0..<lengthBytes).map { UInt8(truncatingIfNeeded: headerBytes.count >> (8 * $0)) }
  file += headerBytes
  file += data
  return file
}

/// A safetensors file assembled by hand: the 8-byte length of `header`, `header` verbatim, `buffer`.
func safeTensorsFile(header: String, buffer: [UInt8] = []) -> Data {
  let headerBytes = Array(header.utf8)
  var file = Data((0..<8).map { UInt8(truncatingIfNeeded: headerBytes.count >> (8 * $0)) })
  file += headerBytes
  file += buffer
  return file
}

/// Runs `body` with a fresh empty directory that is removed afterwards.
func withTemporaryDirectory(_ body: (URL) throws -> Void) throws {
  let directory = FileManager.default.temporaryDirectory
    .appendingPathComponent("FileFormatsTests-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
  defer { try? FileManager.default.removeItem(at: directory) }
  try body(directory)
}

/// The names in `directory`, sorted.
func contents(of directory: URL) throws -> [String] {
  try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
}

/// SplitMix64 (Steele, Lea and Flood 2014): a small seeded generator, so tests are reproducible.
struct SeededGenerator: RandomNumberGenerator {
  var state: UInt64

  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// An element type, as a test argument.
enum DType: String, CaseIterable, Sendable {
  case float32, float64, float16, bfloat16, int64, uint8

  /// The types an .npy file holds (NumPy has no bfloat16).
  static let numpyTypes = allCases.filter { $0 != .bfloat16 }
}

/// An array of `dtype` and `shape` with seeded random values (negative ones included).
func randomArray(_ dtype: DType, shape: [Int], seed: UInt64 = 1) -> StoredArray {
  var generator = SeededGenerator(seed: seed)
  let count = shape.reduce(1, *)
  switch dtype {
  case .float32:
    return StoredArray(shape: shape, float32: (0..<count).map { _ in Float.random(in: -1e3...1e3, using: &generator) })
  case .float64:
    return StoredArray(shape: shape, float64: (0..<count).map { _ in Double.random(in: -1e3...1e3, using: &generator) })
  case .float16:  // random bit patterns: subnormals and infinities too, NaN made finite (NaN ≠ NaN)
    return StoredArray(shape: shape, float16: (0..<count).map { _ in
      let bits = UInt16.random(in: .min ... .max, using: &generator)
      return Float16(bitPattern: Float16(bitPattern: bits).isNaN ? bits & 0xFBFF : bits)
    })
  case .bfloat16:  // random bit patterns, NaN included (bfloat16 compares bit patterns)
    return StoredArray(shape: shape, bfloat16: (0..<count).map { _ in BFloat16(bitPattern: UInt16.random(in: .min ... .max, using: &generator)) })
  case .int64:
    return StoredArray(shape: shape, int64: (0..<count).map { _ in Int64.random(in: .min ... .max, using: &generator) })
  case .uint8:
    return StoredArray(shape: shape, uint8: (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
  }
}

/// Shapes for round trips: 0-d, 1-d, 2-d, 4-d, and empty ones.
let sampleShapes: [[Int]] = [[], [1], [5], [2, 3], [2, 1, 3, 2], [0], [3, 0, 2]]

/// The bit patterns of the elements, so that NaN payloads and -0.0 compare exactly.
func bitPatterns(_ array: StoredArray) -> [UInt64] {
  switch array.elements {
  case .float32(let values): values.map { UInt64($0.bitPattern) }
  case .float64(let values): values.map(\.bitPattern)
  case .float16(let values): values.map { UInt64($0.bitPattern) }
  case .bfloat16(let values): values.map { UInt64($0.bitPattern) }
  case .int64(let values): values.map { UInt64(bitPattern: $0) }
  case .uint8(let values): values.map(UInt64.init)
  }
}

/// Each prefix of `data` shorter than the whole, and copies with seeded random bytes changed:
/// inputs that a decoder must reject or read, but never crash on.
func damagedCopies(of data: Data, seed: UInt64, mutations: Int = 300) -> [Data] {
  var copies = (0..<data.count).map { data.prefix($0) }
  var generator = SeededGenerator(seed: seed)
  for _ in 0..<mutations {
    var copy = data
    for _ in 0..<Int.random(in: 1...4, using: &generator) {
      let index = Int.random(in: 0..<copy.count, using: &generator)
      copy[index] = UInt8.random(in: .min ... .max, using: &generator)
    }
    copies.append(copy)
  }
  return copies
}
