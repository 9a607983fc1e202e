import Foundation
import Testing

@testable import FileFormats

/// A file NumPy wrote and the array it holds.
struct NumPyFixture: Sendable, CustomTestStringConvertible {
  var name: String
  var bytes: Data
  var array: StoredArray
  var testDescription: String { name }
}

@Suite("NPY")
struct NPYTests {
  /// Little-endian files, which `NPY.encode` must reproduce byte for byte.
  static let littleEndianFixtures = [
    NumPyFixture(
      name: "float32 [2, 3]", bytes: Fixtures.float32Matrix,
      array: StoredArray(shape: [2, 3], float32: [0, 0.25, 0.5, 0.75, 1, 1.25])),
    NumPyFixture(
      name: "float64 0-d", bytes: Fixtures.float64Scalar, array: StoredArray(shape: [], float64: [-2.5])),
    NumPyFixture(
      name: "int64 [5]", bytes: Fixtures.int64Vector, array: StoredArray(shape: [5], int64: [-2, -1, 0, 1, 2])),
    NumPyFixture(
      name: "uint8 [1, 2, 2, 1]", bytes: Fixtures.uint8FourDimensional,
      array: StoredArray(shape: [1, 2, 2, 1], uint8: [0, 60, 120, 180])),
    NumPyFixture(
      name: "float32 [0, 3]", bytes: Fixtures.float32Empty, array: StoredArray(shape: [0, 3], float32: [])),
    NumPyFixture(
      name: "float32 13-d, long header", bytes: Fixtures.float32WideHeader,
      array: StoredArray(shape: [0] + Array(repeating: 10, count: 12), float32: [])),
  ]

  /// Files that only reading covers: big-endian data and format versions 2.0 and 3.0.
  static let readOnlyFixtures = [
    NumPyFixture(
      name: ">f4", bytes: Fixtures.float32BigEndian, array: StoredArray(shape: [2], float32: [1.5, -2])),
    NumPyFixture(
      name: ">f8", bytes: Fixtures.float64BigEndian, array: StoredArray(shape: [2], float64: [1.5, -2])),
    NumPyFixture(name: ">i8", bytes: Fixtures.int64BigEndian, array: StoredArray(shape: [2], int64: [1, -2])),
    NumPyFixture(
      name: "version 2.0", bytes: Fixtures.version2, array: StoredArray(shape: [3], float32: [0, 1, 2])),
    NumPyFixture(
      name: "version 3.0", bytes: Fixtures.version3, array: StoredArray(shape: [3], float32: [0, 1, 2])),
  ]

  // MARK: NumPy's files

  @Test("Reads the files NumPy writes", arguments: littleEndianFixtures + readOnlyFixtures)
  func readsNumPyFiles(fixture: NumPyFixture) throws {
    #expect(try NPY.decode(fixture.bytes, file: "fixture.npy") == fixture.array)
  }

  @Test("Writes exactly the bytes NumPy writes", arguments: littleEndianFixtures)
  func writesNumPyBytes(fixture: NumPyFixture) {
    #expect(NPY.encode(fixture.array) == fixture.bytes)
  }

  @Test("Reads a Data slice that does not start at index 0")
  func readsSlice() throws {
    let padded = Data([1, 2, 3]) + Fixtures.float32Matrix
    let slice = padded.dropFirst(3)
    #expect(slice.startIndex == 3)
    #expect(try NPY.decode(slice, file: "slice.npy") == Self.littleEndianFixtures[0].array)
  }

  // MARK: Round trips

  @Test("Round trips every dtype and shape", arguments: DType.numpyTypes, sampleShapes)
  func roundTrip(dtype: DType, shape: [Int]) throws {
    let array = randomArray(dtype, shape: shape)
    let decoded = try NPY.decode(NPY.encode(array), file: "round-trip.npy")
    #expect(decoded == array)
    #expect(decoded.dtypeName == dtype.rawValue)
  }

  @Test("Keeps special values bit for bit")
  func specialValues() throws {
    let floats = StoredArray(
      shape: [7],
      float32: [.nan, Float(bitPattern: 0x7FC0_1234), -0.0, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude])
    let doubles = StoredArray(
      shape: [5], float64: [.nan, -0.0, .infinity, .leastNonzeroMagnitude, -.greatestFiniteMagnitude])
    let integers = StoredArray(shape: [3], int64: [.min, .max, 0])
    for array in [floats, doubles, integers] {
      let decoded = try NPY.decode(NPY.encode(array), file: "special.npy")
      #expect(bitPatterns(decoded) == bitPatterns(array))
    }
  }

