import ArgumentParser
import BatchNormalization
import FileFormats
import Foundation

/// `bn bench`: times the kernels on the standard shapes, next to the machine's memory
/// bandwidth measured in the same run.
struct Bench: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Time the batch-normalization kernels against the memory-bandwidth limit.",
    discussion: """
      For each shape, operation and thread count it prints the median and minimum time, \
      the achieved GB/s by the minimal-bytes model (per float32 element: inference 8 B, \
      training forward 12 B, backward 20 B, frozen backward 8 B) and, measured right \
      before the row on the same bytes and threads, a streaming read and a read + write \
      (y = a·x + b). "share" is the row's GB/s over the read + write GB/s.

      Shapes are (N, C) and (N, C, H, W) channels-first, written 64x100 or 1x256x56x56, \
      or channels-last in memory order with a prefix: nhwc:1x56x56x256. Build with \
      `swift build -c release` (scripts/bn does) before trusting any number.
      """
  )

  @Option(name: .customLong("shape"), help: "A shape to time (repeatable); default: the standard set.")
  var shapes: [String] = []

  @Option(name: .customLong("op"), help: "An operation (repeatable; default: all): \(BenchmarkOperation.allCases.map(\.rawValue).joined(separator: ", ")).")
  var operations: [String] = []

  @Option(help: "Thread counts, comma-separated.")
  var threads: String = "1,2"

  @Option(help: "Seconds of repeated runs per row.")
  var seconds: Double = 0.5

  @Option(help: "Also write the rows as JSON to this file (- for standard output, then no table).")
  var json: String?

  func validate() throws {
    for shape in shapes where BenchmarkShape(parsing: shape) == nil {
      throw ValidationError("cannot read shape '\(shape)': write it like 64x100, 1x256x56x56 or nhwc:1x56x56x256")
    }
    for operation in operations where BenchmarkOperation(rawValue: operation) == nil {
      throw ValidationError(
        "unknown operation '\(operation)'; expected one of \(BenchmarkOperation.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    guard !threadCounts.isEmpty, threadCounts.allSatisfy({ $0 >= 1 }) else {
      throw ValidationError("--threads takes positive counts like 1,2")
    }
    guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
  }

  var threadCounts: [Int] { threads.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

  func run() throws {
    let selectedShapes = shapes.isEmpty ? BenchmarkShape.standard : shapes.compactMap(BenchmarkShape.init(parsing:))
    let selectedOperations = operations.isEmpty ? BenchmarkOperation.allCases : operations.compactMap(BenchmarkOperation.init(rawValue:))
    let quietTable = json == "-"
    if !quietTable { FileHandle.standardOutput.write(Data((BenchmarkRow.header + "\n").utf8)) }
    var rows: [BenchmarkRow] = []
    for shape in selectedShapes {
      for threadCount in threadCounts {
        ComputeThreads.count = threadCount
        for operation in selectedOperations {
          let row = try BenchmarkRunner(shape: shape, operation: operation, threads: threadCount, seconds: seconds).run()
          rows.append(row)
          if !quietTable {
            FileHandle.standardOutput.write(Data((row.tableLine + "\n").utf8))
          }
        }
      }
    }
    if let json {
      let data = try JSONSerialization.data(withJSONObject: rows.map(\.dictionary), options: [.prettyPrinted, .sortedKeys])
      if json == "-" {
        FileHandle.standardOutput.write(data)
        print()
      } else {
        try AtomicFile.write(data, to: URL(fileURLWithPath: json))
      }
    }
  }
}
