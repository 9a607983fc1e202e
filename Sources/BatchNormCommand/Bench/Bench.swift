import ArgumentParser
import BatchNormalization
import ComputeRuntime
import FileFormats
import Foundation
import NeuralNetwork

/// `bn bench`: times the kernels on the standard shapes, next to the machine's memory
/// bandwidth measured in the same run.
struct Bench: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Time the batch-normalization kernels against the memory-bandwidth limit.",
    discussion: """
      For each shape, operation and thread count it prints the median and minimum time, \
      the achieved GB/s by the minimal-bytes model (per float32 element: inference 8 B, \
      training forward 12 B, backward 20 B, frozen backward 12 B, as ∂γ needs x; half \
      of those for --dtype float16 or bfloat16) and, \
      measured right before the row on the same bytes and threads, a streaming read and a \
      read + write (y = a·x + b). "share" is the row's GB/s over the read + write GB/s.

      Shapes are (N, C) and (N, C, H, W) channels-first, written 64x100 or 1x256x56x56, \
      or channels-last in memory order with a prefix: nhwc:1x56x56x256. Build with \
      `swift build -c release` (scripts/bn does) before trusting any number.

      --training-steps times whole training steps instead: the paper's MLP \
      (\(TrainingStepModel.mlp.architecture), samples [784], batches 60 and 1024) and a \
      small CNN (\(TrainingStepModel.cnn.architecture), samples [1, 28, 28], batch 64). \
      A step is forward in training mode, softmax cross-entropy, zero gradients, \
      backward and SGD (lr 0.01, momentum 0.9) on one fixed seeded random batch (no \
      gather), timed for --seconds (at least --min-steps steps) after --warm-up-steps \
      steps; --threads \
      sets the threads of the whole step (the kernels and the matrix products, which \
      share one pool; BLAS itself runs single-threaded). Rows give median and minimum seconds per \
      step and steps per second (1 / median). --model and --batch narrow or change the \
      rows. With --training-steps only training rows run, unless --shape or --op is \
      also given, then those kernel rows run first.

      Under `mpirun -np P bn bench --training-steps`, each step is data-parallel: the \
      processes share the batch (contiguous shards), batch normalization is synchronized \
      and one all-reduce sums the gradients; "comm ms" is the time per step spent \
      exchanging (waiting included) and "samples/s" the whole batch's rate. Compare \
      with the same rows run without mpirun.
      """
  )

  @Option(name: .customLong("shape"), help: "A shape to time (repeatable); default: the standard set.")
  var shapes: [String] = []

  @Option(name: .customLong("op"), help: "An operation (repeatable; default: all): \(BenchmarkOperation.allCases.map(\.rawValue).joined(separator: ", ")).")
  var operations: [String] = []

  @Option(help: "Element types, comma-separated: \(BenchmarkDType.allCases.map(\.rawValue).joined(separator: ", ")) (16-bit storage, float32 statistics).")
  var dtype: String = "float32"

  @Flag(help: "Time whole training steps (MLP and CNN) instead of the kernels; see below.")
  var trainingSteps = false

  @Flag(help: "Under mpirun: time the exchanges (all-gather, all-reduce) for a few message sizes instead.")
  var collectives = false

  @Option(name: .customLong("model"), help: "With --training-steps, a model (repeatable; default: all): \(TrainingStepModel.allCases.map(\.rawValue).joined(separator: ", ")).")
  var models: [String] = []

  @Option(name: .customLong("batch"), help: "With --training-steps, a batch size (repeatable; default: 60 and 1024 for mlp, 64 for cnn).")
  var batches: [Int] = []

  @Option(help: "With --training-steps, untimed steps before timing (at least 1).")
  var warmUpSteps = 3

  @Option(help: "With --training-steps, timed steps at the least, however short --seconds is.")
  var minSteps = 3

  @Option(help: "Thread counts, comma-separated.")
  var threads: String = "1,2"

  @Option(help: "Seconds of repeated runs per row.")
  var seconds: Double = 0.5

  @Option(help: "Also write the rows as JSON to this file (- for standard output, then no table).")
  var json: String?

  func validate() throws {
    for shape in shapes {
      guard let parsed = BenchmarkShape(parsing: shape) else {
        throw ValidationError("cannot read shape '\(shape)': write it like 64x100, 1x256x56x56 or nhwc:1x56x56x256")
      }
      // x, y, dy and dx in Float, or Double in the reference check.
      let values = MemoryBudget.product(parsed.dimensions + [4])
      guard MemoryBudget.fits(values, bytesPerValue: MemoryLayout<Double>.size) else {
        throw ValidationError(
          "shape '\(shape)' is too large to time: its 4 arrays \(values.map { "need \(MemoryBudget.describe(bytes: Double($0) * 8)), \(MemoryBudget.limitDescription)" } ?? "hold more values than a 64-bit integer counts")")
      }
    }
    for operation in operations where BenchmarkOperation(rawValue: operation) == nil {
      throw ValidationError(
        "unknown operation '\(operation)'; expected one of \(BenchmarkOperation.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    guard !threadCounts.isEmpty, threadCounts.allSatisfy({ $0 >= 1 }) else {
      throw ValidationError("--threads takes positive counts like 1,2")
    }
    for model in models where TrainingStepModel(rawValue: model) == nil {
      throw ValidationError(
        "unknown model '\(model)'; expected one of \(TrainingStepModel.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    guard !collectives || (!trainingSteps && shapes.isEmpty && operations.isEmpty) else {
      throw ValidationError("--collectives times the exchanges alone: leave out --training-steps, --shape and --op")
    }
    guard trainingSteps || (models.isEmpty && batches.isEmpty) else {
      throw ValidationError("--model and --batch need --training-steps")
    }
    guard batches.allSatisfy({ $0 >= 2 }) else { throw ValidationError("--batch takes sizes of at least 2 (batch normalization needs two samples)") }
    // A step keeps about 10 values per input value (activations, gradients, im2col).
    for batch in batches where !MemoryBudget.fits(MemoryBudget.product([batch, 784, 10]), bytesPerValue: MemoryLayout<Float>.size) {
      throw ValidationError("--batch \(batch) is too large: a training step on it would need \(MemoryBudget.limitDescription)")
    }
    guard warmUpSteps >= 1, minSteps >= 1 else { throw ValidationError("--warm-up-steps and --min-steps must be at least 1") }
    guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
  }

  /// The --dtype list, each checked.
  func dtypes() throws -> [BenchmarkDType] {
    try dtype.split(separator: ",").map { name in
      guard let type = BenchmarkDType(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
        throw CommandError("--dtype: unknown element type '\(name)'; expected \(BenchmarkDType.allCases.map(\.rawValue).joined(separator: ", "))")
      }
      return type
    }
  }

  var threadCounts: [Int] { threads.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

  func run() throws {
    let processes = try CommandProcesses.start(threads: nil)
    if collectives {
      guard processes.group.size > 1 else {
        throw CommandError("--collectives times exchanges between processes: run it under mpirun -np 2 (or more)")
      }
      let rows = try CollectiveBenchmark(group: processes.group, calls: 2_000).run()
      processes.say(CollectiveBenchmark.Row.header)
      for row in rows { processes.say(row.tableLine) }
      if let json, processes.isLeader {
        let data = try JSONSerialization.data(withJSONObject: rows.map(\.dictionary), options: [.prettyPrinted, .sortedKeys])
        try AtomicFile.write(data, to: URL(fileURLWithPath: json))
      }
      return try processes.finish()
    }
    let runsKernels = !trainingSteps || !shapes.isEmpty || !operations.isEmpty
    if processes.group.size > 1 && runsKernels {
      throw CommandError(
        "under mpirun, bn bench times data-parallel training steps (--training-steps) or the exchanges (--collectives), not kernels",
        everyProcess: true)
    }
    let selectedShapes = !runsKernels ? [] : shapes.isEmpty ? BenchmarkShape.standard : shapes.compactMap(BenchmarkShape.init(parsing:))
    let selectedOperations = operations.isEmpty ? BenchmarkOperation.allCases : operations.compactMap(BenchmarkOperation.init(rawValue:))
    let quietTable = json == "-" || !processes.isLeader
    if !quietTable { FileHandle.standardOutput.write(Data("bn \(BuildDescription.text)\n".utf8)) }
    if !quietTable && runsKernels { FileHandle.standardOutput.write(Data((BenchmarkRow.header + "\n").utf8)) }
    var rows: [[String: Any]] = []
    for shape in selectedShapes {
      for threadCount in threadCounts {
        ComputeThreads.count = threadCount
        for operation in selectedOperations {
          for elementType in try dtypes() {
            let row = try BenchmarkRunner(
              shape: shape, operation: operation, dtype: elementType, threads: threadCount, seconds: seconds
            ).run()
            rows.append(row.dictionary.merging(["build": BuildDescription.text]) { $1 })
            if !quietTable {
              FileHandle.standardOutput.write(Data((row.tableLine + "\n").utf8))
            }
          }
        }
      }
    }
    if trainingSteps {
      let selectedModels = models.isEmpty ? TrainingStepModel.allCases : models.compactMap(TrainingStepModel.init(rawValue:))
      if !quietTable {
        if runsKernels { print() }
        FileHandle.standardOutput.write(Data((TrainingStepRow.header + "\n").utf8))
      }
      for model in selectedModels {
        for batch in batches.isEmpty ? model.defaultBatches : batches {
          for threadCount in threadCounts {
            let row = try TrainingStepBenchmark(
              model: model, batch: batch, threads: threadCount, seconds: seconds, warmUpSteps: warmUpSteps,
              minimumSteps: minSteps, group: processes.group
            ).run()
            rows.append(row.dictionary.merging(["build": BuildDescription.text]) { $1 })
            if !quietTable { FileHandle.standardOutput.write(Data((row.tableLine + "\n").utf8)) }
          }
        }
      }
    }
    defer { try? processes.finish() }
    if let json, processes.isLeader {
      let data = try JSONSerialization.data(withJSONObject: rows, options: [.prettyPrinted, .sortedKeys])
      if json == "-" {
        FileHandle.standardOutput.write(data)
        print()
      } else {
        try AtomicFile.write(data, to: URL(fileURLWithPath: json))
      }
    }
  }
}
