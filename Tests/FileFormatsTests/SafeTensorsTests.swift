import Foundation
import Testing

@testable import FileFormats

@Suite("SafeTensors")
struct SafeTensorsTests {
  static let pyTorchStyle = SafeTensors(
    tensors: [
      "weight": StoredArray(shape: [2, 3], float32: [0, 1, 2, 3, 4, 5]),
      "bias": StoredArray(shape: [2], float32: [1.5, -2]),
    ],
    metadata: ["format": "pt"])

  // MARK: Files from the reference implementation

  @Test("Reads what the Python library writes")
  func readsPythonFile() throws {
    #expect(try SafeTensors.decode(Fixtures.safeTensorsPyTorchStyle, file: "model.safetensors") == Self.pyTorchStyle)
  }

  @Test("Writes exactly the bytes the Python library writes")
  func writesPythonBytes() {
    #expect(Self.pyTorchStyle.encode() == Fixtures.safeTensorsPyTorchStyle)
  }

  @Test("Reads tensors stored in any order, of mixed dtypes")
  func readsMixedFile() throws {
    let file = try SafeTensors.decode(Fixtures.safeTensorsMixed, file: "mixed.safetensors")
    #expect(file.tensors["bytes"] == StoredArray(shape: [3], uint8: [1, 2, 255]))
    #expect(file.tensors["matrix"] == StoredArray(shape: [1, 2], float64: [0.5, -0.25]))
    #expect(file.tensors.count == 2)
    #expect(file.metadata.isEmpty)
  }

