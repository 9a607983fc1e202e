/// How a layer's weights start. Fan-in and fan-out follow PyTorch: for a weight of
/// shape [out, in] or [out, in, kh, kw], fan_in = in·kh·kw and fan_out = out·kh·kw.
///
/// | initializer | weight | bias |
/// |---|---|---|
/// | ``gaussian(standardDeviation:)`` | N(0, σ²) | 0 |
/// | ``xavierUniform`` | U(−a, a), a = √(6/(fan_in + fan_out)) (Glorot & Bengio 2010) | 0 |
/// | ``xavierNormal`` | N(0, 2/(fan_in + fan_out)) | 0 |
/// | ``heNormal`` | N(0, 2/fan_in), for ReLU (He et al. 2015, fan-in mode) | 0 |
/// | ``pytorchDefault`` | U(−1/√fan_in, 1/√fan_in) | U(−1/√fan_in, 1/√fan_in) |
///
/// ``pytorchDefault`` is what `torch.nn.Linear` and `torch.nn.Conv2d` do:
/// `kaiming_uniform_(a=√5)`, whose bound √3·√(2/(1 + a²))/√fan_in is 1/√fan_in.
public enum Initializer: Hashable, Sendable {
  /// N(0, σ²) weights and zero biases.
  case gaussian(standardDeviation: Double)
  /// Glorot & Bengio's uniform weights, U(±√(6/(fan_in + fan_out))), zero biases.
  case xavierUniform
  /// Glorot & Bengio's normal weights, N(0, 2/(fan_in + fan_out)), zero biases.
  case xavierNormal
  /// He et al.'s normal weights, N(0, 2/fan_in), zero biases.
  case heNormal
  /// PyTorch's `nn.Linear` and `nn.Conv2d` default: weights and biases U(±1/√fan_in).
  case pytorchDefault

  /// A weight of `shape`, [out, in] or [out, in, kh, kw], drawn from `generator`.
  public func weight<Scalar: NetworkScalar>(
    shape: [Int], using generator: inout some RandomNumberGenerator
  ) -> Tensor<Scalar> {
    let (fanIn, fanOut) = Self.fans(ofWeightShape: shape)
    let count = Tensor<Scalar>.elementCount(of: shape)
    let scalars: [Scalar]
    switch self {
    case .gaussian(let standardDeviation):
      scalars = Self.normal(count: count, standardDeviation: standardDeviation, using: &generator)
    case .xavierUniform:
      scalars = Self.uniform(count: count, bound: (6 / Double(fanIn + fanOut)).squareRoot(), using: &generator)
    case .xavierNormal:
      scalars = Self.normal(count: count, standardDeviation: (2 / Double(fanIn + fanOut)).squareRoot(), using: &generator)
    case .heNormal:
      scalars = Self.normal(count: count, standardDeviation: (2 / Double(fanIn)).squareRoot(), using: &generator)
    case .pytorchDefault:
      scalars = Self.uniform(count: count, bound: 1 / Double(fanIn).squareRoot(), using: &generator)
    }
    return Tensor(shape: shape, scalars: scalars)
  }

  /// A bias of `count` values for a layer with `fanIn` inputs per output: zeros, or
  /// U(−1/√fan_in, 1/√fan_in) under ``pytorchDefault``.
  public func bias<Scalar: NetworkScalar>(
    count: Int, fanIn: Int, using generator: inout some RandomNumberGenerator
  ) -> Tensor<Scalar> {
    guard self == .pytorchDefault else { return Tensor(zeros: [count]) }
    return Tensor(shape: [count], scalars: Self.uniform(count: count, bound: 1 / Double(fanIn).squareRoot(), using: &generator))
  }

  /// PyTorch's fan-in and fan-out of a weight [out, in, kernel…]: in·receptive field
  /// and out·receptive field, at least 1.
  public static func fans(ofWeightShape shape: [Int]) -> (fanIn: Int, fanOut: Int) {
    let receptiveField = shape.dropFirst(2).reduce(1, *)
    let outputs = shape.first ?? 1
    let inputs = shape.count > 1 ? shape[1] : 1
    return (max(1, inputs * receptiveField), max(1, outputs * receptiveField))
  }

  private static func uniform<Scalar: NetworkScalar>(
    count: Int, bound: Double, using generator: inout some RandomNumberGenerator
  ) -> [Scalar] {
    (0..<count).map { _ in Scalar(Double.random(in: -bound..<bound, using: &generator)) }
  }

  private static func normal<Scalar: NetworkScalar>(
    count: Int, standardDeviation: Double, using generator: inout some RandomNumberGenerator
  ) -> [Scalar] {
    (0..<count).map { _ in Scalar(standardDeviation * standardNormal(using: &generator)) }
  }
}
