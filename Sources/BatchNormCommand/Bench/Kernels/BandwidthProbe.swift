import BatchNormalization
import ComputeRuntime

/// The memory bandwidth of this machine right now, for the same number of bytes and
/// threads as a benchmark row: a streaming read (Σx) and a read + write (y = a·x + b).
/// A BN kernel cannot beat the read + write figure for the bytes it moves.
enum BandwidthProbe {
  /// Bytes per second of a streaming read of `buffer`.
  static func readBandwidth(_ values: [Float], threads: Int, seconds: Double) -> Double {
    values.withUnsafeBufferPointer { readBandwidth($0, threads: threads, seconds: seconds) }
  }

  /// Bytes per second (read + write) of y = a·x + b from `source` into `destination`
  /// (the same count).
  static func readWriteBandwidth(_ source: [Float], _ destination: inout [Float], threads: Int, seconds: Double) -> Double {
    precondition(source.count == destination.count)
    return source.withUnsafeBufferPointer { source in
      destination.withUnsafeMutableBufferPointer { destination in
        readWriteBandwidth(source, destination, threads: threads, seconds: seconds)
      }
    }
  }

  private static func readBandwidth(_ buffer: UnsafeBufferPointer<Float>, threads: Int, seconds: Double) -> Double {
    var sink: Float = 0
    let time = Stopwatch.bestTime(seconds: seconds) {
      sink += chunked(buffer.count, threads: threads) { range in
        // This is safe: every chunk reads only its own range of `buffer`.
        var accumulator = SIMD8<Float>()
        var index = range.lowerBound
        let base = UnsafeRawPointer(buffer.baseAddress!)
        while index + 8 <= range.upperBound {
          accumulator += base.loadUnaligned(fromByteOffset: index * 4, as: SIMD8<Float>.self)
          index += 8
        }
        return accumulator.sum()
      }
    }
    Stopwatch.keep(sink)
    return Double(buffer.count * 4) / time
  }

  private static func readWriteBandwidth(
    _ source: UnsafeBufferPointer<Float>, _ destination: UnsafeMutableBufferPointer<Float>, threads: Int, seconds: Double
  ) -> Double {
    let time = Stopwatch.bestTime(seconds: seconds) {
      _ = chunked(source.count, threads: threads) { range in
        // This is safe: every chunk reads and writes only its own range of both buffers.
        let input = UnsafeRawPointer(source.baseAddress!)
        let output = UnsafeMutableRawPointer(destination.baseAddress!)
        var index = range.lowerBound
        while index + 8 <= range.upperBound {
          let value = input.loadUnaligned(fromByteOffset: index * 4, as: SIMD8<Float>.self) * 1.0001 + 0.5
          output.storeBytes(of: value, toByteOffset: index * 4, as: SIMD8<Float>.self)
          index += 8
        }
        return 0
      }
    }
    return Double(source.count * 8) / time
  }

  /// Splits `0..<count` (in multiples of 8) over `threads` and adds the chunks' results,
  /// on the kernels' own worker threads and with their rule for small tensors
  /// (`parallelFor`: serial below 64 Ki elements), so the roofline pays the same handoff
  /// as the row it is compared with.
  private static func chunked(_ count: Int, threads: Int, _ body: (Range<Int>) -> Float) -> Float {
    let vectors = count / 8
    guard threads > 1 else { return body(0..<vectors * 8) }
    var results = [Float](repeating: 0, count: threads)
    results.withUnsafeMutableBufferPointer { results in
      parallelFor(threads, costPerItem: vectors * 8 / threads) { chunks in
        for chunk in chunks {
          results[chunk] = body(vectors * chunk / threads * 8..<vectors * (chunk + 1) / threads * 8)
        }
      }
    }
    return results.reduce(0, +)
  }
}
