/// Whole-array conversions between Float and the 16-bit types: one plain loop each over
/// raw buffers, which the compiler vectorizes (with F16C in a haswell build: vcvtph2ps
/// and vcvtps2ph; bfloat16 is shifts and integer adds in any build).

/// Each bfloat16 as a Float: its bits shifted into the top half.
func widenBFloat16(_ values: [BFloat16]) -> [Float] {
  [Float](unsafeUninitializedCapacity: values.count) { output, initialized in
    values.withUnsafeBufferPointer { input in
      // This is safe: both buffers hold values.count elements and the loop stays below it.
      for index in 0..<input.count { output[index] = Float(bitPattern: UInt32(input[index].bitPattern) << 16) }
    }
    initialized = values.count
  }
}

/// Each Float rounded to bfloat16 (``BFloat16/init(_:)``).
func narrowToBFloat16(_ values: [Float]) -> [BFloat16] {
  [BFloat16](unsafeUninitializedCapacity: values.count) { output, initialized in
    values.withUnsafeBufferPointer { input in
      // This is safe: as above.
      for index in 0..<input.count { output.initializeElement(at: index, to: BFloat16(input[index])) }
    }
    initialized = values.count
  }
}

#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
  /// Each Float16 as a Float, exactly.
  func widenFloat16(_ values: [Float16]) -> [Float] {
    [Float](unsafeUninitializedCapacity: values.count) { output, initialized in
      values.withUnsafeBufferPointer { input in
        // This is safe: as above.
        for index in 0..<input.count { output[index] = Float(input[index]) }
      }
      initialized = values.count
    }
  }

  /// Each Float rounded to Float16, to nearest, ties to even (beyond 65504: ±∞).
  func narrowToFloat16(_ values: [Float]) -> [Float16] {
    [Float16](unsafeUninitializedCapacity: values.count) { output, initialized in
      values.withUnsafeBufferPointer { input in
        // This is safe: as above.
        for index in 0..<input.count { output.initializeElement(at: index, to: Float16(input[index])) }
      }
      initialized = values.count
    }
  }
#endif
