import Foundation

/// Progress for a long command: on a terminal one line rewritten in place (`\r`), in a
/// log (stdout not a terminal) one plain line per update.
struct ProgressLine {
  let isTerminal: Bool
  /// False for a process that stays quiet (the ranks of an MPI job other than 0).
  let isShown: Bool
  /// The length of the line on screen, to blank out what a shorter one leaves.
  private var shownLength = 0

  init(isTerminal: Bool, isShown: Bool = true) {
    self.isTerminal = isTerminal
    self.isShown = isShown
  }

  mutating func show(_ text: String) {
    guard isShown else { return }
    guard isTerminal else {
      print(text)
      fflush(nil)  // a log shows each line when it is written, not when a buffer fills
      return
    }
    let padding = String(repeating: " ", count: max(0, shownLength - text.count))
    FileHandle.standardOutput.write(Data(("\r" + text + padding).utf8))
    shownLength = text.count
  }

  /// Ends the updating line, so the next output starts on its own line.
  mutating func finish() {
    guard isTerminal, shownLength > 0 else { return }
    FileHandle.standardOutput.write(Data("\n".utf8))
    shownLength = 0
  }
}
