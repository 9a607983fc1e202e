import FileFormats
import Foundation

/// A per-value array file of `bn normalize` (the input, --grad-output, --output,
/// --grad-input): an .npy file, or a .safetensors file holding one tensor (or the one
/// --tensor names), so that bfloat16, which NumPy lacks, can come and go too.
enum ArrayFile {
  /// Whether `path` names a safetensors file (by its extension).
  static func isSafeTensors(_ path: String) -> Bool {
    path.lowercased().hasSuffix(".safetensors")
  }

  /// The array in `path`: an .npy file's, or a safetensors file's only tensor (or the
  /// one named `tensor`). Returns the tensor's name too ("x" for an .npy file).
  static func read(_ path: String, tensor name: String?) throws -> (array: StoredArray, name: String) {
    do {
      guard isSafeTensors(path) else { return (try NPY.read(contentsOf: URL(fileURLWithPath: path)), "x") }
      let tensors = try SafeTensors.read(contentsOf: URL(fileURLWithPath: path)).tensors
      let names = tensors.keys.sorted()
      if let name {
        guard let array = tensors[name] else {
          throw CommandError("\(path): no tensor '\(name)' (it holds \(names.joined(separator: ", ")))")
        }
        return (array, name)
      }
      guard names.count == 1 else {
        throw CommandError(
          "\(path) holds \(names.isEmpty ? "no tensor" : "\(names.count) tensors (\(names.joined(separator: ", ")))"); "
            + "pick one with --tensor NAME")
      }
      return (tensors[names[0]]!, names[0])
    } catch let error as FileFormatError {
      throw CommandError("\(error)")
    }
  }

  /// The bytes of `array` as the file `path` names: safetensors (the array under
  /// `name`) for a .safetensors path, NPY otherwise.
  static func encode(_ array: StoredArray, name: String, for path: String) -> Data {
    isSafeTensors(path) ? SafeTensors(tensors: [name: array]).encode() : NPY.encode(array)
  }
}
