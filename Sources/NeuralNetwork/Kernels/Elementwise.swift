import ComputeRuntime

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

/// A kernel that maps part of an input to the same part of an output (same count), every
/// element independently: an activation's forward pass.
typealias ElementwiseKernel<Scalar> = (_ input: UnsafeBufferPointer<Scalar>, _ output: UnsafeMutableBufferPointer<Scalar>) -> Void

/// `kernel` on every element of `input`, into a new array, the elements shared out between
/// the compute threads in ranges. `costPerElement` is the kernel's cost relative to a
/// copy (see `parallelFor`).
@inline(__always)
func mapElements<Scalar: NetworkScalar>(
  _ input: [Scalar], costPerElement: Int, kernel: ElementwiseKernel<Scalar>
) -> [Scalar] {
  let count = input.count
  // The kernel writes every element of each range; Scalar is a trivial type.
  return [Scalar](unsafeUninitializedCapacity: count) { output, initializedCount in
    input.withUnsafeBufferPointer { input in
      parallelFor(count, costPerItem: costPerElement) { range in
        kernel(UnsafeBufferPointer(rebasing: input[range]), UnsafeMutableBufferPointer(rebasing: output[range]))
      }
    }
    initializedCount = count
  }
}

/// `function` of every element of `input`, into a new array, as
/// ``mapElements(_:costPerElement:kernel:)``.
@inline(__always)
func mapElements<Scalar: NetworkScalar>(
  _ input: [Scalar], costPerElement: Int, _ function: (Scalar) -> Scalar
) -> [Scalar] {
  mapElements(input, costPerElement: costPerElement) { input, output in
    for index in input.indices { output[index] = function(input[index]) }
  }
}

/// Sets every element to zero in place, keeping the storage. Specialized: from a layer's
/// generic code, the generic `update(repeating:)` copied one value at a time through a
/// value witness.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func setToZero<Scalar: NetworkScalar>(_ values: inout [Scalar]) {
  values.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
}

/// Whether no element is NaN or ±∞: x·0 is ±0 for every finite x and NaN for the
/// others, so the sum of x·0 over the array is 0 exactly when every element is finite.
/// Summed in eight lanes without a branch per element: the training step checks every
/// gradient this way, and the generic loop it replaces took a third of an MLP step.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func allFinite<Scalar: NetworkScalar>(_ values: [Scalar]) -> Bool {
  values.withUnsafeBufferPointer { buffer in
    guard let base = buffer.baseAddress else { return true }
    // This is safe: every load reads eight values inside the buffer.
    let raw = UnsafeRawPointer(base)
    var lanes = SIMD8<Scalar>()
    var index = 0
    while index + 8 <= buffer.count {
      lanes += raw.loadUnaligned(fromByteOffset: index * MemoryLayout<Scalar>.stride, as: SIMD8<Scalar>.self) * 0
      index += 8
    }
    var tail: Scalar = 0
    while index < buffer.count {
      tail += buffer[index] * 0
      index += 1
    }
    return lanes.sum() + tail == 0
  }
}

/// The rows of a row-major matrix (`rowSize` values each) at `indices`, in that order,
/// in a new array: a batch gathered from a data set's samples.
/// Specialized for the index collections the training loops pass: unspecialized, the
/// generic iteration instantiated type metadata on every row.
/// - Precondition: every index addresses a whole row of `source`.
@_specialize(where Scalar == Float, Indices == ArraySlice<Int>)
@_specialize(where Scalar == Float, Indices == Range<Int>)
@_specialize(where Scalar == Float, Indices == [Int])
@_specialize(where Scalar == Double, Indices == ArraySlice<Int>)
@_specialize(where Scalar == Double, Indices == Range<Int>)
@_specialize(where Scalar == Double, Indices == [Int])
func gatherRows<Scalar, Indices: Collection<Int>>(_ source: [Scalar], rowSize: Int, at indices: Indices) -> [Scalar] {
  [Scalar](unsafeUninitializedCapacity: indices.count * rowSize) { batch, initializedCount in
    source.withUnsafeBufferPointer { source in
      var position = 0
      for index in indices {
        // Slicing checks the row's bounds.
        let row = UnsafeBufferPointer(rebasing: source[(index * rowSize)..<((index + 1) * rowSize)])
        _ = UnsafeMutableBufferPointer(rebasing: batch[(position * rowSize)..<((position + 1) * rowSize)])
          .initialize(fromContentsOf: row)
        position += 1
      }
    }
    initializedCount = indices.count * rowSize
  }
}
