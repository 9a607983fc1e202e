import ComputeRuntime
import HalfPrecision

/// Per-channel batch statistics (count, mean, M2) in one pass over the input.
///
/// Each block (``channelsFirstBlockLength(_:)``, ``channelsLastBlockLength``) sums v = x − K and v² per channel, where K is the block's first
/// value of that channel (shifted sums: no cancellation while the block's values lie
/// within a few standard deviations of K, and a constant channel gives exactly 0).
/// Short runs of at most ``partialSumLength`` values per lane add up in the element type
/// (Float lanes are twice as many per register as Double lanes and need no widening),
/// and every run's total is added to Double accumulators. A Float block whose sums could
/// have lost digits to overflow or underflow (``ShiftedSums/isReliableInFloat``) is
/// summed again in Double. Blocks then merge in a fixed order: a channel's channels-first
/// blocks with Chan's update (``ChannelMoments/merge(_:)``), channels-last row blocks by
/// re-expressing their sums around the first block's shift (``ShiftedSums/add(_:)``),
/// which needs no division per block and channel.
func computeChannelMoments<Element: KernelElement>(
  input: BatchElements<Element>, shape: BatchNormShape,
  into moments: UnsafeMutableBufferPointer<ChannelMoments>
) {
  let input = input.buffer
  assert(input.count == shape.elementCount && moments.count == shape.channels)
  guard let base = input.baseAddress else { return }
  switch shape.kernelLayout {
  case .channelsFirst: channelsFirstMoments(base, shape: shape, into: moments)
  case .channelsLast: channelsLastMoments(base, shape: shape, into: moments)
  }
}

/// One channel's Σv and Σv² for v = x − shift, over `count` values.
struct ShiftedSums {
  var count: Int
  var shift: Double
  var sum: Double
  var squares: Double

  /// The moments these sums describe. Rounding can leave M2 a hair below 0, which is
  /// clamped; a NaN (∞ − ∞ from squares that overflowed) stays NaN, so the batch counts
  /// as non-finite instead of having variance 0.
  var moments: ChannelMoments {
    let n = Double(count)
    let squaredDeviations = squares - sum * (sum / n)
    return ChannelMoments(
      count: count, mean: shift + sum / n, sumOfSquaredDeviations: squaredDeviations < 0 ? 0 : squaredDeviations)
  }

  /// Adds `other`'s values, re-expressed around this shift K (no division, so merging
  /// many blocks stays cheap): with Δ = K_other − K and n = other's count,
  /// Σ(x − K) = Σ(x − K_other) + n·Δ and Σ(x − K)² = Σ(x − K_other)² + 2Δ·Σ(x − K_other) + n·Δ².
  mutating func add(_ other: ShiftedSums) {
    guard count > 0 else {
      self = other
      return
    }
    let delta = other.shift - shift
    let n = Double(other.count)
    sum += other.sum + n * delta
    squares += other.squares + delta * (2 * other.sum + n * delta)
    count += other.count
  }

  /// Whether sums made of Float squares kept Double's relative accuracy: they are finite
  /// (no v² overflowed), and the mean square is far above Float's subnormal range (no
  /// v² that matters underflowed), unless every deviation was exactly zero (a constant
  /// channel, whose Float sums are exact).
  var isReliableInFloat: Bool {
    guard sum.isFinite, squares.isFinite else { return false }
    return squares >= Double(count) * 0x1p-100 || (squares == 0 && sum == 0)
  }
}

/// Adds `Partial` lane sums of up to this many values each into Double, so a Float
/// partial sum never carries more than 32 roundings.
let partialSumLength = 32

// MARK: Channels-first: each (sample, channel) plane is contiguous.

