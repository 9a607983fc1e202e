import ComputeRuntime

/// ``parallelFor(_:costPerItem:minimumParallelWork:_:)`` over channels, in ranges that
/// start at multiples of 8 (so each thread's vector loops see whole groups of eight, as
/// a serial loop would). For the per-channel work between the element passes (inverse
/// square roots, coefficients, running statistics), which with thousands of channels and
/// few samples (2x8192) costs more than the passes themselves.
///
/// `costPerChannel` is in the same units as an element pass's `costPerItem` (about one
/// element's load, arithmetic and store).
func parallelForChannels(_ channels: Int, costPerChannel: Int, _ body: (Range<Int>) -> Void) {
  let groups = (channels + 7) / 8
  parallelFor(groups, costPerItem: 8 * costPerChannel) { groupRange in
    body(groupRange.lowerBound * 8..<min(channels, groupRange.upperBound * 8))
  }
}
