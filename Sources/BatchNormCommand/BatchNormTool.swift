import ArgumentParser
import Foundation

/// `bn`: batch normalization from the command line.
@main
struct BatchNormTool: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bn",
    abstract: "Batch normalization (Ioffe & Szegedy 2015), exact and fast, from the command line.",
    discussion: """
      Normalize .npy arrays exactly as PyTorch does and compare the numbers across \
      frameworks; train and evaluate small networks with batch normalization on \
      Fashion-MNIST, with PyTorch-compatible checkpoints; export them as ONNX.
      """,
    version: "0.1.0, \(BuildDescription.text)",
    subcommands: [Normalize.self, Train.self, Evaluate.self, Export.self, LabCommand.self, Bench.self]
  )

  /// ArgumentParser's entry point, after ``MemoryAllocator/keepFreedMemory()``.
  static func main() {
    MemoryAllocator.keepFreedMemory()
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch {
      // ArgumentParser's own message, written in one call: the processes of an MPI job
      // share one terminal, and messages written in pieces interleave.
      let code = exitCode(for: error)
      let message = fullMessage(for: error)
      // An error every process of an MPI job threw together is printed by rank 0 alone.
      let rank = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_RANK"] ?? "0"
      if let error = error as? CommandError, error.isThrownByEveryProcess, rank != "0" {
        usleep(500_000)  // rank 0's line first: mpirun ends the job when a process exits with an error
        Foundation.exit(code.rawValue)
      }
      if code == .success {
        print(message)
      } else if !message.isEmpty {  // an ExitCode thrown after its message was printed
        FileHandle.standardError.write(Data((message + "\n").utf8))
      }
      Foundation.exit(code.rawValue)
    }
  }
}