/// Blocks and chunks of ``ChannelsFirstBlocks``, each channel's blocks merged in order. A
/// work item takes a chunk of channels and reads their planes in memory order, sample by
/// sample, rather than one channel's planes in turn; each channel's arithmetic is the same
/// in any chunk.
private func channelsFirstMoments<Element: KernelElement>(
  _ base: UnsafePointer<Element>, shape: BatchNormShape, into moments: UnsafeMutableBufferPointer<ChannelMoments>
) {
  let blocks = ChannelsFirstBlocks(shape)
  let blocksPerChannel = blocks.blocksPerChannel
  if blocksPerChannel == 1 {
    parallelFor(blocks.chunks, costPerItem: shape.valuesPerChannel * blocks.chunkWidth) { chunkRange in
      for chunk in chunkRange {
        chunkMoments(
          base, channels: blocks.channels(ofChunk: chunk), range: blocks.values(ofBlock: 0), shape: shape,
          into: moments.baseAddress!, stride: 1)
      }
    }
    return
  }
  // Partials at [channel · blocksPerChannel + block], merged per channel in block order.
  let partials = [ChannelMoments](unsafeUninitializedCapacity: shape.channels * blocksPerChannel) { buffer, initialized in
    // Every (channel, block) entry is assigned by exactly one work item (a trivial type).
    parallelFor(blocks.chunks * blocksPerChannel, costPerItem: blocks.blockLength * blocks.chunkWidth) { items in
      for item in items {
        let block = item % blocksPerChannel
        chunkMoments(
          base, channels: blocks.channels(ofChunk: item / blocksPerChannel), range: blocks.values(ofBlock: block),
          shape: shape, into: buffer.baseAddress! + block, stride: blocksPerChannel)
      }
    }
    initialized = buffer.count
  }
  for channel in 0..<shape.channels {
    var total = ChannelMoments.empty
    for index in channel * blocksPerChannel..<(channel + 1) * blocksPerChannel { total.merge(partials[index]) }
    moments[channel] = total
  }
}

/// The moments of `channels` over their values `range`, at destination[channel · stride]:
/// Float run sums first for Float input, and Double for each channel whose Float sums
/// are not reliable (``ShiftedSums/isReliableInFloat``).
private func chunkMoments<Element: KernelElement>(
  _ base: UnsafePointer<Element>, channels: Range<Int>, range: Range<Int>, shape: BatchNormShape,
  into destination: UnsafeMutablePointer<ChannelMoments>, stride: Int
) {
  withUnsafeTemporaryAllocation(of: ShiftedSums.self, capacity: channels.count) { sums in
    // This is safe: one entry per channel of the chunk, indexed from its first.
    let sums = sums.baseAddress! - channels.lowerBound
    if Element.Value.self == Float.self {
      chunkSums(base, channels: channels, range: range, shape: shape, into: sums, partial: Float.self)
      for channel in channels where !sums[channel].isReliableInFloat {
        chunkSums(base, channels: channel..<channel + 1, range: range, shape: shape, into: sums, partial: Double.self)
      }
    } else {
      chunkSums(base, channels: channels, range: range, shape: shape, into: sums, partial: Double.self)
    }
    for channel in channels { destination[channel * stride] = sums[channel].moments }
  }
}

/// One channel's shifted sums in progress: Double vectors that take each run's `Partial`
/// lane sums, and Double tails.
private struct ShiftedSumsAccumulator<Scalar: BatchNormScalar> {
  /// K, the channel's first value in the block.
  let shift: Scalar
  var sums = SIMD8<Double>()
  var squares = SIMD8<Double>()
  var tailSum = 0.0
  var tailSquares = 0.0

  init(shift: Scalar) { self.shift = shift }

  func total(count: Int) -> ShiftedSums {
    ShiftedSums(count: count, shift: Double(shift), sum: sums.sum() + tailSum, squares: squares.sum() + tailSquares)
  }
}

/// Σv and Σv² (v = x − K, K each channel's first value in `range`) of `channels` over
/// their values `range`, into `sums[channel]`, visiting the planes in memory order: the
/// chunk's planes of one sample, then of the next.
private func chunkSums<Element: KernelElement, Partial: BatchNormScalar>(
  _ base: UnsafePointer<Element>, channels: Range<Int>, range: Range<Int>, shape: BatchNormShape,
  into sums: UnsafeMutablePointer<ShiftedSums>, partial: Partial.Type
) {
  withUnsafeTemporaryAllocation(of: ShiftedSumsAccumulator<Element.Value>.self, capacity: channels.count) { accumulators in
    // This is safe: one accumulator per channel of the chunk, indexed from its first.
    let accumulators = accumulators.baseAddress! - channels.lowerBound
    for channel in channels {
      let shift = Element.value(base, at: channelsFirstOffset(channel: channel, index: range.lowerBound, shape: shape))
      (accumulators + channel).initialize(to: ShiftedSumsAccumulator(shift: shift))
    }
    forEachChannelsFirstRun(channels: channels, range: range, shape: shape) { channel, offset, length in
      addRun(base + offset, length: length, into: &accumulators[channel], partial: partial)
    }
    for channel in channels { sums[channel] = accumulators[channel].total(count: range.count) }
  }
}

