import BatchNormalization
import Foundation
import Testing

/// A process group whose ranks are threads of this process: what the core's
/// synchronized calls need, without MPI. `run(ranks:_:)` starts one thread per rank
/// (never a pool, which could run fewer at once and deadlock) and returns each rank's
/// result in rank order.
final class ThreadProcessGroup: @unchecked Sendable {
  let size: Int
  private let condition = NSCondition()
  private var slots: [[Double]?]
  private var arrived = 0
  private var round = 0
  private var delivered: Result<[[Double]], GatherError> = .success([])
  /// How many all-gathers have completed.
  private(set) var gatherCount = 0

  struct GatherError: Error, CustomStringConvertible {
    let counts: [Int]
    var description: String { "ranks passed different counts: \(counts)" }
  }

  init(size: Int) {
    self.size = size
    slots = Array(repeating: nil, count: size)
  }

  func allGather(rank: Int, _ values: [Double]) throws -> [[Double]] {
    condition.lock()
    defer { condition.unlock() }
    let myRound = round
    slots[rank] = values
    arrived += 1
    if arrived == size {
      let gathered = slots.map { $0! }
      let counts = gathered.map(\.count)
      delivered = Set(counts).count == 1 ? .success(gathered) : .failure(GatherError(counts: counts))
      slots = Array(repeating: nil, count: size)
      arrived = 0
      round += 1
      gatherCount += 1
      condition.broadcast()
    } else {
      while round == myRound { condition.wait() }
    }
    return try delivered.get()
  }

  /// Runs `body` on `size` threads, one per rank, and returns their results in rank order.
  func run<Result: Sendable>(_ body: @escaping @Sendable (ThreadRank) -> Result) -> [Result] {
    let results = ResultSlots<Result>(count: size)
    let finished = DispatchGroup()
    for rank in 0..<size {
      finished.enter()
      let thread = Thread { [self] in
        results.store(body(ThreadRank(rank: rank, group: self)), at: rank)
        finished.leave()
      }
      thread.start()
    }
    finished.wait()
    return results.values
  }
}

/// One rank's view of a ``ThreadProcessGroup``.
final class ThreadRank: BatchNormProcessGroup, @unchecked Sendable {
  let rank: Int
  let group: ThreadProcessGroup
  var size: Int { group.size }

  init(rank: Int, group: ThreadProcessGroup) {
    self.rank = rank
    self.group = group
  }

  func allGather(_ values: [Double]) throws -> [[Double]] { try group.allGather(rank: rank, values) }
}

/// A group that must never be asked: for calls that should not communicate.
final class SilentProcessGroup: BatchNormProcessGroup, @unchecked Sendable {
  let rank = 0
  let size = 2
  func allGather(_ values: [Double]) throws -> [[Double]] {
    Issue.record("a call that should not communicate asked for an all-gather")
    return [values, values]
  }
}

/// Each rank's result, written by its own thread.
private final class ResultSlots<Value>: @unchecked Sendable {
  private let lock = NSLock()
  private var slots: [Value?]
  init(count: Int) { slots = Array(repeating: nil, count: count) }
  func store(_ value: Value, at index: Int) {
    lock.lock()
    slots[index] = value
    lock.unlock()
  }
  var values: [Value] { slots.map { $0! } }
}
