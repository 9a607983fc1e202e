import Dispatch

/// Wall-clock timing for benchmarks: repeated runs, median and minimum.
enum Stopwatch {
  /// Runs `body` once to warm up, then repeatedly for about `seconds` (at least
  /// `minimumRuns` times) and returns every run's duration in seconds.
  static func measure(seconds: Double, minimumRuns: Int = 5, _ body: () -> Void) -> [Double] {
    body()
    var durations: [Double] = []
    let deadline = now() + seconds
    while durations.count < minimumRuns || now() < deadline {
      let start = now()
      body()
      durations.append(now() - start)
      if durations.count >= 100_000 { break }
    }
    return durations
  }

  static func bestTime(seconds: Double, _ body: () -> Void) -> Double {
    measure(seconds: seconds, body).min()!
  }

  static func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
  }

  /// Seconds since an arbitrary start.
  static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

  /// Keeps a value alive so the optimizer cannot drop the work that made it.
  @inline(never)
  static func keep<T>(_ value: T) {
    withExtendedLifetime(value) {}
  }
}
