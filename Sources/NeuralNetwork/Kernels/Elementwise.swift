/// `body(first[i], second[i])` for every i: the backward passes of the activations and
/// dropout. An indexed loop over buffers, which the compiler vectorizes where `body`
/// allows, unlike `zip(_:_:).map`.
/// - Precondition: the arrays have the same count.
@inline(__always)
func combined<Scalar: NetworkScalar>(
  _ first: [Scalar], _ second: [Scalar], _ body: (Scalar, Scalar) -> Scalar
) -> [Scalar] {
  precondition(first.count == second.count, "elementwise operands differ in length")
  return [Scalar](unsafeUninitializedCapacity: first.count) { result, initializedCount in
    first.withUnsafeBufferPointer { first in
      second.withUnsafeBufferPointer { second in
        for index in 0..<first.count { result.initializeElement(at: index, to: body(first[index], second[index])) }
      }
    }
    initializedCount = first.count
  }
}