  @Test("Reads a PyTorch BatchNorm1d state_dict")
  func readsBatchNormStateDict() throws {
    let file = try SafeTensors.decode(Fixtures.safeTensorsBatchNorm, file: "bn.safetensors")
    #expect(
      file.tensors == [
        "weight": StoredArray(shape: [2], float32: [1, 1]),
        "bias": StoredArray(shape: [2], float32: [0, 0]),
        "running_mean": StoredArray(shape: [2], float32: [0.5, -1]),
        "running_var": StoredArray(shape: [2], float32: [2, 3]),
        "num_batches_tracked": StoredArray(shape: [], int64: [7]),
      ])
  }

  // MARK: Round trips and layout

  @Test("Round trips every dtype and shape in one file", arguments: [[:], ["format": "pt", "note": "a \"quoted\"\nline"]])
  func roundTrip(metadata: [String: String]) throws {
    var tensors: [String: StoredArray] = [:]
    for (dtypeIndex, dtype) in DType.allCases.enumerated() {
      for (shapeIndex, shape) in sampleShapes.enumerated() {
        let seed = UInt64(dtypeIndex * 100 + shapeIndex)
        tensors["layer\(shapeIndex).\(dtype.rawValue)"] = randomArray(dtype, shape: shape, seed: seed)
      }
    }
    let file = SafeTensors(tensors: tensors, metadata: metadata)
    #expect(try SafeTensors.decode(file.encode(), file: "round-trip.safetensors") == file)
  }

  @Test("Round trips names that JSON must escape")
  func escapedNames() throws {
    let names = ["quote\"d", "back\\slash", "new\nline", "tab\t", "nul\u{0}", "caf\u{E9}", "雪", "emoji 🧪", ""]
    let tensors = Dictionary(uniqueKeysWithValues: names.enumerated().map { index, name in
      (name, StoredArray(shape: [1], int64: [Int64(index)]))
    })
    let file = SafeTensors(tensors: tensors)
    #expect(try SafeTensors.decode(file.encode(), file: "names.safetensors") == file)
  }

  @Test("Pads the header to 8 bytes and packs tensors in name order")
  func layout() throws {
    let file = SafeTensors(tensors: [
      "b": StoredArray(shape: [3], uint8: [1, 2, 3]),
      "a": StoredArray(shape: [1], float64: [1]),
      "c": StoredArray(shape: [2], float32: [1, 2]),
    ])
    let bytes = file.encode()
    let headerLength = Int(bytes.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    #expect(headerLength % 8 == 0)
    #expect(bytes.count == 8 + headerLength + 8 + 3 + 8)
    // An independent JSON parser reads the header.
    let header = try #require(
      try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + headerLength))) as? [String: [String: Any]])
    #expect(header.keys.sorted() == ["a", "b", "c"])
    #expect(header["a"]?["data_offsets"] as? [Int] == [0, 8])
    #expect(header["b"]?["data_offsets"] as? [Int] == [8, 11])
    #expect(header["c"]?["data_offsets"] as? [Int] == [11, 19])
    #expect(header["c"]?["dtype"] as? String == "F32")
    #expect(header["b"]?["shape"] as? [Int] == [3])
  }

  @Test("Writes __metadata__ only when there is metadata")
  func metadataKey() {
    let empty = SafeTensors(tensors: ["x": StoredArray(shape: [], float32: [1])]).encode()
    let withMetadata = SafeTensors(tensors: [:], metadata: ["k": "v"]).encode()
    #expect(!String(decoding: empty, as: UTF8.self).contains("__metadata__"))
    #expect(String(decoding: withMetadata.dropFirst(8), as: UTF8.self) == #"{"__metadata__":{"k":"v"}}      "#)
  }

  @Test("An empty file holds the header {} padded to 8 bytes")
  func emptyFile() throws {
    let bytes = SafeTensors().encode()
    #expect(bytes == Data([8, 0, 0, 0, 0, 0, 0, 0]) + Data("{}      ".utf8))
    #expect(try SafeTensors.decode(bytes, file: "empty.safetensors") == SafeTensors())
  }

  // MARK: Files

  @Test("Writes and reads a file")
  func fileRoundTrip() throws {
    try withTemporaryDirectory { directory in
      let url = directory.appendingPathComponent("model.safetensors")
      try Self.pyTorchStyle.write(to: url)
      #expect(try SafeTensors.read(contentsOf: url) == Self.pyTorchStyle)
      #expect(try contents(of: directory) == ["model.safetensors"])
    }
  }

  @Test("A missing file is an error naming its path")
  func missingFile() throws {
    try withTemporaryDirectory { directory in
      let url = directory.appendingPathComponent("missing.safetensors")
      #expect(throws: FileFormatError(file: url.path, problem: "no such file")) {
        try SafeTensors.read(contentsOf: url)
      }
    }
  }

  // MARK: Errors

  /// Two F32 tensors `a` [2] at [0, 8] and `b` [1] at [8, 12] with a 12-byte buffer, with
  /// `a`'s entry replaced by `entry` and the buffer by `buffer`.
  static func file(aEntry entry: String, buffer: Int = 12) -> Data {
    let header = #"{"a":\#(entry),"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
    return safeTensorsFile(header: header, buffer: Array(repeating: 0, count: buffer))
  }

  @Test(
    "Rejects damaged files with one-line messages",
    arguments: [
      (Data([1, 2, 3, 4, 5]), "not a safetensors file: only 5 bytes, less than the 8-byte header length"),
      (
        Fixtures.safeTensorsPyTorchStyle.prefix(100),
        "the header length is 152 bytes but only 92 bytes follow it"
      ),
      (
        Data([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7B, 0x7D]),
        "the header length is 18446744073709551615 bytes but only 2 bytes follow it"
      ),
      (safeTensorsFile(header: "{\"a\": \u{1}"), "the header is not valid JSON: {\"a\": \\u{01}"),
      (safeTensorsFile(header: "not json"), "the header is not valid JSON: not json"),
      (safeTensorsFile(header: "[1, 2]  "), "the header is not a JSON object: [1, 2]"),
      (safeTensorsFile(header: #"{"a": 3}"#), "tensor 'a' is not a JSON object"),
      (file(aEntry: #"{"shape":[2],"data_offsets":[0,8]}"#), "tensor 'a' has no dtype"),
      (file(aEntry: #"{"dtype":"F32","data_offsets":[0,8]}"#), "tensor 'a' has no shape"),
      (file(aEntry: #"{"dtype":"F32","shape":[2]}"#), "tensor 'a' has no data_offsets"),
      (file(aEntry: #"{"dtype":32,"shape":[2],"data_offsets":[0,8]}"#), "tensor 'a' has a dtype that is not a string"),
      (
        file(aEntry: #"{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}"#),
        "tensor 'a' has a shape that is not a list of non-negative integers"
      ),
      (
        file(aEntry: #"{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}"#),
        "tensor 'a' has a shape that is not a list of non-negative integers"
      ),
      (
        file(aEntry: #"{"dtype":"F32","shape":"2","data_offsets":[0,8]}"#),
        "tensor 'a' has a shape that is not a list of non-negative integers"
      ),
      (
        file(aEntry: #"{"dtype":"F32","shape":[2],"data_offsets":[0,8,12]}"#),
        "tensor 'a' has data_offsets that are not two non-negative integers"
      ),
      (
        file(aEntry: #"{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}"#),
        "tensor 'a' has data_offsets that are not two non-negative integers"
      ),
      (
        file(aEntry: #"{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551615]}"#),
        "tensor 'a' has data_offsets that are not two non-negative integers"
      ),
      (
        file(aEntry: #"{"dtype":"I16","shape":[4],"data_offsets":[0,8]}"#),
        "tensor 'a' has dtype I16; supported: F32, F64, F16, BF16, I64, U8"
      ),
      (
        file(aEntry: #"{"dtype":"F32","shape":[2],"data_offsets":[8,0]}"#),
        "tensor 'a' has data_offsets [8, 0]: the end is before the beginning"
      ),
      (
        file(aEntry: #"{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#, buffer: 4),
        "tensor 'a' has data_offsets [0, 8] beyond the data buffer (4 bytes)"
      ),
      (
        file(aEntry: #"{"dtype":"F32","shape":[3],"data_offsets":[0,8]}"#),
        "tensor 'a' has shape [3] of F32 (12 bytes) but data_offsets [0, 8] span 8 bytes"
      ),
      (
        file(aEntry: #"{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}"#),
        "tensor 'a' has shape [4294967296, 4294967296], more elements than memory can hold"
      ),
      (
        file(aEntry: #"{"dtype":"U8","shape":[4],"data_offsets":[0,4]}"#),
        "bytes 4..<8 of the data buffer belong to no tensor"
      ),
      (
        file(aEntry: #"{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#, buffer: 16),
        "bytes 12..<16 of the data buffer belong to no tensor"
      ),
      (
        file(aEntry: #"{"dtype":"F32","shape":[3],"data_offsets":[0,12]}"#),
        "tensors 'a' [0, 12] and 'b' [8, 12] overlap"
      ),
      (
        safeTensorsFile(header: #"{"__metadata__":["pt"]}"#),
        "the __metadata__ entry is not a JSON object"
      ),
      (
        safeTensorsFile(header: #"{"__metadata__":{"format":"pt","epoch":3}}"#),
        "the __metadata__ value of 'epoch' is not a string"
      ),
    ])
  func rejectsDamagedFiles(data: Data, problem: String) {
    #expect(throws: FileFormatError(file: "model.safetensors", problem: problem)) {
      try SafeTensors.decode(data, file: "model.safetensors")
    }
  }

  @Test("Names the tensor and the dtype it does not read")
  func unsupportedDtype() {
    let header = #"{"running_var":{"dtype":"I16","shape":[2],"data_offsets":[0,4]}}"#
    let error = #expect(throws: FileFormatError.self) {
      try SafeTensors.decode(safeTensorsFile(header: header, buffer: [0, 0, 0, 0]), file: "bn.safetensors")
    }
    #expect(error?.description == "bn.safetensors: tensor 'running_var' has dtype I16; supported: F32, F64, F16, BF16, I64, U8")
  }

  @Test("Rejects a header that is not UTF-8")
  func invalidUTF8() {
    var bytes = safeTensorsFile(header: #"{"X":{}}"#)
    bytes[10] = 0xC3  // a lead byte followed by `"`, not a continuation byte
    #expect(throws: FileFormatError(file: "x.safetensors", problem: "the header is not valid UTF-8")) {
      try SafeTensors.decode(bytes, file: "x.safetensors")
    }
  }

  @Test("Never crashes on damaged files")
  func damagedFiles() {
    let fixtures = [Fixtures.safeTensorsPyTorchStyle, Fixtures.safeTensorsMixed, Fixtures.safeTensorsBatchNorm]
    for (fixtureIndex, fixture) in fixtures.enumerated() {
      for (index, damaged) in damagedCopies(of: fixture, seed: UInt64(fixtureIndex)).enumerated() {
        if index < fixture.count {
          #expect(throws: FileFormatError.self) { try SafeTensors.decode(damaged, file: "damaged.safetensors") }
        } else {
          _ = try? SafeTensors.decode(damaged, file: "damaged.safetensors")
        }
      }
    }
  }
}
