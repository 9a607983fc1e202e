/// Samples with one class label each, as training and evaluation take them.
///
/// `samples` is [N, …sampleShape]: sample n is the n-th block of
/// `sampleShape.reduce(1, *)` scalars, row-major (flattened images [N, 784], or images
/// [N, 1, 28, 28]). The training stack does not read files: callers convert their data
/// (the Datasets module's `LabeledImages`, say) once.
public struct LabeledSamples<Scalar: NetworkScalar>: Sendable {
  /// [N, …sampleShape].
  public let samples: Tensor<Scalar>
  /// N class labels, each ≥ 0.
  public let labels: [Int]

  /// - Throws: ``NetworkError/shapeMismatch(layer:expected:actual:)`` when `samples`
  ///   does not hold one sample per label, ``NetworkError/invalidLabel(sample:label:classCount:)``
  ///   for a negative label.
  public init(samples: Tensor<Scalar>, labels: [Int]) throws {
    guard samples.shape.count >= 2, samples.shape[0] == labels.count else {
      throw NetworkError.shapeMismatch(
        layer: "labeled samples", expected: "[\(labels.count), …] for \(labels.count) labels", actual: samples.shape)
    }
    if let sample = labels.firstIndex(where: { $0 < 0 }) {
      throw NetworkError.invalidLabel(sample: sample, label: labels[sample], classCount: (labels.max() ?? 0) + 1)
    }
    self.samples = samples
    self.labels = labels
  }

  /// N.
  public var count: Int { labels.count }
  /// One sample's shape.
  public var sampleShape: [Int] { Array(samples.shape.dropFirst()) }
  /// The scalars in one sample.
  public var sampleSize: Int { sampleShape.reduce(1, *) }

  /// The samples at `indices`, in that order, as one batch [indices.count, …sampleShape],
  /// and their labels.
  /// - Precondition: every index is in 0..<count.
  @_specialize(where Scalar == Float, Indices == ArraySlice<Int>)
  @_specialize(where Scalar == Float, Indices == Range<Int>)
  @_specialize(where Scalar == Float, Indices == [Int])
  public func gather<Indices: Collection<Int>>(_ indices: Indices) -> (samples: Tensor<Scalar>, labels: [Int]) {
    let scalars = gatherRows(samples.scalars, rowSize: sampleSize, at: indices)
    return (Tensor(shape: [indices.count] + sampleShape, scalars: scalars), indices.map { labels[$0] })
  }
}
