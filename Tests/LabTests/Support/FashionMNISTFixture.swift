import Datasets
import Foundation
import Testing

@testable import Lab

/// Fashion-MNIST, loaded once for every lab test that trains networks (the quick budgets
/// use small subsets of it). Suites that need it are enabled only where it is installed.
enum FashionMNISTFixture {
  static let isInstalled = FileManager.default.fileExists(atPath: MNISTFormatDataset.fashionMNISTDirectory.path)

  static let data: LabData? = try? LabData(dataset: MNISTFormatDataset.fashionMNIST(), source: "fashion-mnist")

  /// A quick-budget context with the data set.
  static func context(seed: UInt64) throws -> LabContext {
    LabContext(budget: .quick, seed: seed, data: try #require(data), progress: { _ in })
  }
}
