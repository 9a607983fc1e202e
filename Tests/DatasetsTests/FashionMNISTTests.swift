import Datasets
import FileFormats
import Foundation
import Testing

/// The real Fashion-MNIST from Debian's `dataset-fashion-mnist`, where it is installed. The
/// expected facts were checked with Python's gzip and struct modules on the same files.
@Suite(
  "Fashion-MNIST",
  .enabled(if: FileManager.default.fileExists(atPath: MNISTFormatDataset.fashionMNISTDirectory.path)))
struct FashionMNISTTests {
  /// Loaded once for all the tests in the suite.
  static let dataset = Result { () throws(FileFormatError) in try MNISTFormatDataset.fashionMNIST() }

  @Test("60 000 training and 10 000 test images of 28 × 28 in 10 balanced classes")
  func shape() throws {
    let dataset = try Self.dataset.get()
    for (split, count) in [(dataset.train, 60_000), (dataset.test, 10_000)] {
      #expect(split.count == count)
      #expect(split.height == 28 && split.width == 28)
      #expect(split.images.count == count * 28 * 28)
      #expect(split.classCount == 10)
      #expect(split.classCounts == Array(repeating: count / 10, count: 10))
    }
  }

  @Test("The first labels and the first image are the files' own")
  func firstValues() throws {
    let dataset = try Self.dataset.get()
    #expect(dataset.train.labels.prefix(5) == [9, 0, 0, 3, 0])
    #expect(dataset.test.labels.prefix(5) == [9, 2, 1, 1, 6])
    // The first training image's bytes sum to 76247, the first test image's to 33456.
    let byteSums = [dataset.train, dataset.test].map { split in
      split.images.prefix(28 * 28).reduce(0) { $0 + Int(($1 * 255).rounded()) }
    }
    #expect(byteSums == [76247, 33456])
  }

  @Test("Pixels lie in 0…1, with both ends present")
  func pixelRange() throws {
    let dataset = try Self.dataset.get()
    for split in [dataset.train, dataset.test] {
      #expect(split.images.min() == 0)
      #expect(split.images.max() == 1)
    }
  }

  @Test("Binarized, every pixel is 0 or 1 and the labels are unchanged")
  func binarized() throws {
    let test = try Self.dataset.get().test
    let binary = test.binarized(threshold: 0.5)
    #expect(binary.labels == test.labels)
    #expect(binary.images.allSatisfy { $0 == 0 || $0 == 1 })
    #expect(zip(binary.images, test.images).allSatisfy { ($0 == 1) == ($1 > 0.5) })
  }
}
