import Datasets
import Foundation
import NeuralNetwork

/// `--dataset fashion-mnist|DIR`: Fashion-MNIST where Debian installs it, or any
/// MNIST-format directory.
enum DatasetArgument {
  static let help = """
    fashion-mnist (Debian's dataset-fashion-mnist, in /usr/share/datasets/fashion-mnist), \
    or a directory with MNIST-format IDX files (train-images-idx3-ubyte[.gz], \
    train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]).
    """

  /// Fashion-MNIST's class names, in label order.
  static let fashionMNISTClassNames = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
  ]

  /// The training and test sets of `argument`; a missing data set says how to get it.
  static func load(_ argument: String) throws -> MNISTFormatDataset {
    try reading(argument, fashionMNIST: MNISTFormatDataset.fashionMNIST, directory: MNISTFormatDataset.load(directory:))
  }

  /// The test set of `argument` alone (the training images are not read).
  static func loadTestSet(_ argument: String) throws -> LabeledImages {
    try reading(
      argument, fashionMNIST: MNISTFormatDataset.fashionMNISTTestSet, directory: MNISTFormatDataset.loadTestSet(directory:))
  }

  /// Runs the reader that `argument` names, with the command's errors.
  private static func reading<Result>(
    _ argument: String, fashionMNIST: () throws -> Result, directory read: (URL) throws -> Result
  ) throws -> Result {
    do {
      if argument == "fashion-mnist" { return try fashionMNIST() }
      let directory = URL(fileURLWithPath: argument)
      guard FileManager.default.fileExists(atPath: directory.path) else {
        throw CommandError(
          "\(argument): no such directory; for Fashion-MNIST use --dataset fashion-mnist after `sudo apt-get install dataset-fashion-mnist`"
        )
      }
      return try read(directory)
    } catch let error as CommandError {
      throw error
    } catch {
      throw CommandError("\(error)")
    }
  }

  /// The class names for the confusion matrix: Fashion-MNIST's, or none.
  static func classNames(_ argument: String, classCount: Int) -> [String]? {
    argument == "fashion-mnist" && classCount == fashionMNISTClassNames.count ? fashionMNISTClassNames : nil
  }

  /// `images` as samples of `sampleShape`: [H·W] flattened or [1, H, W].
  static func samples(_ images: LabeledImages, sampleShape: [Int]) throws -> LabeledSamples<Float> {
    try LabeledSamples(samples: Tensor(shape: [images.count] + sampleShape, scalars: images.images), labels: images.labels)
  }

  /// The sample shape an architecture wants for images of `height` × `width`.
  static func sampleShape(for architecture: Architecture, height: Int, width: Int) -> [Int] {
    architecture.takesImages ? [1, height, width] : [height * width]
  }
}
