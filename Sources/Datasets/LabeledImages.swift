/// Grayscale images with one class label each: a training or test set.
///
/// `images` holds `count × height × width` pixels, image after image, each image row-major
/// (the layout of an `[N, H, W]` array, or `[N, 1, H, W]` with one channel). Pixels are on the
/// 0…1 scale: a byte x from a file becomes x / 255. Labels are class indices in
/// `0..<classCount`.
public struct LabeledImages: Equatable, Sendable {
  /// The pixels, `count × height × width` of them, image by image, each row-major, in 0…1.
  public let images: [Float]
  /// The class of each image, in `0..<classCount`.
  public let labels: [Int]
  /// The height of every image, in pixels.
  public let height: Int
  /// The width of every image, in pixels.
  public let width: Int
  /// The number of classes, which may exceed the largest label present plus one.
  public let classCount: Int

  /// The number of images.
  public var count: Int { labels.count }

  /// The number of pixels in one image: `height × width`.
  public var pixelsPerImage: Int { height * width }

  /// Images and their labels; `images` must hold `labels.count × height × width` pixels and
  /// every label must be in `0..<classCount`.
  public init(images: [Float], labels: [Int], height: Int, width: Int, classCount: Int) {
    precondition(height >= 0 && width >= 0, "negative image size \(height) × \(width)")
    precondition(
      images.count == labels.count * height * width,
      "\(images.count) pixels are not \(labels.count) images of \(height) × \(width)")
    precondition(
      labels.allSatisfy { (0..<classCount).contains($0) }, "a label is outside 0..<\(classCount)")
    self.images = images
    self.labels = labels
    self.height = height
    self.width = width
    self.classCount = classCount
  }

  /// Images from file bytes: each pixel byte x becomes x / 255; `labels` are already checked.
  init(pixelBytes: [UInt8], labels: [UInt8], height: Int, width: Int, classCount: Int) {
    self.init(
      images: unitScaled(pixelBytes), labels: labels.map(Int.init), height: height, width: width,
      classCount: classCount)
  }

  /// The number of images of each class: `classCounts[c]` images have label c.
  public var classCounts: [Int] {
    var counts = [Int](repeating: 0, count: classCount)
    for label in labels {
      counts[label] += 1
    }
    return counts
  }

  /// The same images with each pixel 1 where it is above `threshold` and 0 elsewhere
  /// (binarized MNIST, as in the paper's MNIST experiment); `threshold` is on the 0…1 scale.
  public func binarized(threshold: Float) -> LabeledImages {
    LabeledImages(
      images: binarizedPixels(images, threshold: threshold), labels: labels, height: height, width: width,
      classCount: classCount)
  }

  /// The first `count` images, or all of them when there are fewer.
  public func prefix(_ count: Int) -> LabeledImages {
    precondition(count >= 0, "a negative count \(count)")
    let kept = min(count, self.count)
    return LabeledImages(
      images: Array(images.prefix(kept * pixelsPerImage)), labels: Array(labels.prefix(kept)), height: height,
      width: width, classCount: classCount)
  }

  /// The images at `indices`, in that order (an index may repeat).
  public func subset(indices: some Sequence<Int>) -> LabeledImages {
    var selectedImages: [Float] = []
    var selectedLabels: [Int] = []
    for index in indices {
      precondition((0..<count).contains(index), "index \(index) is outside 0..<\(count)")
      selectedImages += images[(index * pixelsPerImage)..<((index + 1) * pixelsPerImage)]
      selectedLabels.append(labels[index])
    }
    return LabeledImages(
      images: selectedImages, labels: selectedLabels, height: height, width: width, classCount: classCount)
  }
}
