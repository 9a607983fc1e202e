/// A dense array of scalars with a shape, in row-major (C) order: the last dimension
/// varies fastest, so an image batch [N, C, H, W] is NCHW and a matrix [rows, columns]
/// is stored row by row.
///
/// A value: copies share storage until one of them is written (Array's copy-on-write),
/// so passing a tensor to a layer, which keeps it for backward, costs no copy.
/// ``shape`` and ``scalars`` always agree: the shape is set only with the scalars, and
/// the scalars may change in place but never in number.
public struct Tensor<Scalar: NetworkScalar>: Hashable, Sendable {
  /// The size of every dimension.
  public private(set) var shape: [Int]
  /// The elements in row-major order; `scalars.count` is the product of ``shape``.
  /// - Precondition: an assignment keeps the count.
  public var scalars: [Scalar] {
    // No `oldValue`: in-place writes stay in place, and only the count is compared.
    didSet { precondition(scalars.count == count, "a tensor of shape \(shape) keeps \(count) scalars, got \(scalars.count)") }
  }
  /// The product of ``shape``, which ``scalars`` always holds.
  private let count: Int

  /// A tensor of `shape` holding `scalars` in row-major order.
  /// - Precondition: no dimension is negative and `scalars.count` is their product.
  public init(shape: [Int], scalars: [Scalar]) {
    precondition(Self.holds(scalars.count, shape: shape), "tensor shape \(shape) cannot hold \(scalars.count) scalars")
    self.shape = shape
    self.scalars = scalars
    self.count = scalars.count
  }

  /// A tensor of `shape` filled with zeros.
  public init(zeros shape: [Int]) {
    self.init(shape: shape, scalars: Array(repeating: 0, count: Self.elementCount(of: shape)))
  }

  /// The number of elements, the product of ``shape`` (1 for a scalar's shape []).
  public var elementCount: Int { count }

  /// The same scalars seen with another shape of the same element count (no copy).
  /// - Precondition: the element counts agree.
  public func reshaped(_ newShape: [Int]) -> Tensor {
    Tensor(shape: newShape, scalars: scalars)
  }

  /// Sets every scalar to zero in place, keeping the storage.
  mutating func setToZero() { NeuralNetwork.setToZero(&scalars) }

  /// Whether a tensor of `shape` holds exactly `count` scalars: no dimension is negative
  /// and their product is `count`.
  static func holds(_ count: Int, shape: [Int]) -> Bool {
    shape.allSatisfy { $0 >= 0 } && elementCount(of: shape) == count
  }

  /// The product of `shape`'s dimensions.
  static func elementCount(of shape: [Int]) -> Int {
    shape.reduce(1, *)
  }
}