  @Test("Aligns the data on 64 bytes and ends the header with a newline", arguments: sampleShapes)
  func alignment(shape: [Int]) {
    let array = randomArray(.float64, shape: shape)
    let bytes = NPY.encode(array)
    let dataStart = bytes.count - array.elementCount * 8
    #expect(dataStart % 64 == 0)
    #expect(bytes[dataStart - 1] == 0x0A)
    #expect(bytes[6] == 1 && bytes[7] == 0)
  }

  @Test("Writes version 2.0 when the header does not fit in 65535 bytes")
  func version2ForLongHeaders() throws {
    let array = StoredArray(shape: Array(repeating: 1, count: 30_000), uint8: [42])
    let bytes = NPY.encode(array)
    #expect(bytes[6] == 2 && bytes[7] == 0)
    #expect((bytes.count - 1) % 64 == 0)
    #expect(try NPY.decode(bytes, file: "long.npy") == array)
  }

  @Test(
    "Reads headers in any key order and spacing",
    arguments: [
      "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 1), }",
      "{'shape': (3, 1), 'fortran_order': False, 'descr': '<f4'}",
      "{ 'fortran_order' :False,'shape':(3,1),'descr':'<f4' }   \n",
      #"{"descr": "<f4", "fortran_order": False, "shape": (3, 1)}"#,
      "{'descr': '<f4', 'fortran_order': False, 'shape': (3L, 1L), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': [3, 1]}\t\n",
    ])
  func headerSyntax(header: String) throws {
    let data: [UInt8] = [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40]  // 1, 2, 3 as <f4
    let array = try NPY.decode(npyFile(header: header, data: data), file: "header.npy")
    #expect(array == StoredArray(shape: [3, 1], float32: [1, 2, 3]))
  }

  // MARK: Files

  @Test("Writes and reads a file")
  func fileRoundTrip() throws {
    try withTemporaryDirectory { directory in
      let url = directory.appendingPathComponent("weights.npy")
      let array = randomArray(.float32, shape: [4, 3])
      try NPY.write(array, to: url)
      #expect(try NPY.read(contentsOf: url) == array)
      #expect(try contents(of: directory) == ["weights.npy"])
    }
  }

