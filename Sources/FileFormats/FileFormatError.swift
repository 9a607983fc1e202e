/// A file that could not be read or written: which file, and what was wrong with it.
///
/// The description is one line, `"FILE: PROBLEM"`, that names the values that were wrong, e.g.
/// `weights.npy: truncated: the header declares shape [4, 3] of float32 (48 bytes) but only
/// 20 bytes of data follow`.
public struct FileFormatError: Error, CustomStringConvertible, Equatable {
  /// The file's path or name.
  public var file: String
  /// What was wrong, in words a user understands.
  public var problem: String

  /// Creates an error for `file` that says `problem`.
  public init(file: String, problem: String) {
    self.file = file
    self.problem = problem
  }

  public var description: String { "\(file): \(problem)" }
}

extension FileFormatError {
  /// `text` fit for a one-line message: control and invisible characters escaped (`\n`,
  /// `\u{0}`), and cut to `limit` characters with "…" when longer.
  package static func printable(_ text: some StringProtocol, limit: Int = 80) -> String {
    let shown = text.unicodeScalars.map { scalar in
      switch scalar.properties.generalCategory {
      case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse,
        .unassigned:
        scalar.escaped(asASCII: true)
      default:
        String(scalar)
      }
    }.joined()
    return shown.count > limit ? shown.prefix(limit) + "…" : shown
  }

  /// The bytes as two-digit hexadecimal numbers separated by spaces: "1F 8B 08" for 31, 139, 8.
  package static func hexadecimal(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16, uppercase: true) }.joined(separator: " ")
  }
}
