/// Where the channel axis sits in memory.
///
/// - `channelsFirst`: (N, C), (N, C, L), (N, C, H, W), (N, C, D, H, W): PyTorch's
///   default. Each (sample, channel) pair owns a contiguous plane of spatial values.
/// - `channelsLast`: (N, L, C), (N, H, W, C), (N, D, H, W, C): Keras', Flax's and
///   mlx-swift's default. Each (sample, position) owns a contiguous row of C values.
///
/// (N, C) is the same memory in both layouts.
public enum ChannelLayout: String, Sendable, Hashable, CaseIterable {
  /// The channel axis right after the batch: (N, C, …), PyTorch's default.
  case channelsFirst
  /// The channel axis last: (N, …, C), channels-last memory (NHWC).
  case channelsLast
}
