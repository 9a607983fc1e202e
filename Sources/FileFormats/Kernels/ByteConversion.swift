import Foundation

// Element-wise loads and stores through `loadUnaligned` and `storeBytes`, which accept any
// alignment; the explicit `littleEndian`/`bigEndian` conversions make the host's byte order
// irrelevant. No pointer leaves the closures.

/// Reads `count` integers of `Bits` from `bytes` and converts each with `value`.
func loadIntegers<Bits: FixedWidthInteger, Value>(
  count: Int, from bytes: Data, bigEndian: Bool, as value: (Bits) -> Value
) -> [Value] {
  let size = MemoryLayout<Bits>.size
  return bytes.withUnsafeBytes { raw in
    (0..<count).map { index in
      let stored = raw.loadUnaligned(fromByteOffset: index * size, as: Bits.self)
      return value(bigEndian ? Bits(bigEndian: stored) : Bits(littleEndian: stored))
    }
  }
}

/// Writes each value's `bits` as a little-endian integer.
func storeIntegers<Bits: FixedWidthInteger, Value>(
  _ values: [Value], as bits: (Value) -> Bits
) -> Data {
  let size = MemoryLayout<Bits>.size
  var data = Data(count: values.count * size)
  data.withUnsafeMutableBytes { raw in
    for (index, value) in values.enumerated() {
      raw.storeBytes(of: bits(value).littleEndian, toByteOffset: index * size, as: Bits.self)
    }
  }
  return data
}
