import FileFormats
import Foundation
import Testing

@testable import Datasets

@Suite("MNIST-format directories")
struct MNISTFormatDatasetTests {
  /// One split's two IDX files: images of `height` × `width` whose pixel bytes count 0, 1, 2, …
  /// (mod 256), and `labels`.
  struct SplitFiles {
    var prefix: String
    var height: Int
    var width: Int
    var labels: [UInt8]
    var compressed = false

    var pixels: [UInt8] { (0..<(labels.count * height * width)).map { UInt8(truncatingIfNeeded: $0) } }
    var imagesFile: Data { idxFile(dimensions: [labels.count, height, width], values: pixels) }
    var labelsFile: Data { idxFile(dimensions: [labels.count], values: labels) }

    /// Writes `PREFIX-images-idx3-ubyte` and `PREFIX-labels-idx1-ubyte` (with `.gz` and gzipped
    /// when `compressed`) into `directory`.
    func write(to directory: URL) throws {
      let suffix = compressed ? ".gz" : ""
      try (compressed ? gzipped(imagesFile) : imagesFile)
        .write(to: directory.appendingPathComponent("\(prefix)-images-idx3-ubyte\(suffix)"))
      try (compressed ? gzipped(labelsFile) : labelsFile)
        .write(to: directory.appendingPathComponent("\(prefix)-labels-idx1-ubyte\(suffix)"))
    }
  }

  static let train = SplitFiles(prefix: "train", height: 4, width: 3, labels: [3, 1, 4, 1, 5], compressed: true)
  static let test = SplitFiles(prefix: "t10k", height: 4, width: 3, labels: [9, 2])

  /// Writes `splits` into a fresh directory and loads it.
  func load(_ splits: [SplitFiles]) throws -> MNISTFormatDataset {
    try withTemporaryDirectory { directory in
      for split in splits {
        try split.write(to: directory)
      }
      return try MNISTFormatDataset.load(directory: directory)
    }
  }

  /// The error that loading a directory with `splits`, after `change`, throws.
  func error(
    loading splits: [SplitFiles], after change: (URL) throws -> Void = { _ in }
  ) throws -> (error: FileFormatError?, directory: String) {
    try withTemporaryDirectory { directory in
      for split in splits {
        try split.write(to: directory)
      }
      try change(directory)
      do {
        _ = try MNISTFormatDataset.load(directory: directory)
        return (nil, directory.path)
      } catch let error as FileFormatError {
        return (error, directory.path)
      }
    }
  }

  @Test("Loads gzipped and plain files of any image size, pixels scaled to 0…1")
  func loads() throws {
    let dataset = try load([Self.train, Self.test])
    #expect(dataset.train.count == 5)
    #expect(dataset.train.height == 4 && dataset.train.width == 3)
    #expect(dataset.train.labels == [3, 1, 4, 1, 5])
    #expect(dataset.train.images == Self.train.pixels.map { Float($0) / 255 })
    #expect(dataset.test.labels == [9, 2])
    #expect(dataset.test.images == Self.test.pixels.map { Float($0) / 255 })
    #expect(dataset.train.classCount == 10 && dataset.test.classCount == 10)
  }

  @Test("The test set alone equals the full load's, without the training images")
  func testSetAlone() throws {
    let many = SplitFiles(prefix: "train", height: 4, width: 3, labels: [3, 11, 4], compressed: true)
    let test = SplitFiles(prefix: "t10k", height: 4, width: 3, labels: [9, 2, 10])
    try withTemporaryDirectory { directory in
      try many.write(to: directory)
      try test.write(to: directory)
      let alone = try MNISTFormatDataset.loadTestSet(directory: directory)
      let full = try MNISTFormatDataset.load(directory: directory).test
      #expect(alone.images == full.images && alone.labels == full.labels)
      #expect(alone.classCount == 12 && full.classCount == 12)
      // The training images are not read: without them the test set still loads.
      try FileManager.default.removeItem(at: directory.appendingPathComponent("train-images-idx3-ubyte.gz"))
      #expect(try MNISTFormatDataset.loadTestSet(directory: directory).labels == [9, 2, 10])
      // A test label outside the training classes is still an error naming the file.
      try SplitFiles(prefix: "t10k", height: 4, width: 3, labels: [12]).write(to: directory)
      let error = #expect(throws: FileFormatError.self) { try MNISTFormatDataset.loadTestSet(directory: directory) }
      #expect(error?.file.hasSuffix("t10k-labels-idx1-ubyte") == true)
      #expect(error?.problem.contains("label 12 is not one of the training set's 12 classes") == true, "\(String(describing: error))")
    }
  }

  @Test("Labels above 9 raise the class count to the largest training label plus one")
  func moreClasses() throws {
    var train = Self.train
    train.labels = [0, 12, 3, 4, 5]
    var test = Self.test
    test.labels = [12, 0]
    let dataset = try load([train, test])
    #expect(dataset.train.classCount == 13 && dataset.test.classCount == 13)
    #expect(dataset.test.classCounts[12] == 1)
  }

