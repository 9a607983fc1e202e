import BatchNormalization
import Foundation

/// The per-channel statistics `bn normalize` prints: batch mean, biased and unbiased
/// variance (what training normalizes with, and what the running variance accumulates).
enum StatisticsTable {
  /// At most this many channels are listed; the rest are counted.
  static let channelLimit = 32

  static func render(_ statistics: BatchStatistics) -> String {
    var lines = ["per-channel batch statistics over m = \(statistics.valuesPerChannel) values:"]
    lines.append(row("channel", "mean", "variance (biased, 1/m)", "variance (unbiased, 1/(m-1))"))
    for (channel, moments) in statistics.channels.prefix(channelLimit).enumerated() {
      lines.append(
        row(String(channel), format(moments.mean), format(moments.biasedVariance), format(moments.unbiasedVariance)))
    }
    if statistics.channels.count > channelLimit {
      lines.append("… \(statistics.channels.count - channelLimit) more channels")
    }
    return lines.joined(separator: "\n")
  }

  static func render<Scalar: BatchNormScalar>(running: RunningStatistics<Scalar>) -> String {
    var lines = ["normalized with the running statistics (\(running.batchesSeen) \(running.batchesSeen == 1 ? "batch" : "batches") tracked):"]
    lines.append(row("channel", "running mean", "running variance", ""))
    for channel in 0..<min(running.mean.count, channelLimit) {
      lines.append(row(String(channel), format(Double(running.mean[channel])), format(Double(running.variance[channel])), ""))
    }
    if running.mean.count > channelLimit { lines.append("… \(running.mean.count - channelLimit) more channels") }
    return lines.joined(separator: "\n")
  }

  private static func row(_ columns: String...) -> String {
    let widths = [8, 16, 24, 28]
    let padded = zip(columns, widths).map { column, width in
      column.padding(toLength: max(width, column.count + 1), withPad: " ", startingAt: 0)
    }
    var line = padded.joined()
    while line.last == " " { line.removeLast() }
    return line
  }

  /// Nine significant digits: enough to tell float32 values apart.
  private static func format(_ value: Double) -> String { String(format: "%.9g", value) }
}
