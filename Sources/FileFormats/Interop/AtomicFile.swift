import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes files so that a reader sees either the old file or the complete new one, never a part.
///
/// The bytes go to a temporary file `.NAME.tmp-PID-RANDOM` in the destination's directory,
/// are flushed to disk (`fsync`), and the temporary file is renamed over the destination
/// (POSIX `rename`, which is atomic within one file system). On any failure the temporary
/// file is removed and the destination is left as it was. A process killed in the middle
/// of a write (SIGKILL, a power cut) cannot remove its temporary file: the next write to
/// the same destination removes those of processes that no longer run.
public enum AtomicFile {
  /// Writes `data` to `url` atomically; errors name the destination's path.
  public static func write(_ data: Data, to url: URL) throws(FileFormatError) {
    let destination = url.path
    let directory = url.deletingLastPathComponent().path
    let prefix = ".\(url.lastPathComponent).tmp-"
    removeAbandonedTemporaries(in: directory, prefix: prefix)
    let suffix = "\(getpid())-" + String(UInt64.random(in: .min ... .max), radix: 16)
    let temporary = url.deletingLastPathComponent().appendingPathComponent(prefix + suffix).path

    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
    guard descriptor >= 0 else {
      throw FileFormatError(
        file: destination,
        problem: "cannot create a temporary file in \(directory): \(systemError())")
    }
    var problem = writeAll(data, to: descriptor).map { "cannot write: \($0)" }
    if problem == nil, fsync(descriptor) != 0 {
      problem = "cannot flush to disk: \(systemError())"
    }
    if close(descriptor) != 0, problem == nil {
      problem = "cannot close the temporary file: \(systemError())"
    }
    if problem == nil, rename(temporary, destination) != 0 {
      problem = "cannot move the new file into place: \(systemError())"
    }
    if let problem {
      unlink(temporary)
      throw FileFormatError(file: destination, problem: problem)
    }
  }
}

/// Removes the files `PREFIX` + `PID-RANDOM` in `directory` whose process `PID` no
/// longer runs: temporaries of writes that were killed.
private func removeAbandonedTemporaries(in directory: String, prefix: String) {
  guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
  for name in names where name.hasPrefix(prefix) {
    let rest = name.dropFirst(prefix.count)
    guard let dash = rest.firstIndex(of: "-"), let pid = pid_t(rest[..<dash]), pid > 0 else { continue }
    if kill(pid, 0) != 0 && errno == ESRCH {
      unlink(directory + "/" + name)
    }
  }
}

/// Writes all of `data` to the open file `descriptor`; the reason on failure, nil on success.
private func writeAll(_ data: Data, to descriptor: Int32) -> String? {
  data.withUnsafeBytes { raw -> String? in
    guard let base = raw.baseAddress else { return nil }  // No bytes: nothing to write.
    var offset = 0
    while offset < raw.count {
      let written = write(descriptor, base + offset, raw.count - offset)
      if written < 0 {
        if errno == EINTR { continue }
        return systemError()
      }
      offset += written
    }
    return nil
  }
}

/// The text of the current `errno`, e.g. "No such file or directory".
private func systemError() -> String {
  String(cString: strerror(errno))
}
