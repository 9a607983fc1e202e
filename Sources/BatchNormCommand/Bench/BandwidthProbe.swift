import Dispatch

/// The memory bandwidth of this machine right now, for the same number of bytes and
/// threads as a benchmark row: a streaming read (Σx) and a read + write (y = a·x + b).
/// A BN kernel cannot beat the read + write figure for the bytes it moves.
enum BandwidthProbe {
  /// Bytes per second of a streaming read of `buffer`.
  static func readBandwidth(_ buffer: UnsafeBufferPointer<Float>, threads: Int, seconds: Double) -> Double {
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

  /// Bytes per second (read + write) of y = a·x + b from `source` into `destination`.
  static func readWriteBandwidth(
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

  /// Splits `0..<count` (in multiples of 8) over `threads` and adds the chunks' results.
  private static func chunked(_ count: Int, threads: Int, _ body: (Range<Int>) -> Float) -> Float {
    let vectors = count / 8
    guard threads > 1 else { return body(0..<vectors * 8) }
    var results = [Float](repeating: 0, count: threads)
    results.withUnsafeMutableBufferPointer { results in
      withoutActuallyEscaping(body) { body in
        let shared = SendableBox(results: results, body: body)
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
          let start = vectors * thread / threads * 8
          let end = vectors * (thread + 1) / threads * 8
          shared.results[thread] = shared.body(start..<end)
        }
      }
    }
    return results.reduce(0, +)
  }

  /// Hands the per-thread result slots and the loop body to `concurrentPerform`; each
  /// iteration writes only its own slot.
  private struct SendableBox: @unchecked Sendable {
    let results: UnsafeMutableBufferPointer<Float>
    let body: (Range<Int>) -> Float
  }
}
