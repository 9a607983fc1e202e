import Dispatch
import Synchronization

/// The threads behind ``parallelFor(_:costPerItem:minimumParallelWork:_:)``: workers
/// started once and kept, so a parallel loop costs a handoff of a microsecond or two
/// (`benchmarks/RESULTS.md`) instead of waking
/// Dispatch threads (tens of microseconds on Linux, more than a small tensor's whole
/// kernel).
///
/// A job has parts 0..<parts; the calling thread runs part 0 and worker i runs part i.
/// Workers wait for the next job by spinning for up to ``spinBeforeSleeping`` (jobs of
/// one training step follow each other closely), then sleeping on a semaphore. One job runs at a time: a call made while another is in flight (from
/// another thread, or nested inside a part) runs all its parts itself.
@usableFromInline
final class WorkerPool: @unchecked Sendable {
  static let shared = WorkerPool()

  /// One worker's wake-up: `sleeping` is true while it waits (or is about to) on
  /// `wakeUp`; whoever flips it back to false owes it one signal.
  private final class Worker: Sendable {
    let sleeping = Atomic<Bool>(false)
    let wakeUp = DispatchSemaphore(value: 0)
  }

  /// The job's number times 256 plus its part count, stored (releasing) after `job` is
  /// written; workers acquire it. Carrying the part count in the same word lets a worker
  /// that is not part of a job skip it without reading anything the next job rewrites.
  private let generation = Atomic<Int>(0)
  /// Parts not yet finished by workers.
  private let remaining = Atomic<Int>(0)
  /// Set while a job is in flight.
  private let busy = Atomic<Bool>(false)
  // Written only by the thread that holds `busy`: `job` before the releasing store of
  // `generation`, read by the job's workers after acquiring it; `job` is not rewritten
  // before they all finish (`remaining` is 0). `workers` is never read by workers.
  nonisolated(unsafe) private var job: ((Int) -> Void)? = nil
  nonisolated(unsafe) private var workers: [Worker] = []

  /// The most parts one job can have: the part count shares a word with the job number
  /// (``generation``), 8 bits of it.
  @usableFromInline static let maximumParts = 255

  /// Runs `part(0)` … `part(parts − 1)` concurrently and returns when all are done.
  func run(parts: Int, _ part: (Int) -> Void) {
    precondition(parts <= Self.maximumParts)
    guard parts > 1, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
      for index in 0..<parts { part(index) }
      return
    }
    defer { busy.store(false, ordering: .releasing) }
    while workers.count < parts - 1 {
      let worker = Worker()
      let index = workers.count + 1
      workers.append(worker)
      let current = generation.load(ordering: .relaxed)
      startThread { self.workerLoop(index: index, worker: worker, seen: current) }
    }
    withoutActuallyEscaping(part) { part in
      job = part
      remaining.store(parts - 1, ordering: .relaxed)
      let number = generation.load(ordering: .relaxed) / 256 + 1
      generation.store(number * 256 + parts, ordering: .sequentiallyConsistent)
      for worker in workers.prefix(parts - 1)
      where worker.sleeping.exchange(false, ordering: .sequentiallyConsistent) {
        worker.wakeUp.signal()
      }
      part(0)
      while remaining.load(ordering: .acquiring) > 0 {}
      job = nil
    }
  }

  /// Worker `index`'s life: waits for each job after `seen` (the last one before it
  /// started) and runs its part when the job has one.
  private func workerLoop(index: Int, worker: Worker, seen: Int) {
    var seen = seen
    while true {
      seen = waitForJob(after: seen, worker: worker)
      if index < seen % 256 {
        runPart(index)
        remaining.subtract(1, ordering: .releasing)
      }
    }
  }

  /// Runs part `index` of the current job. A separate function so that the worker's
  /// reference to `job` ends before it reports the part done: `run` then lets go of the
  /// closure, which `withoutActuallyEscaping` checks nobody kept.
  @inline(never)
  private func runPart(_ index: Int) {
    job?(index)
  }

  /// How long a worker waits for the next job by spinning before it sleeps: long enough
  /// to bridge the serial stretches of a training step (a shorter 50–200 µs made a
  /// batch-60 MLP step at 2 threads as slow as at 1), short enough that an idle process
  /// sleeps within a millisecond. Spinning rather than yielding: the yields were 200
  /// system calls a step (`benchmarks/RESULTS.md`).
  static let spinBeforeSleeping = Duration.milliseconds(1)

  /// Spins, then sleeps until `generation` moves past `seen`; returns it.
  private func waitForJob(after seen: Int, worker: Worker) -> Int {
    let clock = ContinuousClock()
    while true {
      let deadline = clock.now.advanced(by: Self.spinBeforeSleeping)
      var spins = 0
      while true {
        let current = generation.load(ordering: .acquiring)
        if current != seen { return current }
        spins &+= 1
        if spins % 64 == 0, clock.now >= deadline { break }
      }
      worker.sleeping.store(true, ordering: .sequentiallyConsistent)
      if generation.load(ordering: .sequentiallyConsistent) == seen {
        worker.wakeUp.wait()
      } else if !worker.sleeping.exchange(false, ordering: .sequentiallyConsistent) {
        worker.wakeUp.wait()  // a submitter already flipped the flag and signals: take it
      }
    }
  }
}
