import ArgumentParser

/// `--threads`, for every command that computes.
struct ThreadOptions: ParsableArguments {
  @Option(
    parsing: .unconditional,
    help: "Threads for the kernels and BLAS (default: all processors; under mpirun, the processors shared among the processes). Results do not depend on it.")
  var threads: Int?

  func validate() throws {
    if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
  }
}

/// `--dataset` and `--binarize`, for every command that reads images.
struct DatasetOptions: ParsableArguments {
  @Option(help: ArgumentHelp(DatasetArgument.help, valueName: "fashion-mnist|DIR"))
  var dataset = "fashion-mnist"

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp("Binarize pixels: 1 above T (on the 0…1 scale), else 0, as the paper did for MNIST.", valueName: "T"))
  var binarize: Float?

  func validate() throws {
    if let binarize, !(0..<1).contains(binarize) { throw ValidationError("--binarize must be in [0, 1), got \(binarize)") }
  }
}
