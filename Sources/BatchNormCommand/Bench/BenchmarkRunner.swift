import BatchNormalization
import Foundation
import NeuralNetwork

/// One measured row of `bn bench`.
struct BenchmarkRow {
  let shape: BenchmarkShape
  let operation: BenchmarkOperation
  let threads: Int
  let medianSeconds: Double
  let minimumSeconds: Double
  let modelBytes: Double
  let readBandwidth: Double
  let readWriteBandwidth: Double

  var gigabytesPerSecond: Double { modelBytes / medianSeconds / 1e9 }
  var rooflineShare: Double { modelBytes / medianSeconds / readWriteBandwidth }

  static let header = [
    "shape".padding(28), "layout".padding(15), "op".padding(18), "thr".padding(4), "median µs".padding(11),
    "min µs".padding(11), "GB/s".padding(7), "read GB/s".padding(10), "r+w GB/s".padding(9), "share",
  ].joined()

  var tableLine: String {
    [
      shape.dimensions.map(String.init).joined(separator: "x").padding(28), shape.layout.rawValue.padding(15),
      operation.rawValue.padding(18), String(threads).padding(4), String(format: "%.1f", medianSeconds * 1e6).padding(11),
      String(format: "%.1f", minimumSeconds * 1e6).padding(11), String(format: "%.1f", gigabytesPerSecond).padding(7),
      String(format: "%.1f", readBandwidth / 1e9).padding(10), String(format: "%.1f", readWriteBandwidth / 1e9).padding(9),
      String(format: "%.0f%%", rooflineShare * 100),
    ].joined()
  }

  var dictionary: [String: Any] {
    [
      "shape": shape.dimensions, "layout": shape.layout.rawValue, "op": operation.rawValue, "dtype": "float32",
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
    switch operation {
    case .inferenceForward:
      durations = Stopwatch.measure(seconds: seconds) { _ = try! layer.forward(input, shape: batchShape, mode: .inference, into: &output) }
    case .trainingForward:
      durations = Stopwatch.measure(seconds: seconds) { _ = try! layer.forward(input, shape: batchShape, mode: .training, into: &output) }
    case .backward, .frozenBackward:
      let mode: BatchNormMode = operation == .backward ? .training : .inference
      let context = try layer.forward(input, shape: batchShape, mode: mode, into: &output)
      var gradInput = [Float](repeating: 0, count: count)
      durations = Stopwatch.measure(seconds: seconds) {
        _ = try! layer.backward(gradOutput, input: input, context: context, into: &gradInput)
      }
    }
    return BenchmarkRow(
      shape: shape, operation: operation, threads: threads, medianSeconds: Stopwatch.median(durations),
      minimumSeconds: durations.min()!, modelBytes: Double(count * 4 * operation.elementsMovedPerElement),
      readBandwidth: read, readWriteBandwidth: readWrite)
  }
}