  @Test("A missing file is an error naming its path")
  func missingFile() throws {
    try withTemporaryDirectory { directory in
      let url = directory.appendingPathComponent("missing.npy")
      #expect(throws: FileFormatError(file: url.path, problem: "no such file")) {
        try NPY.read(contentsOf: url)
      }
    }
  }

  @Test("A directory is an error naming its path")
  func directoryInsteadOfFile() throws {
    try withTemporaryDirectory { directory in
      let error = #expect(throws: FileFormatError.self) { try NPY.read(contentsOf: directory) }
      #expect(error?.file == directory.path)
      #expect(error?.problem == "is a directory, not a file")
    }
  }

  // MARK: Errors

  @Test(
    "Rejects damaged files with one-line messages",
    arguments: [
      (Data("hello, world".utf8), "not a .npy file: it starts with 68 65 6C 6C 6F 2C instead of \\x93NUMPY"),
      (
        Data([0x50, 0x4B, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00]),
        "not a .npy file: it starts with 50 4B 03 04 14 00 instead of \\x93NUMPY (a ZIP archive: an .npz file?)"
      ),
      (Data(), "truncated: only 0 bytes, not even the magic string \\x93NUMPY"),
      (Fixtures.float32Matrix.prefix(4), "truncated: only 4 bytes, not even the magic string \\x93NUMPY"),
      (Fixtures.float32Matrix.prefix(7), "truncated: only 7 bytes, no version after the magic string"),
      (Fixtures.float32Matrix.prefix(9), "truncated: only 9 bytes, no header length after the version"),
      (
        Fixtures.float32Matrix.prefix(100),
        "truncated: the header length is 118 bytes but only 90 bytes follow"
      ),
      (
        npyFile(header: "{}", version: (4, 0)),
        "unsupported .npy format version 4.0; supported: 1.0, 2.0, 3.0"
      ),
      (
        npyFile(header: "{}", version: (1, 1)),
        "unsupported .npy format version 1.1; supported: 1.0, 2.0, 3.0"
      ),
      (
        Fixtures.int16,
        "unsupported dtype '<i2' (int16); supported: float32, float64, float16, int64, uint8"
      ),
      (
        Fixtures.fortranOrder,
        "Fortran-ordered arrays are not supported: save with numpy.ascontiguousarray"
      ),
    ])
  func rejectsDamagedFiles(data: Data, problem: String) {
    #expect(throws: FileFormatError(file: "array.npy", problem: problem)) {
      try NPY.decode(data, file: "array.npy")
    }
  }

  @Test(
    "Rejects bad headers, quoting them",
    arguments: [
      ("[1, 2]", "the header is not a Python dict literal: [1, 2]"),
      (
        "{'descr': '<f4' 'shape': (2,)}",
        "the header is not a Python dict literal (expected ',' at character 16): {'descr': '<f4' 'shape': (2,)}"
      ),
      (
        "{'descr': '<f4', 'shape': (2,), 'fortran_order': Nope}",
        "the header is not a Python dict literal (unexpected 'N' at character 49): {'descr': '<f4', 'shape': (2,), 'fortran_order': Nope}"
      ),
      (
        "{'descr': '<f4', 'fortran_order': False, 'shape': ()} junk",
        "the header is not a Python dict literal (unexpected text after the end at character 54): {'descr': '<f4', 'fortran_order': False, 'shape': ()} junk"
      ),
      ("{'descr': '<f4", "the header is not a Python dict literal (unterminated string at character 14): {'descr': '<f4"),
      ("{'descr': '<f4'", "the header is not a Python dict literal (expected ',' at character 15): {'descr': '<f4'"),
      (
        "{'descr': '<f4', 'fortran_order': False}\n",
        "the header has no 'shape' key: {'descr': '<f4', 'fortran_order': False}"
      ),
      ("{'shape': (), 'fortran_order': False}", "the header has no 'descr' key: {'shape': (), 'fortran_order': False}"),
      (
        "{'descr': 4, 'fortran_order': False, 'shape': ()}",
        "the header's 'descr' is not a dtype string: {'descr': 4, 'fortran_order': False, 'shape': ()}"
      ),
      (
        "{'descr': '<f4', 'fortran_order': 0, 'shape': ()}",
        "the header's 'fortran_order' is not True or False: {'descr': '<f4', 'fortran_order': 0, 'shape': ()}"
      ),
      (
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, '3')}",
        "the header's 'shape' is not a tuple of integers: {'descr': '<f4', 'fortran_order': False, 'shape': (2, '3')}"
      ),
      (
        "{'descr': '<f4', 'fortran_order': False, 'shape': 6}",
        "the header's 'shape' is not a tuple of integers: {'descr': '<f4', 'fortran_order': False, 'shape': 6}"
      ),
      (
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 'a\nb')}",
        "the header's 'shape' is not a tuple of integers: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 'a\\nb')}"
      ),
    ])
  func rejectsBadHeaders(header: String, problem: String) {
    #expect(throws: FileFormatError(file: "bad.npy", problem: problem)) {
      try NPY.decode(npyFile(header: header), file: "bad.npy")
    }
  }

  @Test(
    "Names the dtypes it does not read",
    arguments: [
      ("'<i4'", "unsupported dtype '<i4' (int32); supported: float32, float64, float16, int64, uint8"),
      ("'|i1'", "unsupported dtype '|i1' (int8); supported: float32, float64, float16, int64, uint8"),
      ("'<u8'", "unsupported dtype '<u8' (uint64); supported: float32, float64, float16, int64, uint8"),
      ("'|b1'", "unsupported dtype '|b1' (bool); supported: float32, float64, float16, int64, uint8"),
      ("'<c8'", "unsupported dtype '<c8' (complex64); supported: float32, float64, float16, int64, uint8"),
      ("'<U5'", "unsupported dtype '<U5' (unicode string); supported: float32, float64, float16, int64, uint8"),
      ("'|O'", "unsupported dtype '|O' (Python object); supported: float32, float64, float16, int64, uint8"),
      ("'<M8[ns]'", "unsupported dtype '<M8[ns]' (datetime64); supported: float32, float64, float16, int64, uint8"),
      ("'?'", "unsupported dtype '?'; supported: float32, float64, float16, int64, uint8"),
      (
        "[('x', '<f4'), ('y', '<f4')]",
        "unsupported dtype: a structured array (a list of fields); supported: float32, float64, float16, int64, uint8"
      ),
    ])
  func rejectsDtypes(descr: String, problem: String) {
    let header = "{'descr': \(descr), 'fortran_order': False, 'shape': (1,), }"
    #expect(throws: FileFormatError(file: "dtype.npy", problem: problem)) {
      try NPY.decode(npyFile(header: header, data: [0, 0, 0, 0]), file: "dtype.npy")
    }
  }

  @Test(
    "Rejects negative and absurd shapes",
    arguments: [
      ("(3, -1)", "the header's shape [3, -1] has a negative dimension"),
      (
        "(4294967296, 4294967296)",
        "the header's shape [4294967296, 4294967296] has more elements than memory can hold"
      ),
      (
        "(2305843009213693952,)",
        "the header's shape [2305843009213693952] has more elements than memory can hold"
      ),
      (
        "(99999999999999999999,)",
        "the header is not a Python dict literal (integer too large at character 51): {'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}"
      ),
    ])
  func rejectsShapes(shape: String, problem: String) {
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape)}"
    #expect(throws: FileFormatError(file: "shape.npy", problem: problem)) {
      try NPY.decode(npyFile(header: header), file: "shape.npy")
    }
  }

  @Test("Says how much data is missing")
  func truncatedData() {
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 3), }"
    let problem = "truncated: the header declares shape [4, 3] of float32 (48 bytes) but only 20 bytes of data follow"
    #expect(throws: FileFormatError(file: "weights.npy", problem: problem)) {
      try NPY.decode(npyFile(header: header, data: Array(repeating: 0, count: 20)), file: "weights.npy")
    }
    #expect(
      throws: FileFormatError(
        file: "weights.npy",
        problem: "truncated: the header declares shape [2, 3] of float32 (24 bytes) but only 23 bytes of data follow")
    ) {
      try NPY.decode(Fixtures.float32Matrix.dropLast(), file: "weights.npy")
    }
  }

  @Test("Rejects data after the array")
  func trailingData() {
    let problem = "unexpected data after the array: the header declares shape [2, 3] of float32 (24 bytes) but 26 bytes follow"
    #expect(throws: FileFormatError(file: "weights.npy", problem: problem)) {
      try NPY.decode(Fixtures.float32Matrix + [0, 0], file: "weights.npy")
    }
  }

  @Test("Rejects a version 3.0 header that is not UTF-8")
  func invalidUTF8() {
    var corrupted = npyFile(header: "{'descr': 'X'}", version: (3, 0))
    corrupted[12 + 11] = 0xFF  // the X: a byte that never occurs in UTF-8
    #expect(throws: FileFormatError(file: "utf8.npy", problem: "the header is not valid UTF-8")) {
      try NPY.decode(corrupted, file: "utf8.npy")
    }
  }

  @Test("Refuses deeply nested headers instead of overflowing the stack")
  func deepNesting() {
    let header = String(repeating: "(", count: 100_000)
    let error = #expect(throws: FileFormatError.self) { try NPY.decode(npyFile(header: header, version: (2, 0)), file: "deep.npy") }
    #expect(error?.problem.hasPrefix("the header is not a Python dict literal (nested too deeply at character 32)") == true)
  }

  @Test("Every error message is one line that names the file")
  func messagesAreOneLine() {
    let header = "{'descr': '<f\n4', 'fortran_order': False, 'shape': (1,), }"
    let error = #expect(throws: FileFormatError.self) { try NPY.decode(npyFile(header: header), file: "x.npy") }
    #expect(error?.description == "x.npy: unsupported dtype '<f\\n4'; supported: float32, float64, float16, int64, uint8")
  }

  @Test("Never crashes on damaged files", arguments: littleEndianFixtures + readOnlyFixtures)
  func damagedFiles(fixture: NumPyFixture) {
    for (index, damaged) in damagedCopies(of: fixture.bytes, seed: 7).enumerated() {
      if index < fixture.bytes.count {
        #expect(throws: FileFormatError.self) { try NPY.decode(damaged, file: "damaged.npy") }
      } else {
        _ = try? NPY.decode(damaged, file: "damaged.npy")
      }
    }
  }
}