/// Adds one contiguous run to a channel's sums: `Partial` lanes summing 16 values per
/// step (two independent vectors) for up to ``partialSumLength`` steps, then into Double.
@inline(__always)
private func addRun<Element: KernelElement, Partial: BatchNormScalar>(
  _ run: UnsafePointer<Element>, length: Int, into accumulator: inout ShiftedSumsAccumulator<Element.Value>,
  partial: Partial.Type
) {
  let shift = accumulator.shift
  let shiftVector = SIMD8<Partial>(repeating: Partial(shift))
  var index = 0
  while index + 16 <= length {
    let runEnd = min(length, index + 16 * partialSumLength)
    var sum0 = SIMD8<Partial>(), sum1 = SIMD8<Partial>()
    var squares0 = SIMD8<Partial>(), squares1 = SIMD8<Partial>()
    while index + 16 <= runEnd {
      let deviation0 = SIMD8<Partial>(Element.loadVector(run, at: index)) - shiftVector
      let deviation1 = SIMD8<Partial>(Element.loadVector(run, at: index + 8)) - shiftVector
      sum0 += deviation0
      sum1 += deviation1
      squares0 += deviation0 * deviation0
      squares1 += deviation1 * deviation1
      index += 16
    }
    accumulator.sums += SIMD8<Double>(sum0) + SIMD8<Double>(sum1)
    accumulator.squares += SIMD8<Double>(squares0) + SIMD8<Double>(squares1)
  }
  while index < length {
    let deviation = Double(Element.value(run, at: index)) - Double(shift)
    accumulator.tailSum += deviation
    accumulator.tailSquares += deviation * deviation
    index += 1
  }
}

// MARK: Channels-last: each (sample, position) row of C values is contiguous.

private func channelsLastMoments<Element: KernelElement>(
  _ base: UnsafePointer<Element>, shape: BatchNormShape, into moments: UnsafeMutableBufferPointer<ChannelMoments>
) {
  let rows = shape.valuesPerChannel
  let channels = shape.channels
  let width = min(channels, channelsLastChunkWidth)
  let chunks = (channels + width - 1) / width
  let rowsPerBlock = max(1, channelsLastBlockLength / width)
  let blocks = (rows + rowsPerBlock - 1) / rowsPerBlock
  // The Float layer's row order, whatever the storage: the same sums, bit for bit.
  let rowsPerStep = channelsLastRowsPerStep(shape, scalar: Element.Value.self)
  withUnsafeTemporaryAllocation(of: ShiftedSums.self, capacity: blocks * channels) { partials in
    // Work item = (row block, channel chunk); its sums land at partials[block · C + channel].
    parallelFor(blocks * chunks, costPerItem: (rowsPerBlock + columnCostInRows) * width) { items in
      for item in items {
        let block = item / chunks
        let firstChannel = (item % chunks) * width
        channelsLastBlockSums(
          base, rows: block * rowsPerBlock..<min(rows, (block + 1) * rowsPerBlock),
          channels: firstChannel..<min(channels, firstChannel + width), stride: channels, rowsPerStep: rowsPerStep,
          into: partials.baseAddress! + block * channels)
      }
    }
    // Block 0's row collects the later blocks in block order, read row by row in memory
    // order (a loop over blocks per channel would stride C·32 bytes and miss the cache).
    parallelFor(channels, costPerItem: blocks * 8) { channelRange in
      for block in 1..<blocks {
        for channel in channelRange { partials[channel].add(partials[block * channels + channel]) }
      }
      for channel in channelRange { moments[channel] = partials[channel].moments }
    }
  }
}

