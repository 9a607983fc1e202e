/// The shape of a batch as batch normalization sees it: N samples, C channels, and S
/// spatial positions per channel (the product of the trailing dimensions; 1 for (N, C)).
///
/// Statistics are per channel over the m = N·S values of that channel.
public struct BatchNormShape: Hashable, Sendable, CustomStringConvertible {
  /// N, the number of samples.
  public let batch: Int
  /// C, the number of channels (features).
  public let channels: Int
  /// S, the number of spatial positions per sample and channel.
  public let spatial: Int
  /// Where the channel axis sits in memory.
  public let layout: ChannelLayout

  /// A shape from its three counts.
  /// - Throws: ``BatchNormError/invalidShape(dimensions:reason:)`` if a count is not positive.
  public init(batch: Int, channels: Int, spatial: Int = 1, layout: ChannelLayout = .channelsFirst) throws(BatchNormError) {
    let dimensions = [batch, channels, spatial]
    guard batch > 0, channels > 0, spatial > 0 else {
      throw .invalidShape(dimensions: dimensions, reason: "batch, channels and spatial sizes must be positive")
    }
    let (samplePlanes, planesOverflow) = batch.multipliedReportingOverflow(by: channels)
    let (_, elementsOverflow) = samplePlanes.multipliedReportingOverflow(by: spatial)
    guard !planesOverflow, !elementsOverflow else {
      throw .invalidShape(dimensions: dimensions, reason: "the element count overflows Int")
    }
    self.batch = batch
    self.channels = channels
    self.spatial = spatial
    self.layout = layout
  }

  /// A shape from an array's dimensions: (N, C, spatial…) channels-first, or
  /// (N, spatial…, C) channels-last. Rank must be at least 2.
  public init(dimensions: [Int], layout: ChannelLayout = .channelsFirst) throws(BatchNormError) {
    guard dimensions.count >= 2 else {
      throw .invalidShape(dimensions: dimensions, reason: "rank \(dimensions.count) is below 2; batch normalization needs (N, C, …)")
    }
    guard dimensions.allSatisfy({ $0 > 0 }) else {
      throw .invalidShape(dimensions: dimensions, reason: "every dimension must be positive")
    }
    let channelAxis = layout == .channelsFirst ? 1 : dimensions.count - 1
    var spatial = 1
    for (axis, size) in dimensions.enumerated() where axis != 0 && axis != channelAxis {
      let (product, overflow) = spatial.multipliedReportingOverflow(by: size)
      guard !overflow else { throw .invalidShape(dimensions: dimensions, reason: "the element count overflows Int") }
      spatial = product
    }
    do {
      try self.init(batch: dimensions[0], channels: dimensions[channelAxis], spatial: spatial, layout: layout)
    } catch let error {
      // Only the overflow check can fail here; report the caller's dimensions.
      if case .invalidShape(_, let reason) = error { throw .invalidShape(dimensions: dimensions, reason: reason) }
      throw error
    }
  }

  /// N·C·S.
  public var elementCount: Int { batch * channels * spatial }

  /// m = N·S, the number of values each channel's statistics are taken over.
  public var valuesPerChannel: Int { batch * spatial }

  /// The layout the kernels use: (N, C) with S = 1 is rows of C values in either layout,
  /// and the row kernels handle it without a loop per single-value plane.
  var kernelLayout: ChannelLayout { spatial == 1 ? .channelsLast : layout }

  /// The same shape restricted to `count` samples (a ghost batch). Samples are
  /// contiguous in both layouts, so the group starts at element `first · C · S`.
  func samples(count: Int) -> BatchNormShape {
    // This is safe: a sub-batch of a valid shape is valid.
    try! BatchNormShape(batch: count, channels: channels, spatial: spatial, layout: layout)
  }

  public var description: String {
    "(N: \(batch), C: \(channels), spatial: \(spatial), \(layout.rawValue))"
  }
}
