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
/// are flushed to disk (`fsync`), and the temporary file is renamed over the destination (POSIX
/// `rename`, which is atomic within one file system). On any failure the temporary file is
/// removed and the destination is left as it was. A process killed in the middle of a write
/// (SIGKILL, a power cut) cannot remove its temporary file: the next write to the same
/// destination removes those of processes that no longer run.
///
/// What is already at the destination decides the rest: a symbolic link is followed (the file
/// it points to is replaced, the link stays); a device, a pipe or a socket (`/dev/stdout`,
/// `/dev/null`, a named pipe) is written through, since it cannot be replaced; a directory
/// is an error.
public enum AtomicFile {
  /// Writes `data` to `url` atomically; errors name the destination's path.
  public static func write(_ data: Data, to url: URL) throws(FileFormatError) {
    try write([(data, url)])
  }

  /// Writes every file or none: all the new contents are written and flushed to temporary
  /// files first, and only when all of them are complete are they renamed into place, so
  /// a full disk, a missing permission or a directory in the way leaves every destination
  /// as it was. (A rename that fails after others succeeded, which takes the file system
  /// changing under the command, is reported; the earlier files are then already new.)
  public static func write(_ files: [(data: Data, url: URL)]) throws(FileFormatError) {
    var targets: [Target] = []
    for (data, url) in files { targets.append(try Target(data: data, destination: url.path)) }
    var written: [(target: Target, temporary: String)] = []
    for target in targets where !target.writesThrough {
      do {
        written.append((target, try writeTemporary(target)))
      } catch {
        for (_, temporary) in written { unlink(temporary) }
        throw error
      }
    }
    for (index, (target, temporary)) in written.enumerated() where rename(temporary, target.path) != 0 {
      let problem = "cannot move the new file into place: \(systemError())"
      for (_, later) in written[index...] { unlink(later) }
      throw FileFormatError(file: target.destination, problem: problem)
    }
    for target in targets where target.writesThrough {
      try writeThrough(target)
    }
  }

  /// One file to write: the path the user gave, the file it resolves to, and how.
  private struct Target {
    let data: Data
    /// The path as given, for messages.
    let destination: String
    /// The file to replace or write: the destination, or where its symbolic link points.
    let path: String
    /// Whether the destination is a device, pipe or socket, written in place.
    let writesThrough: Bool

    init(data: Data, destination: String) throws(FileFormatError) {
      self.data = data
      self.destination = destination
      var path = destination
      var status = stat()
      if lstat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFLNK {
        guard let resolved = realpath(path, nil) else {
          throw FileFormatError(file: destination, problem: "is a symbolic link to a missing file or directory")
        }
        path = String(cString: resolved)
        free(resolved)
      }
      guard stat(path, &status) == 0 else {
        // Nothing there yet (or not visible): a new regular file.
        self.path = path
        self.writesThrough = false
        return
      }
      switch status.st_mode & S_IFMT {
      case S_IFDIR:
        throw FileFormatError(file: destination, problem: "is a directory; give a file name")
      case S_IFREG:
        self.writesThrough = false
      default:
        self.writesThrough = true  // a character or block device, a pipe, a socket
      }
      self.path = path
    }
  }

  /// Writes `target`'s bytes to a new flushed temporary file beside it; its path.
  private static func writeTemporary(_ target: Target) throws(FileFormatError) -> String {
    let url = URL(fileURLWithPath: target.path)
    let directory = url.deletingLastPathComponent().path
    let prefix = ".\(url.lastPathComponent).tmp-"
    removeAbandonedTemporaries(in: directory, prefix: prefix)
    let suffix = "\(getpid())-" + String(UInt64.random(in: .min ... .max), radix: 16)
    let temporary = url.deletingLastPathComponent().appendingPathComponent(prefix + suffix).path

    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
    guard descriptor >= 0 else {
      throw FileFormatError(
        file: target.destination,
        problem: "cannot create a temporary file in \(directory): \(systemError())")
    }
    var problem = writeAll(target.data, to: descriptor).map { "cannot write: \($0)" }
    if problem == nil, fsync(descriptor) != 0 {
      problem = "cannot flush to disk: \(systemError())"
    }
    if close(descriptor) != 0, problem == nil {
      problem = "cannot close the temporary file: \(systemError())"
    }
    if let problem {
      unlink(temporary)
      throw FileFormatError(file: target.destination, problem: problem)
    }
    return temporary
  }

  /// Writes `target`'s bytes into the device, pipe or socket at its path.
  private static func writeThrough(_ target: Target) throws(FileFormatError) {
    let descriptor = open(target.path, O_WRONLY | O_CLOEXEC)
    guard descriptor >= 0 else {
      throw FileFormatError(file: target.destination, problem: "cannot open for writing: \(systemError())")
    }
    let problem = writeAll(target.data, to: descriptor)
    close(descriptor)
    if let problem { throw FileFormatError(file: target.destination, problem: "cannot write: \(problem)") }
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
