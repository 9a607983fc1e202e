import Foundation
import HalfPrecision

extension StoredArray.Elements {
  /// The element type.
  var scalarType: ScalarType {
    switch self {
    case .float32: .float32
    case .float64: .float64
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      case .float16: .float16
    #endif
    case .bfloat16: .bfloat16
    case .int64: .int64
    case .uint8: .uint8
    }
  }

  /// The number of elements.
  var count: Int {
    switch self {
    case .float32(let values): values.count
    case .float64(let values): values.count
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      case .float16(let values): values.count
    #endif
    case .bfloat16(let values): values.count
    case .int64(let values): values.count
    case .uint8(let values): values.count
    }
  }

  /// Reads `count` elements of `type` from `bytes`, which must hold `count × type.byteCount` bytes,
  /// stored big-endian when `bigEndian` is true and little-endian otherwise.
  init(_ type: ScalarType, count: Int, from bytes: Data, bigEndian: Bool) {
    precondition(bytes.count == count * type.byteCount, "element bytes do not match the count")
    func load<Bits: FixedWidthInteger, Value>(_ value: (Bits) -> Value) -> [Value] {
      loadIntegers(count: count, from: bytes, bigEndian: bigEndian, as: value)
    }
    switch type {
    case .float32: self = .float32(load(Float.init(bitPattern:)))
    case .float64: self = .float64(load(Double.init(bitPattern:)))
    case .float16:
      #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
        self = .float16(load(Float16.init(bitPattern:)))
      #else
        preconditionFailure("float16 needs Float16, which Intel Macs lack; the readers refuse it first")
      #endif
    case .bfloat16: self = .bfloat16(load(BFloat16.init(bitPattern:)))
    case .int64: self = .int64(load { (value: Int64) in value })
    case .uint8: self = .uint8([UInt8](bytes))
    }
  }

  /// The elements as little-endian bytes, in order.
  var littleEndianBytes: Data {
    switch self {
    case .float32(let values): storeIntegers(values, as: \.bitPattern)
    case .float64(let values): storeIntegers(values, as: \.bitPattern)
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      case .float16(let values): storeIntegers(values, as: \.bitPattern)
    #endif
    case .bfloat16(let values): storeIntegers(values, as: \.bitPattern)
    case .int64(let values): storeIntegers(values, as: { $0 })
    case .uint8(let values): Data(values)
    }
  }
}
