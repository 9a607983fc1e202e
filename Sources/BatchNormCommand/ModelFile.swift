import FileFormats
import Foundation
import NeuralNetwork

/// The `--model` file of `bn eval` and `bn export`, and the `--arch` that goes with it.
enum ModelFile {
  /// The parsed `--arch` (nil when not given) and the safetensors file at `path`.
  /// - Throws: ``CommandError`` with the architecture's or the file's one-line problem.
  static func read(_ path: String, architecture text: String?) throws -> (architecture: Architecture?, file: SafeTensors) {
    let architecture: Architecture?
    do {
      architecture = try text.map { try Architecture(parsing: $0) }
    } catch {
      throw CommandError("\(error)")
    }
    do {
      return (architecture, try SafeTensors.read(contentsOf: URL(fileURLWithPath: path)))
    } catch {
      throw CommandError("\(error)")
    }
  }
}
