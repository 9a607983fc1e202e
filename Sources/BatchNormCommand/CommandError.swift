/// A one-line reason for a non-zero exit; ArgumentParser prints it as `Error: …`.
struct CommandError: Error, CustomStringConvertible {
  let description: String
  /// Whether every process of an MPI job throws this same error (a check they made
  /// together): then rank 0 alone prints it.
  let isThrownByEveryProcess: Bool

  init(_ description: String, everyProcess: Bool = false) {
    self.description = description
    self.isThrownByEveryProcess = everyProcess
  }
}