/// The shifted sums over `rows` × `channels` of a row-major buffer with `stride` columns,
/// initialized at `destination[channel]`: Float sums first for Float input, Double sums
/// for the whole block when any of its channels' Float sums is not reliable.
private func channelsLastBlockSums<Element: KernelElement>(
  _ base: UnsafePointer<Element>, rows: Range<Int>, channels: Range<Int>, stride: Int, rowsPerStep: Int,
  into destination: UnsafeMutablePointer<ShiftedSums>
) {
  let width = channels.count
  withUnsafeTemporaryAllocation(of: Double.self, capacity: 2 * width) { scratch in
    // This is safe: scratch holds 2·width Doubles: sums, then sums of squares.
    let sums = scratch.baseAddress!
    let squares = sums + width
    let firstRow = base + rows.lowerBound * stride + channels.lowerBound
    func blockSums(_ column: Int) -> ShiftedSums {
      ShiftedSums(count: rows.count, shift: Double(Element.value(firstRow, at: column)), sum: sums[column], squares: squares[column])
    }
    if Element.Value.self == Float.self && rows.count >= minimumRowsForFloatSums {
      channelsLastBlockSums(
        base, rows: rows, channels: channels, stride: stride, rowsPerStep: rowsPerStep, sums: sums, squares: squares,
        partial: Float.self)
      if allReliableInFloat(sums: sums, squares: squares, width: width, count: rows.count) {
        for column in 0..<width { (destination + channels.lowerBound + column).initialize(to: blockSums(column)) }
        return
      }
    }
    channelsLastBlockSums(
      base, rows: rows, channels: channels, stride: stride, rowsPerStep: rowsPerStep, sums: sums, squares: squares,
      partial: Double.self)
    for column in 0..<width { (destination + channels.lowerBound + column).initialize(to: blockSums(column)) }
  }
}

/// Whether every column's Float sums pass ``ShiftedSums/isReliableInFloat``, checked eight
/// columns per step without a branch (with thousands of channels and few rows the check
/// costs as much as the sums).
private func allReliableInFloat(
  sums: UnsafeMutablePointer<Double>, squares: UnsafeMutablePointer<Double>, width: Int, count: Int
) -> Bool {
  guard allFinite(sums, count: width), allFinite(squares, count: width) else { return false }
  let smallest = Double(count) * 0x1p-100
  var reliable = SIMDMask<SIMD8<Int64>>(repeating: true)
  var column = 0
  while column + 8 <= width {
    let sum = sums.loadVector(at: column), square = squares.loadVector(at: column)
    reliable .&= square .>= smallest .| (square .== 0 .& sum .== 0)
    column += 8
  }
  return all(reliable)
    && (column..<width).allSatisfy { column in
      ShiftedSums(count: count, shift: 0, sum: sums[column], squares: squares[column]).isReliableInFloat
    }
}

/// Σv and Σv² per column for v = x − (the block's first row), into `sums` and `squares`.
///
/// Rows in the order of ``forEachRowStep(in:rowsPerStep:startRun:step:endRun:)``,
/// `rowsPerStep` per step, eight columns per step; their deviations add into `Partial` run sums kept
/// per column, which are added into Double every ``partialSumLength`` rows. Columns past
/// the last multiple of eight sum in Double directly.
private func channelsLastBlockSums<Element: KernelElement, Partial: BatchNormScalar>(
  _ base: UnsafePointer<Element>, rows: Range<Int>, channels: Range<Int>, stride: Int, rowsPerStep: Int,
  sums: UnsafeMutablePointer<Double>, squares: UnsafeMutablePointer<Double>, partial: Partial.Type
) {
  let width = channels.count
  let vectorWidth = width - width % 8
  let first = base + rows.lowerBound * stride + channels.lowerBound
  for column in 0..<width {
    sums[column] = 0
    squares[column] = 0
  }
  withUnsafeTemporaryAllocation(of: Partial.self, capacity: 3 * vectorWidth) { scratch in
    // This is safe: scratch holds 3·vectorWidth Partials: shifts, run sums, run squares.
    guard let shifts = scratch.baseAddress else { return }
    let runSums = shifts + vectorWidth
    let runSquares = runSums + vectorWidth
    for column in 0..<vectorWidth { shifts[column] = Partial(Element.value(first, at: column)) }
    forEachRowStep(in: rows, rowsPerStep: rowsPerStep) {
      runSums.update(repeating: 0, count: 2 * vectorWidth)
    } step: { row, rowCount in
      let values = base + row * stride + channels.lowerBound
      var column = 0
      while column < vectorWidth {
        let shift = shifts.loadVector(at: column)
        var sum = SIMD8<Partial>(Element.loadVector(values, at: column)) - shift
        var square = sum * sum
        for rowOffset in 1..<rowCount {
          let deviation = SIMD8<Partial>(Element.loadVector(values, at: rowOffset * stride + column)) - shift
          sum += deviation
          square += deviation * deviation
        }
        runSums.storeVector(runSums.loadVector(at: column) + sum, at: column)
        runSquares.storeVector(runSquares.loadVector(at: column) + square, at: column)
        column += 8
      }
    } endRun: {
      var column = 0
      while column < vectorWidth {
        sums.storeVector(sums.loadVector(at: column) + SIMD8<Double>(runSums.loadVector(at: column)), at: column)
        squares.storeVector(
          squares.loadVector(at: column) + SIMD8<Double>(runSquares.loadVector(at: column)), at: column)
        column += 8
      }
    }
  }
  for column in vectorWidth..<width {
    let shift = Double(Element.value(first, at: column))
    for row in rows {
      let deviation = Double(Element.value(base, at: row * stride + channels.lowerBound + column)) - shift
      sums[column] += deviation
      squares[column] += deviation * deviation
    }
  }
}

