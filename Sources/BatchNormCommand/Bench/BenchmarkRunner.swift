import BatchNormalization
import Foundation
import HalfPrecision
import NeuralNetwork

/// One measured row of `bn bench`.
struct BenchmarkRow {
  let shape: BenchmarkShape
  let operation: BenchmarkOperation
  let dtype: BenchmarkDType
  let threads: Int
  let medianSeconds: Double
  let minimumSeconds: Double
  let modelBytes: Double
  let readBandwidth: Double
  let readWriteBandwidth: Double

  var gigabytesPerSecond: Double { modelBytes / medianSeconds / 1e9 }
  var rooflineShare: Double { modelBytes / medianSeconds / readWriteBandwidth }

  static let header = [
    "shape".padding(28), "layout".padding(15), "op".padding(18), "dtype".padding(9), "thr".padding(4), "median µs".padding(11),
    "min µs".padding(11), "GB/s".padding(7), "read GB/s".padding(10), "r+w GB/s".padding(9), "share",
  ].joined()

  var tableLine: String {
    [
      shape.dimensions.map(String.init).joined(separator: "x").padding(28), shape.layout.rawValue.padding(15),
      operation.rawValue.padding(18), dtype.rawValue.padding(9), String(threads).padding(4), String(format: "%.1f", medianSeconds * 1e6).padding(11),
      String(format: "%.1f", minimumSeconds * 1e6).padding(11), String(format: "%.1f", gigabytesPerSecond).padding(7),
      String(format: "%.1f", readBandwidth / 1e9).padding(10), String(format: "%.1f", readWriteBandwidth / 1e9).padding(9),
      String(format: "%.0f%%", rooflineShare * 100),
    ].joined()
  }

  var dictionary: [String: Any] {
    [
      "shape": shape.dimensions, "layout": shape.layout.rawValue, "op": operation.rawValue, "dtype": dtype.rawValue,
      "threads": threads, "median_seconds": medianSeconds, "min_seconds": minimumSeconds,
      "gigabytes_per_second": gigabytesPerSecond, "read_gigabytes_per_second": readBandwidth / 1e9,
      "read_write_gigabytes_per_second": readWriteBandwidth / 1e9, "roofline_share": rooflineShare,
    ]
  }
}

extension String {
  fileprivate func padding(_ width: Int) -> String {
    padding(toLength: max(width, count + 1), withPad: " ", startingAt: 0)
  }
}

/// Prepares the buffers of one row, probes the bandwidth, then times the operation.
struct BenchmarkRunner {
  let shape: BenchmarkShape
  let operation: BenchmarkOperation
  let dtype: BenchmarkDType
  let threads: Int
  let seconds: Double

  func run() throws -> BenchmarkRow {
    let batchShape = try BatchNormShape(dimensions: shape.dimensions, layout: shape.layout)
    let count = batchShape.elementCount
    // Seeded: every run times the same values, and making 12 million of them takes a
    // fraction of a second (the system generator's getrandom calls took longer than the row).
    var generator = SeededGenerator(seed: 2015)
    let input = (0..<count).map { _ in Float.random(in: -2...3, using: &generator) }
    let gradOutput = (0..<count).map { _ in Float.random(in: -1...1, using: &generator) }
    var output = [Float](repeating: 0, count: count)
    var layer = try BatchNorm<Float>(channels: batchShape.channels)

    let probeSeconds = min(seconds, 0.25)
    let read = BandwidthProbe.readBandwidth(input, threads: threads, seconds: probeSeconds)
    let readWrite = BandwidthProbe.readWriteBandwidth(input, &output, threads: threads, seconds: probeSeconds)
    // The in-place array forms: the same kernels as the buffer forms, with no allocation.
    let durations: [Double]
    switch dtype {
    case .float32: durations = try measure(input, gradOutput, shape: batchShape, layer: &layer)
    case .bfloat16:
      durations = try measureHalf(BFloat16.narrowed(input), BFloat16.narrowed(gradOutput), shape: batchShape, layer: &layer)
    case .float16:
      #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
        durations = try measureHalf(Float16.narrowed(input), Float16.narrowed(gradOutput), shape: batchShape, layer: &layer)
      #else
        throw CommandError("float16 needs Float16, which Intel Macs lack")
      #endif
    }
    return BenchmarkRow(
      shape: shape, operation: operation, dtype: dtype, threads: threads, medianSeconds: Stopwatch.median(durations),
      minimumSeconds: durations.min()!, modelBytes: Double(count * dtype.byteCount * operation.elementsMovedPerElement),
      readBandwidth: read, readWriteBandwidth: readWrite)
  }

  /// The operation's durations on Float32 arrays.
  private func measure(_ input: [Float], _ gradOutput: [Float], shape: BatchNormShape, layer: inout BatchNorm<Float>) throws -> [Double] {
    var output = input, gradInput = input
    return try measure(layer: &layer) { layer, mode in
      try layer.forward(input, shape: shape, mode: mode, into: &output)
    } backward: { layer, context in
      _ = try layer.backward(gradOutput, input: input, context: context, into: &gradInput)
    }
  }

  /// The operation's durations on 16-bit arrays, Float32 statistics and parameters.
  private func measureHalf<Half: HalfPrecisionScalar>(
    _ input: [Half], _ gradOutput: [Half], shape: BatchNormShape, layer: inout BatchNorm<Float>
  ) throws -> [Double] {
    var output = input, gradInput = input
    return try measure(layer: &layer) { layer, mode in
      try layer.forward(input, shape: shape, mode: mode, into: &output)
    } backward: { layer, context in
      _ = try layer.backward(gradOutput, input: input, context: context, into: &gradInput)
    }
  }

  /// Times `forward` (for the forward operations) or `backward` after one forward (for
  /// the backward ones), each writing into arrays made once.
  private func measure(
    layer: inout BatchNorm<Float>, forward: (inout BatchNorm<Float>, BatchNormMode) throws -> BatchNormContext<Float>,
    backward: (BatchNorm<Float>, BatchNormContext<Float>) throws -> Void
  ) throws -> [Double] {
    switch operation {
    case .inferenceForward:
      return Stopwatch.measure(seconds: seconds) { _ = try! forward(&layer, .inference) }
    case .trainingForward:
      return Stopwatch.measure(seconds: seconds) { _ = try! forward(&layer, .training) }
    case .backward, .frozenBackward:
      let context = try forward(&layer, operation == .backward ? .training : .inference)
      let frozenLayer = layer
      return Stopwatch.measure(seconds: seconds) { try! backward(frozenLayer, context) }
    }
  }
}
