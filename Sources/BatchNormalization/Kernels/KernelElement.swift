import HalfPrecision

/// What the reduction kernels read a batch's values as: the element type in memory, and
/// the floating-point type they compute in — the element itself for Float and Double,
/// Float for the 16-bit storage types (widened exactly, so a half batch's statistics
/// are those of the same values as Float, bit for bit).
protocol KernelElement {
  associatedtype Value: BatchNormScalar
  /// Values `index..<index + 8` at `base`, as `Value`s; the caller keeps them inside the buffer.
  static func loadVector(_ base: UnsafePointer<Self>, at index: Int) -> SIMD8<Value>
  /// The value at `base + index`, as a `Value`.
  static func value(_ base: UnsafePointer<Self>, at index: Int) -> Value
}

extension Float: KernelElement {
  @inline(__always)
  static func loadVector(_ base: UnsafePointer<Float>, at index: Int) -> SIMD8<Float> { base.loadVector(at: index) }
  @inline(__always)
  static func value(_ base: UnsafePointer<Float>, at index: Int) -> Float { base[index] }
}

extension Double: KernelElement {
  @inline(__always)
  static func loadVector(_ base: UnsafePointer<Double>, at index: Int) -> SIMD8<Double> { base.loadVector(at: index) }
  @inline(__always)
  static func value(_ base: UnsafePointer<Double>, at index: Int) -> Double { base[index] }
}

extension BFloat16: KernelElement {
  @inline(__always)
  static func loadVector(_ base: UnsafePointer<BFloat16>, at index: Int) -> SIMD8<Float> { loadFloats(from: base, at: index) }
  @inline(__always)
  static func value(_ base: UnsafePointer<BFloat16>, at index: Int) -> Float { base[index].floatValue }
}

#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
  extension Float16: KernelElement {
    @inline(__always)
    static func loadVector(_ base: UnsafePointer<Float16>, at index: Int) -> SIMD8<Float> { loadFloats(from: base, at: index) }
    @inline(__always)
    static func value(_ base: UnsafePointer<Float16>, at index: Int) -> Float { Float(base[index]) }
  }
#endif

/// `body` on `elements` as the concrete Float or Double elements they are: the entry from
/// code generic over ``BatchNormScalar`` into kernels generic over ``KernelElement``. The
/// branch folds away in each specialization.
@inline(__always)
func withKernelElements<Scalar: BatchNormScalar, Result>(
  _ elements: BatchElements<Scalar>, float: (BatchElements<Float>) -> Result, double: (BatchElements<Double>) -> Result
) -> Result {
  // This is safe: each cast is to the type the elements already have.
  Scalar.self == Float.self
    ? float(unsafeBitCast(elements, to: BatchElements<Float>.self))
    : double(unsafeBitCast(elements, to: BatchElements<Double>.self))
}

/// ``channelMoments(ofElements:shape:)`` of 16-bit storage, read in place for Float16 and
/// BFloat16 (another conforming type is widened first).
func halfPrecisionChannelMoments<Half: HalfPrecisionScalar>(of input: BatchElements<Half>, shape: BatchNormShape) -> [ChannelMoments] {
  // This is safe: each cast is to the type the elements already have.
  if Half.self == BFloat16.self {
    return channelMoments(ofElements: unsafeBitCast(input, to: BatchElements<BFloat16>.self), shape: shape)
  }
  #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
    if Half.self == Float16.self {
      return channelMoments(ofElements: unsafeBitCast(input, to: BatchElements<Float16>.self), shape: shape)
    }
  #endif
  return withElements(of: Half.widened(Array(input.buffer))) { channelMoments(ofElements: $0, shape: shape) }
}
