/// A one-line reason for a non-zero exit; ArgumentParser prints it as `Error: …`.
struct CommandError: Error, CustomStringConvertible {
  let description: String

  init(_ description: String) {
    self.description = description
  }
}
