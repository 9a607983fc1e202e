/// Why a message-passing call failed.
public enum MessagePassingError: Error, Equatable, Sendable, CustomStringConvertible {
  /// An MPI call returned an error code.
  case mpi(call: String, code: Int, message: String)
  /// The processes passed different numbers of values to one collective call.
  case countMismatch(counts: [Int])
  /// A message has more values than one MPI call can carry (2³¹ − 1).
  case messageTooLarge(values: Int)

  public var description: String {
    switch self {
    case .mpi(let call, let code, let message):
      return "\(call) failed (MPI error \(code)): \(message)"
    case .countMismatch(let counts):
      let shown = counts.enumerated().map { "rank \($0.offset): \($0.element)" }.joined(separator: ", ")
      return "the processes passed different numbers of values to one exchange (\(shown))"
    case .messageTooLarge(let values):
      return "a message of \(values) values is more than one MPI call can carry"
    }
  }
}
