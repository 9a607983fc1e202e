import Testing

@testable import Datasets

@Suite("LabeledImages")
struct LabeledImagesTests {
  /// Three 2 × 2 images with labels 2, 0, 2 of 4 classes.
  static let sample = LabeledImages(
    images: [0, 0.25, 0.5, 1, 0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9], labels: [2, 0, 2], height: 2, width: 2,
    classCount: 4)

  @Test("A byte x becomes exactly x / 255")
  func unitScale() {
    let bytes = (0...255).map(UInt8.init)
    let images = LabeledImages(pixelBytes: bytes, labels: [1], height: 16, width: 16, classCount: 10)
    #expect(images.images == bytes.map { Float($0) / 255 })
    #expect(images.images.first == 0)
    #expect(images.images.last == 1)
    #expect(images.labels == [1])
  }

  @Test("Counts and sizes")
  func counts() {
    let images = Self.sample
    #expect(images.count == 3)
    #expect(images.pixelsPerImage == 4)
    #expect(images.classCounts == [1, 0, 2, 0])
  }

  @Test("Binarizing keeps pixels above the threshold as 1 and sets the rest to 0")
  func binarized() {
    let images = Self.sample.binarized(threshold: 0.5)
    #expect(images.images == [0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1])
    #expect(images.labels == Self.sample.labels)
    #expect(images.height == 2 && images.width == 2 && images.classCount == 4)
    #expect(Self.sample.binarized(threshold: 0).images == [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1])
  }

  @Test("prefix keeps the first images, or all of them", arguments: [(0, 0), (2, 2), (3, 3), (10, 3)])
  func prefix(requested: Int, kept: Int) {
    let images = Self.sample.prefix(requested)
    #expect(images.count == kept)
    #expect(images.labels == Array(Self.sample.labels.prefix(kept)))
    #expect(images.images == Array(Self.sample.images.prefix(kept * 4)))
    #expect(images.classCount == 4)
  }

  @Test("subset picks images in the order given, repeats included")
  func subset() {
    let images = Self.sample.subset(indices: [2, 0, 2])
    #expect(images.labels == [2, 2, 2])
    #expect(images.images == [0.6, 0.7, 0.8, 0.9, 0, 0.25, 0.5, 1, 0.6, 0.7, 0.8, 0.9])
    #expect(Self.sample.subset(indices: []).count == 0)
    #expect(Self.sample.subset(indices: 0..<3) == Self.sample)
  }
}
