import Testing

@testable import FileFormats

@Suite("StoredArray")
struct StoredArrayTests {
  @Test("Names dtypes as NumPy does and counts elements", arguments: DType.allCases)
  func dtypeNames(dtype: DType) {
    let array = randomArray(dtype, shape: [2, 3, 4])
    #expect(array.dtypeName == dtype.rawValue)
    #expect(array.elementCount == 24)
  }

  @Test("A 0-d array holds one element; a zero dimension none")
  func elementCounts() {
    #expect(StoredArray(shape: [], float64: [3]).elementCount == 1)
    #expect(StoredArray(shape: [4, 0], uint8: []).elementCount == 0)
  }

  @Test("Gives values only for the matching type, or converted on request")
  func accessors() {
    let floats = StoredArray(shape: [2], float32: [0.5, -1])
    let doubles = StoredArray(shape: [2], float64: [0.25, 2])
    let integers = StoredArray(shape: [2], int64: [-3, 1 << 53 + 1])
    let bytes = StoredArray(shape: [2], uint8: [0, 255])
    #expect(floats.floats() == [0.5, -1])
    #expect(floats.doubles() == nil)
    #expect(doubles.doubles() == [0.25, 2])
    #expect(doubles.floats() == nil)
    #expect(integers.floats() == nil && integers.doubles() == nil)
    #expect(floats.doublesConverting() == [0.5, -1])
    #expect(doubles.doublesConverting() == [0.25, 2])
    #expect(integers.doublesConverting() == [-3, 9_007_199_254_740_992])  // 2^53 + 1 rounds to even
    #expect(bytes.doublesConverting() == [0, 255])
  }

  @Test("Refuses an element count that does not match the shape")
  func countMismatch() async {
    await #expect(processExitsWith: .failure) {
      _ = StoredArray(shape: [2, 3], float32: [1, 2, 3])
    }
  }
}