/// Each channel's moments of `input` (`shape.elementCount` values), in a new array. A
/// channel whose shifted sums overflowed is measured again with ``scaledChannelMoments(of:shape:channel:)``.
///
/// `Stored` is Float or Double, or 16-bit storage read in place (``isKernelElement(_:)``).
func channelMoments<Stored>(of input: BatchElements<Stored>, shape: BatchNormShape) -> [ChannelMoments] {
  MomentsCall(input: input, shape: shape).runAsKnownElement()
}

/// ``channelMoments(ofElements:shape:)`` for the kernel element that `Stored` is.
private struct MomentsCall<Stored>: KernelCall {
  typealias Failure = Never
  let input: BatchElements<Stored>
  let shape: BatchNormShape

  func run<Element: KernelElement>(as element: Element.Type) -> [ChannelMoments] {
    channelMoments(ofElements: input.viewed(as: element), shape: shape)
  }
}

/// ``channelMoments(of:shape:)`` for any element the kernels read (16-bit storage too).
func channelMoments<Element: KernelElement>(ofElements input: BatchElements<Element>, shape: BatchNormShape) -> [ChannelMoments] {
  var moments = [ChannelMoments](unsafeUninitializedCapacity: shape.channels) { moments, initialized in
    moments.initialize(repeating: .empty)
    computeChannelMoments(input: input, shape: shape, into: moments)
    initialized = shape.channels
  }
  for channel in moments.indices where !moments[channel].isFinite {
    moments[channel] = scaledChannelMoments(of: input, shape: shape, channel: channel)
  }
  return moments
}

/// One channel's moments in scaled passes, for a channel whose shifted sums overflowed
/// (Double values near ±1e154, whose deviations square beyond Double's range). Every
/// value is divided by s, the power of two at the largest magnitude (exact), so nothing
/// overflows: mean = s·Σ(x/s)/n and M2 = s²·Σ((x − mean)/s)², which is ∞ only where the
/// true M2 lies beyond Double's range. A channel holding NaN or ∞ keeps NaN.
func scaledChannelMoments<Element: KernelElement>(
  of input: BatchElements<Element>, shape: BatchNormShape, channel: Int
) -> ChannelMoments {
  guard let values = input.buffer.baseAddress else { return .empty }
  let count = shape.valuesPerChannel
  let (channels, spatial) = (shape.channels, shape.spatial)
  // The channel's i-th value: planes of S values per sample (channels-first), or one
  // value in every row of C (channels-last, and (N, C) in either layout).
  let channelsFirst = shape.kernelLayout == .channelsFirst
  func value(_ index: Int) -> Double {
    channelsFirst
      ? Double(Element.value(values, at: (index / spatial * channels + channel) * spatial + index % spatial))
      : Double(Element.value(values, at: index * channels + channel))
  }
  var largest = 0.0
  for index in 0..<count {
    let magnitude = value(index).magnitude
    guard magnitude.isFinite else { return ChannelMoments(count: count, mean: .nan, sumOfSquaredDeviations: .nan) }
    largest = Swift.max(largest, magnitude)
  }
  guard largest > 0 else { return ChannelMoments(count: count, mean: 0, sumOfSquaredDeviations: 0) }
  let scale = Double(sign: .plus, exponent: largest.exponent, significand: 1)
  var sum = 0.0
  for index in 0..<count { sum += value(index) / scale }
  let scaledMean = sum / Double(count)
  var squares = 0.0
  for index in 0..<count {
    let deviation = value(index) / scale - scaledMean
    squares += deviation * deviation
  }
  return ChannelMoments(count: count, mean: scaledMean * scale, sumOfSquaredDeviations: squares * scale * scale)
}
