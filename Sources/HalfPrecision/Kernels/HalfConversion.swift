/// Whole-array conversions between Float and the 16-bit types, eight values at a time
/// through ``HalfPrecisionVectors`` (with F16C in a haswell build: vcvtph2ps and
/// vcvtps2ph; bfloat16: shifts and integer adds in any build), the last few one by one.

/// Each value widened to Float, exactly.
func widened<Half: HalfPrecisionScalar>(_ values: [Half]) -> [Float] {
  [Float](unsafeUninitializedCapacity: values.count) { output, initialized in
    values.withUnsafeBufferPointer { input in
      guard let source = input.baseAddress, let destination = output.baseAddress else { return }
      var index = 0
      while index + 8 <= input.count {
        // This is safe: index + 8 ≤ count, the size of both buffers.
        UnsafeMutableRawPointer(destination + index).storeBytes(
          of: Half.loadFloats(from: source, at: index), as: SIMD8<Float>.self)
        index += 8
      }
      while index < input.count {
        destination[index] = input[index].floatValue
        index += 1
      }
    }
    initialized = values.count
  }
}

/// Each Float rounded to the 16-bit type, to nearest, ties to even.
func narrowed<Half: HalfPrecisionScalar>(_ values: [Float]) -> [Half] {
  [Half](unsafeUninitializedCapacity: values.count) { output, initialized in
    values.withUnsafeBufferPointer { input in
      guard let source = input.baseAddress, let destination = output.baseAddress else { return }
      var index = 0
      while index + 8 <= input.count {
        // This is safe: as above; the 16-bit values are plain bits, so storing over
        // uninitialized memory is initializing it.
        Half.storeFloats(source.loadVector(at: index), to: destination, at: index)
        index += 8
      }
      while index < input.count {
        destination.advanced(by: index).initialize(to: Half(rounding: input[index]))
        index += 1
      }
    }
    initialized = values.count
  }
}

extension UnsafePointer<Float> {
  /// Floats `index..<index + 8`; the caller keeps them inside the buffer.
  @inline(__always)
  fileprivate func loadVector(at index: Int) -> SIMD8<Float> {
    UnsafeRawPointer(self + index).loadUnaligned(as: SIMD8<Float>.self)
  }
}
