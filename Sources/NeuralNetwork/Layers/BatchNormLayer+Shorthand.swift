import BatchNormalization

// PyTorch's `nn.BatchNorm2d(64)` in as few words: `try .batchNorm2d(64)` wherever a
// layer is expected (a `Sequential`'s list, a `BatchNormLayer<Float>` variable).

extension Layer where Self == BatchNormLayer<Float> {
  /// `BatchNorm1d(channels)`: features [N, C] or sequences [N, C, L].
  public static func batchNorm1d(_ channels: Int, configuration: BatchNormConfiguration = .pytorch) throws -> Self {
    try BatchNormLayer(.batchNorm1d, channels: channels, configuration: configuration)
  }

  /// `BatchNorm2d(channels)`: images [N, C, H, W].
  public static func batchNorm2d(_ channels: Int, configuration: BatchNormConfiguration = .pytorch) throws -> Self {
    try BatchNormLayer(.batchNorm2d, channels: channels, configuration: configuration)
  }
}

extension Layer where Self == BatchNormLayer<Double> {
  /// `BatchNorm1d(channels)`: features [N, C] or sequences [N, C, L].
  public static func batchNorm1d(_ channels: Int, configuration: BatchNormConfiguration = .pytorch) throws -> Self {
    try BatchNormLayer(.batchNorm1d, channels: channels, configuration: configuration)
  }

  /// `BatchNorm2d(channels)`: images [N, C, H, W].
  public static func batchNorm2d(_ channels: Int, configuration: BatchNormConfiguration = .pytorch) throws -> Self {
    try BatchNormLayer(.batchNorm2d, channels: channels, configuration: configuration)
  }
}

extension Layer {
  /// The layer applied to `input`, as ``forward(_:mode:)``: `try layer(x, mode: .training)`.
  public mutating func callAsFunction(_ input: Tensor<Scalar>, mode: ExecutionMode) throws -> Tensor<Scalar> {
    try forward(input, mode: mode)
  }
}
