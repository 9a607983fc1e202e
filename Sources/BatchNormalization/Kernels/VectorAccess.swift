/// Unaligned eight-lane loads and stores: the only raw memory access of the kernels.
///
/// Callers guarantee `index + 8 <= count` of the buffer the pointer came from; the
/// kernels check it with the loop bound `index + 8 <= length`.
extension UnsafePointer where Pointee: SIMDScalar {
  @inline(__always)
  func loadVector(at index: Int) -> SIMD8<Pointee> {
    // This is safe: the caller's loop bound keeps the 8 lanes inside the buffer, and
    // loadUnaligned has no alignment requirement.
    UnsafeRawPointer(self + index).loadUnaligned(as: SIMD8<Pointee>.self)
  }
}

extension UnsafeMutablePointer where Pointee: SIMDScalar {
  @inline(__always)
  func loadVector(at index: Int) -> SIMD8<Pointee> {
    UnsafePointer(self).loadVector(at: index)
  }

  @inline(__always)
  func storeVector(_ vector: SIMD8<Pointee>, at index: Int) {
    // This is safe: as for loadVector; storeBytes accepts unaligned addresses.
    UnsafeMutableRawPointer(self + index).storeBytes(of: vector, as: SIMD8<Pointee>.self)
  }
}

/// Whether all `count` values are finite, eight per step without a branch: v − v is 0 for
/// finite v and NaN for ±∞ and NaN. (With thousands of channels and a few rows, a
/// per-channel check with an early exit cost as much as the sums it checked.)
func allFinite(_ values: UnsafePointer<Double>, count: Int) -> Bool {
  var finite = SIMDMask<SIMD8<Int64>>(repeating: true)
  var index = 0
  while index + 8 <= count {
    let vector = values.loadVector(at: index)
    finite .&= (vector - vector) .== 0
    index += 8
  }
  return all(finite) && (index..<count).allSatisfy { values[$0].isFinite }
}
