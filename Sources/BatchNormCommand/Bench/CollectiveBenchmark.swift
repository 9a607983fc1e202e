import BatchNormalization

/// `bn bench --collectives` under mpirun: the latency and bandwidth of the exchanges
/// that synchronized batch normalization and data-parallel training make, on this
/// machine's transport (shared memory between the processes of one machine).
struct CollectiveBenchmark {
  let group: any BatchNormProcessGroup
  /// Calls timed per row (the same on every process, so no process waits for ever).
  let calls: Int

  /// Values per process for each row: a BN header, the paper's MLP's moments (3 × 100),
  /// a ResNet-50 layer's (3 × 2048), the MLP's gradients (~100 K) and 1 M.
  static let sizes = [7, 300, 6_144, 100_310, 1_000_000]

  struct Row {
    let collective: String
    let values: Int
    let processes: Int
    let medianSeconds: Double
    let minimumSeconds: Double
    /// Bytes that reach each process per call: all-gather P·n·8, all-reduce n·8.
    let bytesReceived: Int

    static let header = "collective        values     proc  median µs   min µs     GB/s (received per process)"

    var tableLine: String {
      [
        collective.padding(toLength: 18, withPad: " ", startingAt: 0),
        String(values).padding(toLength: 11, withPad: " ", startingAt: 0),
        String(processes).padding(toLength: 6, withPad: " ", startingAt: 0),
        String(format: "%-11.1f", medianSeconds * 1e6), String(format: "%-9.1f", minimumSeconds * 1e6),
        String(format: "%.2f", Double(bytesReceived) / medianSeconds / 1e9),
      ].joined()
    }

    var dictionary: [String: Any] {
      [
        "op": collective, "values": values, "processes": processes, "median_seconds": medianSeconds,
        "min_seconds": minimumSeconds, "bytes_received": bytesReceived,
      ]
    }
  }

  func run() throws -> [Row] {
    var rows: [Row] = []
    for values in Self.sizes {
      let buffer = (0..<values).map { Double($0 &+ group.rank) }
      let repeats = max(5, min(calls, calls * 1_000 / max(1_000, values)))
      let gather = try time(repeats) { _ = try group.allGather(buffer) }
      rows.append(row("all-gather", values, gather, received: group.size * values * 8))
      let reduce = try time(repeats) { _ = try group.allReduceSum(buffer) }
      rows.append(row("all-reduce", values, reduce, received: values * 8))
    }
    return rows
  }

  private func row(_ name: String, _ values: Int, _ durations: [Double], received: Int) -> Row {
    Row(
      collective: name, values: values, processes: group.size, medianSeconds: Stopwatch.median(durations),
      minimumSeconds: durations.min()!, bytesReceived: received)
  }

  /// `count` timed calls after three untimed ones.
  private func time(_ count: Int, _ call: () throws -> Void) throws -> [Double] {
    for _ in 0..<3 { try call() }
    var durations: [Double] = []
    for _ in 0..<count {
      let start = Stopwatch.now()
      try call()
      durations.append(Stopwatch.now() - start)
    }
    return durations
  }
}
