import BatchNormalization

/// A batch-normalization operation the benchmark times, with the bytes per element it
/// must move at the least, in elements (times the element size: the bytes the model GB/s
/// is computed from).
enum BenchmarkOperation: String, CaseIterable {
  case inferenceForward = "inference-forward"
  case trainingForward = "training-forward"
  case backward
  case frozenBackward = "frozen-backward"

  /// Minimal memory traffic per element in units of the element size: inference reads x
  /// and writes y (2); training reads x for the statistics, then reads it again and writes
  /// y (3); backward reads x and dy twice and writes dx (5); frozen backward reads x and
  /// dy and writes dx (3: dx = dy·γ/σ alone needs only dy, but the layer is affine and
  /// ∂γ = Σ dy·x̂ needs x, as in PyTorch's backward with all three gradients).
  var elementsMovedPerElement: Int {
    switch self {
    case .inferenceForward: return 2
    case .trainingForward, .frozenBackward: return 3
    case .backward: return 5
    }
  }
}

/// The element type a row times: Float32, or 16-bit storage with Float32 statistics and
/// parameters (the library's half-precision entry points).
enum BenchmarkDType: String, CaseIterable {
  case float32, float16, bfloat16

  /// Bytes per element.
  var byteCount: Int { self == .float32 ? 4 : 2 }
}

/// One shape in one layout.
struct BenchmarkShape: CustomStringConvertible {
  let dimensions: [Int]
  let layout: ChannelLayout

  var description: String {
    let name = dimensions.map(String.init).joined(separator: "x")
    guard dimensions.count > 2 else { return "(N,C) \(name)" }
    return (layout == .channelsFirst ? "NC… " : "N…C ") + name
  }

  /// The shapes: (N, C) rows, then image tensors in both layouts. Channels-last
  /// dimensions are given in memory order (N, H, W, C). The last rows and images have
  /// channel counts that are not a multiple of the vector width (3, 37, 1000), and many
  /// rows of few channels.
  static let standard: [BenchmarkShape] = {
    let rows: [[Int]] = [[64, 100], [3136, 256], [128, 2048], [2, 8192], [8192, 3], [1024, 37], [256, 1000]]
    let images: [[Int]] = [[1, 256, 56, 56], [32, 64, 56, 56], [64, 256, 14, 14], [8, 32, 224, 224], [16, 3, 64, 64]]
    return rows.map { BenchmarkShape(dimensions: $0, layout: .channelsFirst) }
      + images.map { BenchmarkShape(dimensions: $0, layout: .channelsFirst) }
      + images.map { BenchmarkShape(dimensions: [$0[0], $0[2], $0[3], $0[1]], layout: .channelsLast) }
  }()

  /// Parses `64x100`, `1x256x56x56` (channels-first) or `nhwc:1x56x56x256`.
  init?(parsing text: String) {
    var body = Substring(text)
    var layout = ChannelLayout.channelsFirst
    if let colon = body.firstIndex(of: ":") {
      switch body[..<colon].lowercased() {
      case "nchw", "ncl", "ncdhw", "nc", "channels-first": layout = .channelsFirst
      case "nhwc", "nlc", "ndhwc", "channels-last": layout = .channelsLast
      default: return nil
      }
      body = body[body.index(after: colon)...]
    }
    let sizes = body.split(separator: "x").map { Int($0) }
    guard sizes.count >= 2, sizes.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
    self.init(dimensions: sizes.map { $0! }, layout: layout)
  }

  init(dimensions: [Int], layout: ChannelLayout) {
    self.dimensions = dimensions
    self.layout = layout
  }
}
