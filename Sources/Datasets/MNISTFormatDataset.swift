import FileFormats
import Foundation

/// A data set in MNIST's layout: a directory with four IDX files, each plain or gzipped.
///
/// ```
/// train-images-idx3-ubyte[.gz]   [count, height, width] unsigned bytes, 0 = background
/// train-labels-idx1-ubyte[.gz]   [count] unsigned bytes, the class of each image
/// t10k-images-idx3-ubyte[.gz]    the test set, likewise
/// t10k-labels-idx1-ubyte[.gz]
/// ```
///
/// MNIST, Fashion-MNIST and Kuzushiji-MNIST (28 × 28, 10 classes) all come this way; images
/// may be any size the files declare. When both a plain and a gzipped file exist, the plain
/// one is read.
public struct MNISTFormatDataset: Sendable {
  /// The training set.
  public let train: LabeledImages
  /// The test set.
  public let test: LabeledImages

  /// Where Debian's `dataset-fashion-mnist` package installs Fashion-MNIST (Xiao, Rasul and
  /// Vollgraf 2017, 60 000 training and 10 000 test images of clothing, 28 × 28, 10 classes).
  public static let fashionMNISTDirectory = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")

  /// Fashion-MNIST from `fashionMNISTDirectory`; when it is not installed, the error says how
  /// to install it or what to use instead.
  public static func fashionMNIST() throws(FileFormatError) -> MNISTFormatDataset {
    try fashionMNIST(directory: fashionMNISTDirectory)
  }

  /// Fashion-MNIST from `directory`, where `dataset-fashion-mnist` would have installed it.
  static func fashionMNIST(directory: URL) throws(FileFormatError) -> MNISTFormatDataset {
    try checkFashionMNISTInstalled(directory)
    return try load(directory: directory)
  }

  /// Fashion-MNIST's test set alone (``loadTestSet(directory:)``).
  public static func fashionMNISTTestSet() throws(FileFormatError) -> LabeledImages {
    try checkFashionMNISTInstalled(fashionMNISTDirectory)
    return try loadTestSet(directory: fashionMNISTDirectory)
  }

  /// Throws, saying how to install it, unless Fashion-MNIST is in `directory`.
  private static func checkFashionMNISTInstalled(_ directory: URL) throws(FileFormatError) {
    guard FileManager.default.fileExists(atPath: directory.path) else {
      throw FileFormatError(
        file: directory.path,
        problem:
          "Fashion-MNIST is not installed: run `sudo apt-get install dataset-fashion-mnist`, or pass --dataset DIR with any MNIST-format directory"
      )
    }
  }

  /// Reads the training and test sets from `directory`.
  ///
  /// Checks that each images file is `[count, height, width]` and each labels file `[count]`
  /// with the same count, that the test images have the training images' size, and that every
  /// test label is one of the training set's classes. The class count is 10, or the largest
  /// training label plus one when that is more. Errors name the file.
  public static func load(directory: URL) throws(FileFormatError) -> MNISTFormatDataset {
    try checkDirectory(directory)
    let train = try Split(directory: directory, prefix: "train")
    let test = try Split(directory: directory, prefix: "t10k")
    let classCount = try test.classCount(trainingLabels: train.labels)
    guard (test.height, test.width) == (train.height, train.width) else {
      throw FileFormatError(
        file: test.imagesFile,
        problem:
          "the test images are \(test.height) × \(test.width) but the training images are \(train.height) × \(train.width)"
      )
    }
    return MNISTFormatDataset(
      train: train.labeledImages(classCount: classCount), test: test.labeledImages(classCount: classCount))
  }

  /// The test set of `directory` alone, checked as ``load(directory:)`` checks it, for a
  /// caller that only evaluates: the training labels are read for the class count, the
  /// training images are not (so their size is not compared with the test images').
  public static func loadTestSet(directory: URL) throws(FileFormatError) -> LabeledImages {
    try checkDirectory(directory)
    let trainingLabelsURL = try Split.file(named: "train-labels-idx1-ubyte", in: directory)
    let trainingLabels = try IDX.read(contentsOf: trainingLabelsURL)
    guard trainingLabels.dimensions.count == 1 else {
      throw FileFormatError(
        file: trainingLabelsURL.path, problem: "labels must have 1 dimension [count], not \(trainingLabels.dimensions)")
    }
    let test = try Split(directory: directory, prefix: "t10k")
    return test.labeledImages(classCount: try test.classCount(trainingLabels: trainingLabels))
  }

  /// Throws unless `directory` is a directory.
  private static func checkDirectory(_ directory: URL) throws(FileFormatError) {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
      throw FileFormatError(file: directory.path, problem: "no such directory")
    }
    guard isDirectory.boolValue else {
      throw FileFormatError(file: directory.path, problem: "not a directory: expected one with MNIST-format IDX files")
    }
  }
}

extension MNISTFormatDataset {
  /// The images and labels files of one split, read and checked against each other.
  private struct Split {
    var imagesFile: String
    var labelsFile: String
    var images: IDX
    var labels: IDX
    var height: Int { images.dimensions[1] }
    var width: Int { images.dimensions[2] }

    /// Reads `PREFIX-images-idx3-ubyte[.gz]` and `PREFIX-labels-idx1-ubyte[.gz]` in `directory`.
    init(directory: URL, prefix: String) throws(FileFormatError) {
      let imagesURL = try Self.file(named: "\(prefix)-images-idx3-ubyte", in: directory)
      let labelsURL = try Self.file(named: "\(prefix)-labels-idx1-ubyte", in: directory)
      imagesFile = imagesURL.path
      labelsFile = labelsURL.path
      images = try IDX.read(contentsOf: imagesURL)
      labels = try IDX.read(contentsOf: labelsURL)
      guard images.dimensions.count == 3 else {
        throw FileFormatError(
          file: imagesFile, problem: "images must have 3 dimensions [count, height, width], not \(images.dimensions)")
      }
      guard labels.dimensions.count == 1 else {
        throw FileFormatError(
          file: labelsFile, problem: "labels must have 1 dimension [count], not \(labels.dimensions)")
      }
      guard labels.dimensions[0] == images.dimensions[0] else {
        throw FileFormatError(
          file: labelsFile,
          problem:
            "\(labels.dimensions[0]) labels but \(imagesURL.lastPathComponent) holds \(images.dimensions[0]) images"
        )
      }
    }

    /// The class count, 10 or the largest training label plus one, after checking that
    /// every label of this (test) split is one of those classes.
    func classCount(trainingLabels: IDX) throws(FileFormatError) -> Int {
      let classCount = max(10, Int(trainingLabels.values.max() ?? 0) + 1)
      if let label = labels.values.first(where: { Int($0) >= classCount }) {
        throw FileFormatError(
          file: labelsFile, problem: "label \(label) is not one of the training set's \(classCount) classes 0…\(classCount - 1)")
      }
      return classCount
    }

    /// `LabeledImages` with pixels scaled to 0…1.
    func labeledImages(classCount: Int) -> LabeledImages {
      LabeledImages(
        pixelBytes: images.values, labels: labels.values, height: height, width: width, classCount: classCount)
    }

    /// `directory/name`, or `directory/name.gz` when only that exists.
    static func file(named name: String, in directory: URL) throws(FileFormatError) -> URL {
      let plain = directory.appendingPathComponent(name)
      let gzipped = directory.appendingPathComponent(name + ".gz")
      for candidate in [plain, gzipped] where FileManager.default.fileExists(atPath: candidate.path) {
        return candidate
      }
      throw FileFormatError(file: plain.path, problem: "no such file, nor \(gzipped.lastPathComponent)")
    }
  }
}
