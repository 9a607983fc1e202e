import ArgumentParser

/// `bn`: batch normalization from the command line.
@main
struct BatchNormTool: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bn",
    abstract: "Batch normalization (Ioffe & Szegedy 2015), exact and fast, from the command line.",
    discussion: """
      Normalize .npy arrays exactly as PyTorch does and compare the numbers across \
      frameworks; train and evaluate small networks with batch normalization on \
      Fashion-MNIST, with PyTorch-compatible checkpoints.
      """,
    version: "0.1.0",
    subcommands: [Normalize.self, Train.self, Evaluate.self, LabCommand.self, Bench.self]
  )

  /// ArgumentParser's entry point, after ``MemoryAllocator/keepFreedMemory()``.
  static func main() {
    MemoryAllocator.keepFreedMemory()
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch {
      exit(withError: error)
    }
  }
}
