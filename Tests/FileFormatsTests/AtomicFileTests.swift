import Foundation
import Testing

@testable import FileFormats

@Suite("AtomicFile")
struct AtomicFileTests {
  @Test("Creates the file and leaves no temporary file")
  func creates() throws {
    try withTemporaryDirectory { directory in
      let url = directory.appendingPathComponent("checkpoint.bin")
      try AtomicFile.write(Data([1, 2, 3]), to: url)
      #expect(try Data(contentsOf: url) == Data([1, 2, 3]))
      #expect(try contents(of: directory) == ["checkpoint.bin"])
    }
  }

  @Test("Removes the temporaries of killed writers, never a running one's")
  func removesAbandonedTemporaries() throws {
    try withTemporaryDirectory { directory in
      let url = directory.appendingPathComponent("model.safetensors")
      // A process that has ended: its pid names no running process.
      let ended = Process()
      ended.executableURL = URL(fileURLWithPath: "/bin/true")
      try ended.run()
      ended.waitUntilExit()
      let abandoned = ".model.safetensors.tmp-\(ended.processIdentifier)-1f2e"
      let running = ".model.safetensors.tmp-\(getpid())-3c4d"
      let otherTarget = ".other.safetensors.tmp-\(ended.processIdentifier)-5e6f"
      for name in [abandoned, running, otherTarget] {
        try Data([9]).write(to: directory.appendingPathComponent(name))
      }
      try AtomicFile.write(Data([1]), to: url)
      #expect(try contents(of: directory) == [running, otherTarget, "model.safetensors"].sorted())
    }
  }

  @Test("Replaces an existing file")
  func overwrites() throws {
    try withTemporaryDirectory { directory in
      let url = directory.appendingPathComponent("checkpoint.bin")
      try Data(repeating: 7, count: 1000).write(to: url)
      try AtomicFile.write(Data([4, 5]), to: url)
      #expect(try Data(contentsOf: url) == Data([4, 5]))
      try AtomicFile.write(Data(), to: url)
      #expect(try Data(contentsOf: url).isEmpty)
      #expect(try contents(of: directory) == ["checkpoint.bin"])
    }
  }

  @Test("Writing into a missing directory throws and creates nothing")
  func missingDirectory() throws {
    try withTemporaryDirectory { directory in
      let missing = directory.appendingPathComponent("missing")
      let url = missing.appendingPathComponent("checkpoint.bin")
      let error = #expect(throws: FileFormatError.self) { try AtomicFile.write(Data([1]), to: url) }
      #expect(
        error == FileFormatError(
          file: url.path,
          problem: "cannot create a temporary file in \(missing.path): No such file or directory"))
      let names = try contents(of: directory)
      #expect(names.isEmpty)
    }
  }

  @Test("A directory at the destination is an error before anything is written")
  func directoryInTheWay() throws {
    try withTemporaryDirectory { directory in
      let url = directory.appendingPathComponent("occupied")
      try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
      try Data([9]).write(to: url.appendingPathComponent("inside"))
      let error = #expect(throws: FileFormatError.self) { try AtomicFile.write(Data([1]), to: url) }
      #expect(error == FileFormatError(file: url.path, problem: "is a directory; give a file name"))
      #expect(try contents(of: directory) == ["occupied"])
      #expect(try contents(of: url) == ["inside"])
    }
  }

  @Test("Several files are written all or none")
  func allOrNone() throws {
    try withTemporaryDirectory { directory in
      let first = directory.appendingPathComponent("y.npy")
      let second = directory.appendingPathComponent("state.safetensors")
      try Data([1]).write(to: first)
      try FileManager.default.createDirectory(at: second, withIntermediateDirectories: false)
      #expect(throws: FileFormatError(file: second.path, problem: "is a directory; give a file name")) {
        try AtomicFile.write([(Data([2]), first), (Data([3]), second)])
      }
      // A failure while writing (here: a missing directory) removes the temporaries already written.
      let missing = directory.appendingPathComponent("missing/dx.npy")
      #expect(throws: FileFormatError.self) { try AtomicFile.write([(Data([2]), first), (Data([3]), missing)]) }
      #expect(try Data(contentsOf: first) == Data([1]))
      #expect(try contents(of: directory) == ["state.safetensors", "y.npy"])

      let third = directory.appendingPathComponent("dx.npy")
      try AtomicFile.write([(Data([2]), first), (Data([4]), third)])
      #expect(try Data(contentsOf: first) == Data([2]) && Data(contentsOf: third) == Data([4]))
      #expect(try contents(of: directory) == ["dx.npy", "state.safetensors", "y.npy"])
    }
  }
}
