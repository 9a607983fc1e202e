// Pixel loops over buffer pointers: Fashion-MNIST has 55 million pixels, and `map` takes
// seconds for them in a debug build where these loops take a fraction of one. Every index
// is inside both buffers, which have the same count, and no pointer leaves the closures.

/// x / 255 for every byte value, so that scaling a pixel is one table lookup.
private let unitScaleTable: [Float] = (0...255).map { Float($0) / 255 }

/// Each byte x as x / 255.
func unitScaled(_ bytes: [UInt8]) -> [Float] {
  [Float](unsafeUninitializedCapacity: bytes.count) { scaled, initializedCount in
    bytes.withUnsafeBufferPointer { bytes in
      unitScaleTable.withUnsafeBufferPointer { table in
        for index in 0..<bytes.count {
          scaled.initializeElement(at: index, to: table[Int(bytes[index])])
        }
      }
    }
    initializedCount = bytes.count
  }
}

/// Each pixel as 1 when it is above `threshold` and 0 otherwise.
func binarizedPixels(_ pixels: [Float], threshold: Float) -> [Float] {
  [Float](unsafeUninitializedCapacity: pixels.count) { binary, initializedCount in
    pixels.withUnsafeBufferPointer { pixels in
      for index in 0..<pixels.count {
        binary.initializeElement(at: index, to: pixels[index] > threshold ? 1 : 0)
      }
    }
    initializedCount = pixels.count
  }
}