  @Test("A plain file is read when its gzipped twin is there too")
  func prefersPlain() throws {
    var gzippedTrain = Self.train
    gzippedTrain.labels = [0, 0, 0, 0, 0]
    var plainTrain = Self.train
    plainTrain.compressed = false
    let dataset = try load([gzippedTrain, plainTrain, Self.test])
    #expect(dataset.train.labels == plainTrain.labels.map(Int.init))
  }

  @Test("A missing directory or file is an error naming it")
  func missing() throws {
    let nowhere = URL(fileURLWithPath: "/nonexistent/mnist")
    #expect(throws: FileFormatError(file: nowhere.path, problem: "no such directory")) {
      try MNISTFormatDataset.load(directory: nowhere)
    }
    let (missingFile, directory) = try error(loading: [Self.train])
    #expect(
      missingFile
        == FileFormatError(
          file: directory + "/t10k-images-idx3-ubyte", problem: "no such file, nor t10k-images-idx3-ubyte.gz"))
    try withTemporaryDirectory { directory in
      let file = directory.appendingPathComponent("file")
      try Data().write(to: file)
      #expect(
        throws: FileFormatError(
          file: file.path, problem: "not a directory: expected one with MNIST-format IDX files")
      ) {
        try MNISTFormatDataset.load(directory: file)
      }
    }
  }

  @Test("Files that disagree are errors naming the file and the values")
  func disagreements() throws {
    var fewerLabels = Self.test
    fewerLabels.labels = [9]
    let (countError, countDirectory) = try error(loading: [Self.train, Self.test]) { directory in
      try fewerLabels.labelsFile.write(to: directory.appendingPathComponent("t10k-labels-idx1-ubyte"))
    }
    #expect(
      countError
        == FileFormatError(
          file: countDirectory + "/t10k-labels-idx1-ubyte",
          problem: "1 labels but t10k-images-idx3-ubyte holds 2 images"))

    var smaller = Self.test
    smaller.height = 2
    smaller.width = 2
    let (sizeError, sizeDirectory) = try error(loading: [Self.train, smaller])
    #expect(
      sizeError
        == FileFormatError(
          file: sizeDirectory + "/t10k-images-idx3-ubyte",
          problem: "the test images are 2 × 2 but the training images are 4 × 3"))

    var unknownLabel = Self.test
    unknownLabel.labels = [9, 10]
    let (labelError, labelDirectory) = try error(loading: [Self.train, unknownLabel])
    #expect(
      labelError
        == FileFormatError(
          file: labelDirectory + "/t10k-labels-idx1-ubyte",
          problem: "label 10 is not one of the training set's 10 classes 0…9"))
  }

  @Test("Files of the wrong rank are errors naming the file and the dimensions")
  func ranks() throws {
    let (imagesError, imagesDirectory) = try error(loading: [Self.train, Self.test]) { directory in
      try idxFile(dimensions: [2, 12], values: Array(repeating: 0, count: 24))
        .write(to: directory.appendingPathComponent("t10k-images-idx3-ubyte"))
    }
    #expect(
      imagesError
        == FileFormatError(
          file: imagesDirectory + "/t10k-images-idx3-ubyte",
          problem: "images must have 3 dimensions [count, height, width], not [2, 12]"))

    let (labelsError, labelsDirectory) = try error(loading: [Self.train, Self.test]) { directory in
      try idxFile(dimensions: [2, 1], values: [9, 2])
        .write(to: directory.appendingPathComponent("t10k-labels-idx1-ubyte"))
    }
    #expect(
      labelsError
        == FileFormatError(
          file: labelsDirectory + "/t10k-labels-idx1-ubyte",
          problem: "labels must have 1 dimension [count], not [2, 1]"))
  }

  @Test("A broken IDX file inside is the IDX error for that file")
  func brokenFile() throws {
    let (brokenError, directory) = try error(loading: [Self.train, Self.test]) { directory in
      try Data([0, 0, 8, 1, 0, 0, 0, 2, 9]).write(to: directory.appendingPathComponent("t10k-labels-idx1-ubyte"))
    }
    #expect(
      brokenError
        == FileFormatError(
          file: directory + "/t10k-labels-idx1-ubyte",
          problem: "truncated: the dimensions [2] declare 2 bytes of data but only 1 bytes follow"))
  }

  @Test("Without Fashion-MNIST, the error says how to install it or what to pass instead")
  func fashionMNISTMissing() {
    let nowhere = URL(fileURLWithPath: "/nonexistent/fashion-mnist")
    #expect(
      throws: FileFormatError(
        file: nowhere.path,
        problem:
          "Fashion-MNIST is not installed: run `sudo apt-get install dataset-fashion-mnist`, or pass --dataset DIR with any MNIST-format directory"
      )
    ) {
      try MNISTFormatDataset.fashionMNIST(directory: nowhere)
    }
  }
}
