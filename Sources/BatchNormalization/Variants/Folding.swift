extension BatchNorm {
  /// The weight and bias of the affine map W′·u + b′ that equals this layer in inference
  /// mode applied after W·u + b (PyTorch's `fuse_linear_bn_eval` / `fuse_conv_bn_eval`
  /// formulas, the paper's §3.1 folding):
  /// ```
  /// W′[c, …] = W[c, …]·γ_c/√(Var_c + ε),   b′_c = (b_c − E_c)·γ_c/√(Var_c + ε) + β_c
  /// ```
  /// - Parameters:
  ///   - weight: the preceding map's weight with output channels first: [C, inputs] for a
  ///     linear layer, [C, inputs, kh, kw] for a convolution.
  ///   - bias: its bias ([C]), or `nil` for none (treated as 0).
  /// - Throws: ``BatchNormError`` if the sizes do not match C or there are no running
  ///   statistics.
  public func folded(weight: [Scalar], bias: [Scalar]?) throws(BatchNormError) -> (weight: [Scalar], bias: [Scalar]) {
    guard configuration.tracksRunningStatistics else {
      throw .unsupported(reason: "folding needs running statistics, but this layer does not track them")
    }
    try validate(shape: BatchNormShape(batch: 1, channels: channels), buffers: [])
    guard !weight.isEmpty, weight.count % channels == 0 else {
      throw .channelCountMismatch(name: "weight (output channels first)", expected: channels, actual: weight.count)
    }
    if let bias, bias.count != channels {
      throw .channelCountMismatch(name: "bias", expected: channels, actual: bias.count)
    }
    let rowLength = weight.count / channels
    var foldedWeight = weight
    var foldedBias = [Scalar]()
    // The same 1/√(Var + ε) as inference forward, so folded layers match it bit for bit.
    var inverse = runningStatistics.variance.map(Double.init)
    invertStandardDeviations(&inverse, epsilon: configuration.epsilon)
    for channel in 0..<channels {
      let factor = gamma(channel) * inverse[channel]
      for index in channel * rowLength..<(channel + 1) * rowLength {
        foldedWeight[index] = Scalar(Double(weight[index]) * factor)
      }
      let originalBias = bias.map { Double($0[channel]) } ?? 0
      foldedBias.append(Scalar((originalBias - Double(runningStatistics.mean[channel])) * factor + beta(channel)))
    }
    return (foldedWeight, foldedBias)
  }
}
