/// Per-channel batch statistics (count, mean, M2) in one pass over the input.
///
/// Each fixed-size block sums v = x − K and v² in Double, where K is the block's first
/// value of that channel (shifted sums: no cancellation while the block's values lie
/// within a few standard deviations of K, and a constant channel gives exactly 0).
/// Blocks then merge in order with Chan's update (``ChannelMoments/merge(_:)``).
func computeChannelMoments<Scalar: BatchNormScalar>(
  input: UnsafeBufferPointer<Scalar>, shape: BatchNormShape,
  into moments: UnsafeMutableBufferPointer<ChannelMoments>
) {
  assert(input.count == shape.elementCount && moments.count == shape.channels)
  guard let base = input.baseAddress else { return }
  switch shape.kernelLayout {
  case .channelsFirst: channelsFirstMoments(base, shape: shape, into: moments)
  case .channelsLast: channelsLastMoments(base, shape: shape, into: moments)
  }
}

/// The moments of values given as (v = x − shift) sums.
@inline(__always)
func momentsFromShiftedSums(count: Int, shift: Double, sum: Double, sumOfSquares: Double) -> ChannelMoments {
  let n = Double(count)
  return ChannelMoments(
    count: count, mean: shift + sum / n,
    sumOfSquaredDeviations: max(0, sumOfSquares - sum * (sum / n)))
}

// MARK: Channels-first: each (sample, channel) plane is contiguous.

private func channelsFirstMoments<Scalar: BatchNormScalar>(
  _ base: UnsafePointer<Scalar>, shape: BatchNormShape, into moments: UnsafeMutableBufferPointer<ChannelMoments>
) {
  let valuesPerChannel = shape.valuesPerChannel
  let blocksPerChannel = (valuesPerChannel + reductionBlockLength - 1) / reductionBlockLength
  func block(_ item: Int) -> ChannelMoments {
    let channel = item / blocksPerChannel
    let start = (item % blocksPerChannel) * reductionBlockLength
    let range = start..<min(valuesPerChannel, start + reductionBlockLength)
    return channelsFirstBlockMoments(base, channel: channel, range: range, shape: shape)
  }
  if blocksPerChannel == 1 {
    parallelFor(shape.channels, costPerItem: valuesPerChannel) { channels in
      for channel in channels { moments[channel] = block(channel) }
    }
    return
  }
  let partials = [ChannelMoments](unsafeUninitializedCapacity: shape.channels * blocksPerChannel) { buffer, initialized in
    parallelFor(buffer.count, costPerItem: reductionBlockLength) { items in
      for item in items { (buffer.baseAddress! + item).initialize(to: block(item)) }
    }
    initialized = buffer.count
  }
  for channel in 0..<shape.channels {
    var total = ChannelMoments.empty
    for index in channel * blocksPerChannel..<(channel + 1) * blocksPerChannel { total.merge(partials[index]) }
    moments[channel] = total
  }
}

private func channelsFirstBlockMoments<Scalar: BatchNormScalar>(
  _ base: UnsafePointer<Scalar>, channel: Int, range: Range<Int>, shape: BatchNormShape
) -> ChannelMoments {
  var shift = 0.0
  forEachChannelsFirstRun(channel: channel, range: range.lowerBound..<range.lowerBound + 1, shape: shape) {
    offset, _ in shift = Double(base[offset])
  }
  let shiftVector = SIMD8<Double>(repeating: shift)
  var sums = SIMD8<Double>()
  var squares = SIMD8<Double>()
  var tailSum = 0.0
  var tailSquares = 0.0
  forEachChannelsFirstRun(channel: channel, range: range, shape: shape) { offset, length in
    let run = base + offset
    var index = 0
    while index + 8 <= length {
      let deviation = Scalar.widened(run.loadVector(at: index)) - shiftVector
      sums += deviation
      squares += deviation * deviation
      index += 8
    }
    while index < length {
      let deviation = Double(run[index]) - shift
      tailSum += deviation
      tailSquares += deviation * deviation
      index += 1
    }
  }
  return momentsFromShiftedSums(
    count: range.count, shift: shift, sum: sums.sum() + tailSum, sumOfSquares: squares.sum() + tailSquares)
}

