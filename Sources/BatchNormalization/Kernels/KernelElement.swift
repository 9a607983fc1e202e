import HalfPrecision

/// What the kernels read and write a batch's values as: the element type in memory, and
/// the floating-point type they compute in — the element itself for Float and Double,
/// Float for the 16-bit storage types (widened exactly, so a half batch's statistics
/// are those of the same values as Float, bit for bit, and each result is the Float
/// layer's, rounded once to the storage type on the way out).
protocol KernelElement {
  associatedtype Value: BatchNormScalar
  /// Values `index..<index + 8` at `base`, as `Value`s; the caller keeps them inside the buffer.
  static func loadVector(_ base: UnsafePointer<Self>, at index: Int) -> SIMD8<Value>
  /// The value at `base + index`, as a `Value`.
  static func value(_ base: UnsafePointer<Self>, at index: Int) -> Value
  /// Writes `vector` to `index..<index + 8` at `base`, rounded to the element type.
  static func storeVector(_ vector: SIMD8<Value>, to base: UnsafeMutablePointer<Self>, at index: Int)
  /// Writes `value` to `base + index`, rounded to the element type.
  static func store(_ value: Value, to base: UnsafeMutablePointer<Self>, at index: Int)
}

extension Float: KernelElement {
  @inline(__always)
  static func loadVector(_ base: UnsafePointer<Float>, at index: Int) -> SIMD8<Float> { base.loadVector(at: index) }
  @inline(__always)
  static func value(_ base: UnsafePointer<Float>, at index: Int) -> Float { base[index] }
  @inline(__always)
  static func storeVector(_ vector: SIMD8<Float>, to base: UnsafeMutablePointer<Float>, at index: Int) {
    base.storeVector(vector, at: index)
  }
  @inline(__always)
  static func store(_ value: Float, to base: UnsafeMutablePointer<Float>, at index: Int) { base[index] = value }
}

extension Double: KernelElement {
  @inline(__always)
  static func loadVector(_ base: UnsafePointer<Double>, at index: Int) -> SIMD8<Double> { base.loadVector(at: index) }
  @inline(__always)
  static func value(_ base: UnsafePointer<Double>, at index: Int) -> Double { base[index] }
  @inline(__always)
  static func storeVector(_ vector: SIMD8<Double>, to base: UnsafeMutablePointer<Double>, at index: Int) {
    base.storeVector(vector, at: index)
  }
  @inline(__always)
  static func store(_ value: Double, to base: UnsafeMutablePointer<Double>, at index: Int) { base[index] = value }
}

extension BFloat16: KernelElement {
  @inline(__always)
  static func loadVector(_ base: UnsafePointer<BFloat16>, at index: Int) -> SIMD8<Float> { loadFloats(from: base, at: index) }
  @inline(__always)
  static func value(_ base: UnsafePointer<BFloat16>, at index: Int) -> Float { base[index].floatValue }
  @inline(__always)
  static func storeVector(_ vector: SIMD8<Float>, to base: UnsafeMutablePointer<BFloat16>, at index: Int) {
    storeFloats(vector, to: base, at: index)
  }
  @inline(__always)
  static func store(_ value: Float, to base: UnsafeMutablePointer<BFloat16>, at index: Int) {
    base[index] = BFloat16(rounding: value)
  }
}

#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
  extension Float16: KernelElement {
    @inline(__always)
    static func loadVector(_ base: UnsafePointer<Float16>, at index: Int) -> SIMD8<Float> { loadFloats(from: base, at: index) }
    @inline(__always)
    static func value(_ base: UnsafePointer<Float16>, at index: Int) -> Float { Float(base[index]) }
    @inline(__always)
    static func storeVector(_ vector: SIMD8<Float>, to base: UnsafeMutablePointer<Float16>, at index: Int) {
      storeFloats(vector, to: base, at: index)
    }
    @inline(__always)
    static func store(_ value: Float, to base: UnsafeMutablePointer<Float16>, at index: Int) {
      base[index] = Float16(value)
    }
  }
#endif

/// A kernel call on elements stored as `Stored`, made by ``runAsKnownElement()`` for the
/// concrete ``KernelElement`` that `Stored` is (Float, Double, BFloat16 or Float16), so
/// that the kernels are specialized for it: how code generic over ``BatchNormScalar`` or
/// `HalfPrecisionScalar` reaches them. The type tests fold away in each specialization.
protocol KernelCall {
  associatedtype Stored
  associatedtype Result
  associatedtype Failure: Error
  /// The call, with `Element` the same type as `Stored` (``BatchElements/viewed(as:)``).
  func run<Element: KernelElement>(as element: Element.Type) throws(Failure) -> Result
}

extension KernelCall {
  /// The call as the kernels of `Stored`, which must be Float, Double, BFloat16 or
  /// Float16 (``isKernelElement(_:)``; a 16-bit type of someone else's is widened to Float
  /// by the caller before it gets here, and traps here).
  func runAsKnownElement() throws(Failure) -> Result {
    if Stored.self == Float.self { return try run(as: Float.self) }
    if Stored.self == Double.self { return try run(as: Double.self) }
    if Stored.self == BFloat16.self { return try run(as: BFloat16.self) }
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      if Stored.self == Float16.self { return try run(as: Float16.self) }
    #endif
    preconditionFailure("no kernels read \(Stored.self)")
  }
}

/// Whether the kernels read and write `type` in place: Float, Double, BFloat16, Float16.
func isKernelElement<T>(_ type: T.Type) -> Bool { type is any KernelElement.Type }

extension BatchElements {
  /// The same elements typed as `Element`, which must be the type they are (a trap
  /// otherwise): the step from a generic scalar to the concrete kernel element.
  @inline(__always)
  func viewed<Element>(as element: Element.Type) -> BatchElements<Element> { self as! BatchElements<Element> }
}

extension MutableBatchElements {
  /// The same elements typed as `Element`, which must be the type they are.
  @inline(__always)
  func viewed<Element>(as element: Element.Type) -> MutableBatchElements<Element> {
    self as! MutableBatchElements<Element>
  }
}
