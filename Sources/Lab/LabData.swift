import Datasets
import NeuralNetwork

/// The data set every network experiment trains on, loaded once per `bn lab` run: real
/// images (Fashion-MNIST by default, any MNIST-format directory with `--dataset`), as
/// flattened samples [N, H·W] for MLPs.
public struct LabData: Sendable {
  /// Where the images came from, for the report.
  public let source: String
  /// The training images, flattened to [N, H·W].
  public let train: LabeledSamples<Float>
  /// The test images, flattened to [N, H·W].
  public let test: LabeledSamples<Float>
  /// The number of classes (10 for Fashion-MNIST).
  public let classCount: Int

  /// The data set in `dataset`, binarized at `threshold` (0…1) when given, as the paper
  /// did for MNIST.
  public init(dataset: MNISTFormatDataset, source: String, binarizeAt threshold: Float? = nil) throws {
    let train = threshold.map { dataset.train.binarized(threshold: $0) } ?? dataset.train
    let test = threshold.map { dataset.test.binarized(threshold: $0) } ?? dataset.test
    self.source = source + (threshold.map { ", binarized at \($0)" } ?? "")
    self.train = try Self.flattened(train)
    self.test = try Self.flattened(test)
    self.classCount = dataset.train.classCount
  }

  static func flattened(_ images: LabeledImages) throws -> LabeledSamples<Float> {
    try LabeledSamples(
      samples: Tensor(shape: [images.count, images.pixelsPerImage], scalars: images.images), labels: images.labels)
  }

  /// The first `count` training samples (a small subset a network can overfit).
  public func trainPrefix(_ count: Int) throws -> LabeledSamples<Float> {
    try Self.prefix(train, count)
  }

  /// The first `count` test samples (a cheaper evaluation during training).
  public func testPrefix(_ count: Int) throws -> LabeledSamples<Float> {
    try Self.prefix(test, count)
  }

  static func prefix(_ samples: LabeledSamples<Float>, _ count: Int) throws -> LabeledSamples<Float> {
    let count = min(count, samples.count)
    let size = samples.sampleSize
    return try LabeledSamples(
      samples: Tensor(shape: [count] + samples.sampleShape, scalars: Array(samples.samples.scalars.prefix(count * size))),
      labels: Array(samples.labels.prefix(count)))
  }
}
