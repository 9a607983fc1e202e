import Foundation

/// Small labeled data sets made from a random number generator, for tests of the training
/// stack: a generator seeded the same way always gives the same data.
public enum SyntheticDataset {
  /// Gaussian clusters shaped as images, one cluster per class, with pixels in 0…1 like
  /// Fashion-MNIST's, so that they take the same code paths.
  ///
  /// Each class has a center whose every feature is drawn from N(0, separation²); a sample is
  /// its class's center plus N(0, 1) noise in every feature, and each feature z becomes the pixel
  /// 1 / (1 + e^−z), which keeps it inside 0…1 and keeps the clusters apart. Samples are
  /// interleaved by class: sample i has label i % classes. The generator draws the centers
  /// (class by class, feature by feature), then the samples in order.
  ///
  /// - Parameters:
  ///   - classes: The number of classes, at least 1.
  ///   - height: The image height; use 1 for plain feature vectors.
  ///   - width: The image width: the number of features when `height` is 1.
  ///   - samplesPerClass: The number of samples of each class.
  ///   - separation: The spread of the class centers in units of the within-class noise: 0 makes
  ///     the classes indistinguishable, 3 or more makes them easy to tell apart.
  ///   - generator: The source of randomness; seed it for reproducible data.
  public static func gaussianClusters(
    classes: Int, height: Int, width: Int, samplesPerClass: Int, separation: Float,
    using generator: inout some RandomNumberGenerator
  ) -> LabeledImages {
    precondition(classes >= 1, "classes must be at least 1, not \(classes)")
    precondition(height >= 1 && width >= 1, "the image size must be at least 1 × 1, not \(height) × \(width)")
    precondition(samplesPerClass >= 0, "samplesPerClass must not be negative, not \(samplesPerClass)")
    precondition(
      separation >= 0 && separation.isFinite, "separation must be finite and not negative, not \(separation)")
    let features = height * width
    let centers = (0..<(classes * features)).map { _ in
      Double(separation) * standardNormal(using: &generator)
    }
    let count = classes * samplesPerClass
    var images: [Float] = []
    images.reserveCapacity(count * features)
    for sample in 0..<count {
      let center = (sample % classes) * features
      for feature in 0..<features {
        let value = centers[center + feature] + standardNormal(using: &generator)
        images.append(Float(1 / (1 + exp(-value))))
      }
    }
    return LabeledImages(
      images: images, labels: (0..<count).map { $0 % classes }, height: height, width: width, classCount: classes)
  }

  /// A standard normal value from two uniform ones (Box–Muller).
  private static func standardNormal(using generator: inout some RandomNumberGenerator) -> Double {
    let radius = (-2 * log(Double.random(in: Double.ulpOfOne..<1, using: &generator))).squareRoot()
    return radius * cos(2 * Double.pi * Double.random(in: 0..<1, using: &generator))
  }
}
