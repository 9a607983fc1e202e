import Foundation
import HalfPrecision
import Testing

@testable import FileFormats

/// float16 and bfloat16 in the files: NPY `<f2`/`>f2` as NumPy writes it, safetensors
/// `F16` and `BF16` as PyTorch's safetensors writes them (bytes made by numpy 2 and
/// safetensors with torch 2.15), exact widening to Float, and no bfloat16 .npy.
@Suite("Half-precision files")
struct HalfPrecisionFileTests {
  /// numpy.save of float16 [[1, -2.5, 65504], [6e-8, inf, -0]], little-endian.
  static let littleEndianNPY = Data(hexadecimal: """
    934e554d5059010076007b276465736372273a20273c6632272c2027666f727472616e5f6f72646572273a2046616c73652c
    20277368617065273a2028322c2033292c207d20202020202020202020202020202020202020202020202020202020202020
    2020202020202020202020202020202020202020202020202020200a003c00c1ff7b0100007c0080
    """)
  /// numpy.save of '>f2' [1, -2.5, 0.1].
  static let bigEndianNPY = Data(hexadecimal: """
    934e554d5059010076007b276465736372273a20273e6632272c2027666f727472616e5f6f72646572273a2046616c73652c
    20277368617065273a2028332c292c207d202020202020202020202020202020202020202020202020202020202020202020
    2020202020202020202020202020202020202020202020202020200a3c00c1002e66
    """)
  /// safetensors.torch.save of {"h": float16 [0.1, -3, 1e-7], "b": bfloat16 [[0.1, -3], [3e38, 1e-39]]}.
  static let pytorchSafeTensors = Data(hexadecimal: """
    70000000000000007b2262223a7b226474797065223a2242463136222c227368617065223a5b322c325d2c22646174615f6f
    666673657473223a5b302c385d7d2c2268223a7b226474797065223a22463136222c227368617065223a5b335d2c22646174
    615f6f666673657473223a5b382c31345d7d7d20cd3d40c0627f0b00662e00c20200
    """)

  @Test("Reads NumPy's float16 in both byte orders")
  func readsNumPyFloat16() throws {
    let little = try NPY.decode(Self.littleEndianNPY, file: "le.npy")
    #expect(little.shape == [2, 3])
    #expect(little.dtypeName == "float16")
    let expected: [Float] = [1, -2.5, 65504, Float(Float16(6e-8)), .infinity, -0.0]
    #expect(little.floatsWidening()?.map(\.bitPattern) == expected.map(\.bitPattern))
    let big = try NPY.decode(Self.bigEndianNPY, file: "be.npy")
    #expect(big.floatsWidening() == [1, -2.5, 0.0999755859375])
    // Written back as NumPy writes it (little-endian), byte for byte.
    #expect(NPY.encode(little) == Self.littleEndianNPY)
  }

  @Test("Reads PyTorch's F16 and BF16 safetensors and writes the same bytes")
  func readsPyTorchHalfSafeTensors() throws {
    let file = try SafeTensors.decode(Self.pytorchSafeTensors, file: "torch.safetensors")
    #expect(file.tensors["h"]?.dtypeName == "float16")
    #expect(file.tensors["b"]?.dtypeName == "bfloat16")
    #expect(file.tensors["b"]?.shape == [2, 2])
    // The widened values PyTorch's .float() gives.
    #expect(file.tensors["h"]?.floatsWidening() == [0.0999755859375, -3, 1.1920928955078125e-07])
    #expect(file.tensors["b"]?.floatsWidening() == [0.10009765625, -3, 3.00405527047391e+38, 1.0101904577379033e-39])
    #expect(file.tensors["b"]?.doublesConverting() == [0.10009765625, -3, 3.00405527047391e+38, 1.0101904577379033e-39])
    #expect(file.encode() == Self.pytorchSafeTensors)
  }

  @Test("Widens only the Float-sized and smaller floating-point types")
  func widening() {
    #expect(StoredArray(shape: [1], float64: [0.5]).floatsWidening() == nil)
    #expect(StoredArray(shape: [1], int64: [1]).floatsWidening() == nil)
    #expect(StoredArray(shape: [2], float32: [0.5, -1]).floatsWidening() == [0.5, -1])
    #expect(StoredArray(shape: [1], bfloat16: [BFloat16(0.5)]).isHalfPrecision)
    #expect(!StoredArray(shape: [1], float32: [0.5]).isHalfPrecision)
  }

  @Test("Refuses to write bfloat16 as .npy and leaves no file")
  func noBFloat16NPY() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bf16-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let url = directory.appendingPathComponent("x.npy")
    let array = StoredArray(shape: [2], bfloat16: [BFloat16(1), BFloat16(2)])
    #expect(!NPY.canStore(array))
    #expect(throws: FileFormatError(file: url.path, problem: "NumPy has no bfloat16: write a .safetensors file instead")) {
      try NPY.write(array, to: url)
    }
    #expect(!FileManager.default.fileExists(atPath: url.path))
  }

  @Test("Names the 16-bit types among the supported ones, and still refuses others")
  func unsupportedTypes() throws {
    var header = Self.littleEndianNPY
    header.replaceSubrange(22..<24, with: Array("i4".utf8))
    do {
      _ = try NPY.decode(header, file: "i4.npy")
      Issue.record("an int32 .npy was read")
    } catch {
      #expect(error.problem.contains("supported: float32, float64, float16, int64, uint8"), "\(error.problem)")
    }
    let json = Data(#"{"x":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}"#.utf8)
    let f8 = Data([UInt8(json.count)] + [UInt8](repeating: 0, count: 7)) + json + Data([0x38])
    do {
      _ = try SafeTensors.decode(f8, file: "f8.safetensors")
      Issue.record("an F8 tensor was read")
    } catch {
      #expect(error.problem.contains("F8_E4M3; supported: F32, F64, F16, BF16, I64, U8"), "\(error.problem)")
    }
  }
}
