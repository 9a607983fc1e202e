import Foundation

/// Runs the built `bn` executable and captures what it prints.
struct CommandResult {
  let status: Int32
  let standardOutput: String
  let standardError: String
}

enum CommandRunner {
  /// `bn` next to the test bundle (SwiftPM builds it because the tests depend on it).
  static let executable: URL = {
    let testBundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let candidates = [
      testBundle.appendingPathComponent("bn"),
      testBundle.deletingLastPathComponent().appendingPathComponent("bn"),
    ]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
  }()

  static func run(_ arguments: [String]) throws -> CommandResult {
    try run(executable, arguments)
  }

  /// Runs `program` with `arguments` to its end (or until `seconds` pass: then it is
  /// terminated and its status is SIGTERM's).
  static func run(_ program: URL, _ arguments: [String], seconds: Double? = nil) throws -> CommandResult {
    let process = Process()
    process.executableURL = program
    process.arguments = arguments
    let output = Pipe()
    let error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    if let seconds {
      DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [process] in
        if process.isRunning { process.terminate() }
      }
    }
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CommandResult(
      status: process.terminationStatus, standardOutput: String(decoding: outputData, as: UTF8.self),
      standardError: String(decoding: errorData, as: UTF8.self))
  }
}

/// A fresh directory per test, removed when the test ends.
final class TemporaryDirectory {
  let url: URL

  init() throws {
    url = FileManager.default.temporaryDirectory.appendingPathComponent("bn-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }

  func path(_ name: String) -> String { url.appendingPathComponent(name).path }

  /// The names of the files in the directory, sorted.
  func contents() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: url.path).sorted() }

  deinit { try? FileManager.default.removeItem(at: url) }
}