// MARK: Channels-last: each (sample, position) row of C values is contiguous.

private func channelsLastMoments<Scalar: BatchNormScalar>(
  _ base: UnsafePointer<Scalar>, shape: BatchNormShape, into moments: UnsafeMutableBufferPointer<ChannelMoments>
) {
  let rows = shape.valuesPerChannel
  let width = min(shape.channels, channelsLastChunkWidth)
  let chunks = (shape.channels + width - 1) / width
  let rowsPerBlock = max(1, reductionBlockLength / width)
  let blocks = (rows + rowsPerBlock - 1) / rowsPerBlock
  // Work item = (row block, channel chunk); partial results land at [block · C + channel].
  func reduce(_ item: Int, into destination: UnsafeMutablePointer<ChannelMoments>) {
    let block = item / chunks
    let firstChannel = (item % chunks) * width
    let rowRange = block * rowsPerBlock..<min(rows, (block + 1) * rowsPerBlock)
    let channelRange = firstChannel..<min(shape.channels, firstChannel + width)
    channelsLastBlockMoments(
      base, rows: rowRange, channels: channelRange, stride: shape.channels,
      into: destination + block * shape.channels)
  }
  if blocks == 1 {
    parallelFor(chunks, costPerItem: rows * width) { items in
      for item in items { reduce(item, into: moments.baseAddress!) }
    }
    return
  }
  let partials = [ChannelMoments](unsafeUninitializedCapacity: blocks * shape.channels) { buffer, initialized in
    buffer.initialize(repeating: .empty)
    parallelFor(blocks * chunks, costPerItem: rowsPerBlock * width) { items in
      for item in items { reduce(item, into: buffer.baseAddress!) }
    }
    initialized = buffer.count
  }
  parallelFor(shape.channels, costPerItem: blocks * 4) { channels in
    for channel in channels {
      var total = ChannelMoments.empty
      for block in 0..<blocks { total.merge(partials[block * shape.channels + channel]) }
      moments[channel] = total
    }
  }
}

/// Shifted sums over `rows` × `channels` of a row-major buffer with `stride` columns,
/// written as moments to `destination[channel]`.
private func channelsLastBlockMoments<Scalar: BatchNormScalar>(
  _ base: UnsafePointer<Scalar>, rows: Range<Int>, channels: Range<Int>, stride: Int,
  into destination: UnsafeMutablePointer<ChannelMoments>
) {
  let width = channels.count
  withUnsafeTemporaryAllocation(of: Double.self, capacity: 3 * width) { scratch in
    // This is safe: scratch holds 3·width Doubles: shifts, sums, sums of squares.
    let shifts = scratch.baseAddress!
    let sums = shifts + width
    let squares = sums + width
    let firstRow = base + rows.lowerBound * stride + channels.lowerBound
    for column in 0..<width {
      shifts[column] = Double(firstRow[column])
      sums[column] = 0
      squares[column] = 0
    }
    for row in rows {
      let values = base + row * stride + channels.lowerBound
      var column = 0
      while column + 8 <= width {
        let deviation = Scalar.widened(values.loadVector(at: column)) - shifts.loadVector(at: column)
        sums.storeVector(sums.loadVector(at: column) + deviation, at: column)
        squares.storeVector(squares.loadVector(at: column) + deviation * deviation, at: column)
        column += 8
      }
      while column < width {
        let deviation = Double(values[column]) - shifts[column]
        sums[column] += deviation
        squares[column] += deviation * deviation
        column += 1
      }
    }
    for column in 0..<width {
      destination[channels.lowerBound + column] = momentsFromShiftedSums(
        count: rows.count, shift: shifts[column], sum: sums[column], sumOfSquares: squares[column])
    }
  }
}
