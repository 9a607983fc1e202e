import Datasets
import Testing

@Suite("Synthetic data sets")
struct SyntheticDatasetTests {
  /// Clusters from a generator seeded with `seed`.
  func clusters(seed: UInt64, classes: Int = 3, separation: Float = 4) -> LabeledImages {
    var generator = SplitMix64(seed: seed)
    return SyntheticDataset.gaussianClusters(
      classes: classes, height: 2, width: 4, samplesPerClass: 50, separation: separation, using: &generator)
  }

  @Test("The same seed gives the same data; another seed gives other data")
  func determinism() {
    #expect(clusters(seed: 7) == clusters(seed: 7))
    #expect(clusters(seed: 7).images != clusters(seed: 8).images)
  }

  @Test("Shape, interleaved labels and balanced classes", arguments: [1, 2, 10])
  func shape(classes: Int) {
    let data = clusters(seed: 1, classes: classes)
    #expect(data.count == 50 * classes)
    #expect(data.height == 2 && data.width == 4 && data.pixelsPerImage == 8)
    #expect(data.classCount == classes)
    #expect(data.labels.prefix(classes) == ArraySlice(0..<classes))
    #expect(data.classCounts == Array(repeating: 50, count: classes))
    #expect(data.images.allSatisfy { $0 > 0 && $0 < 1 })
  }

  @Test("Well-separated clusters are told apart by their nearest class mean")
  func separable() {
    let data = clusters(seed: 2, classes: 4, separation: 4)
    var means = [[Float]](repeating: Array(repeating: 0, count: 8), count: 4)
    for sample in 0..<data.count {
      for feature in 0..<8 {
        means[data.labels[sample]][feature] += data.images[sample * 8 + feature] / 50
      }
    }
    let correct = (0..<data.count).filter { sample in
      let pixels = data.images[(sample * 8)..<((sample + 1) * 8)]
      let distances = means.map { mean in zip(mean, pixels).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } }
      return distances.firstIndex(of: distances.min() ?? 0) == data.labels[sample]
    }
    #expect(correct.count >= 190)
  }
}
