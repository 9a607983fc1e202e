import ComputeRuntime

/// The two per-channel sums that training-mode backward needs, in Double:
/// Σ dy′ and Σ dy′·(x − center), where dy′ is dy masked by the fused activation.
struct GradientSums: Hashable {
  var sum: Double = 0
  var dot: Double = 0

  static func += (lhs: inout GradientSums, rhs: GradientSums) {
    lhs.sum += rhs.sum
    lhs.dot += rhs.dot
  }
}

/// Σ dy′ and Σ dy′·(x − center) per channel, in one pass over x and dy, blocked and
/// merged in a fixed order like the moments. As there, runs of at most
/// ``partialSumLength`` values per lane add up in the element type and then into
/// Double; a Float block whose sums overflowed is summed again in Double; a channels-last
/// block of fewer than ``minimumRowsForFloatSums`` rows sums in Double from the start. The
/// ReLU mask recomputes the forward output with the same coefficients and the same
/// arithmetic, so it matches forward bit for bit.
///
/// With `frozenGradInput`, the same pass also writes the input gradient of frozen
/// statistics, dx = dy′·scale (the coefficients are known before the pass), so frozen
/// backward reads x and dy once.
///
/// Channels-first planes are visited in memory order within a chunk of channels
/// (``channelsFirstChunk(_:)``): sample by sample, the chunk's channels in turn, so the
/// reads are long contiguous stretches rather than one plane per channel (with 14x14
/// planes, 784 bytes between jumps of C·S·4 bytes). Each channel's arithmetic is the same
/// in any chunk.
///
/// With `channelFinished` (channels-first only), one work item takes a whole channel: its
/// blocks in order, then `channelFinished(channel)` on the same thread once `sums` holds
/// its total, while the channel's values are still in cache, so backward can write that
/// channel's dx without reading x and dy from memory again (``backwardBlocksChannels(_:)``).
///
/// x and dy are read, and dx written, as `Element`s: Float or Double, or 16-bit storage
/// computed in Float exactly as Float input (``KernelElement``).
///
/// Assigns every channel's entry of `sums`, so the caller may pass uninitialized memory.
func computeGradientSums<Element: KernelElement>(
  input: UnsafeBufferPointer<Element>, gradOutput: UnsafeBufferPointer<Element>, shape: BatchNormShape,
  coefficients: ChannelCoefficients<Element.Value>, activation: FusedActivation,
  into sums: UnsafeMutableBufferPointer<GradientSums>,
  frozenGradInput: UnsafeMutableBufferPointer<Element>? = nil,
  channelFinished: ((_ channel: Int) -> Void)? = nil
) {
  assert(channelFinished == nil || shape.kernelLayout == .channelsFirst)
  assert(input.count == shape.elementCount && gradOutput.count == shape.elementCount)
  assert(frozenGradInput == nil || frozenGradInput!.count == shape.elementCount)
  guard let x = input.baseAddress, let dy = gradOutput.baseAddress else {
    sums.update(repeating: GradientSums())
    return
  }
  coefficients.withTable { table in
    let channels = shape.channels
    let context = GradientSumsContext(
      x: x, dy: dy, shape: shape, center: table, scale: table + channels, shift: table + 2 * channels,
      dx: frozenGradInput?.baseAddress)
    switch (activation == .relu, frozenGradInput != nil) {
    case (false, false): context.sums(into: sums, relu: SwitchOff.self, writesInputGradient: SwitchOff.self, channelFinished: channelFinished)
    case (false, true): context.sums(into: sums, relu: SwitchOff.self, writesInputGradient: SwitchOn.self, channelFinished: channelFinished)
    case (true, false): context.sums(into: sums, relu: SwitchOn.self, writesInputGradient: SwitchOff.self, channelFinished: channelFinished)
    case (true, true): context.sums(into: sums, relu: SwitchOn.self, writesInputGradient: SwitchOn.self, channelFinished: channelFinished)
    }
  }
}

/// Each channel's Σ dy′ and Σ dy′·(x − center), as
/// ``computeGradientSums(input:gradOutput:shape:coefficients:activation:into:frozenGradInput:channelFinished:)``,
/// in a new array (which the kernel fills without initializing it first).
func gradientSums<Element: KernelElement>(
  input: BatchElements<Element>, gradOutput: BatchElements<Element>, shape: BatchNormShape,
  coefficients: ChannelCoefficients<Element.Value>, activation: FusedActivation,
  frozenGradInput: MutableBatchElements<Element>? = nil
) -> [GradientSums] {
  [GradientSums](unsafeUninitializedCapacity: shape.channels) { sums, initialized in
    // The kernel assigns every channel's sums (a trivial type, so no prior initialization).
    computeGradientSums(
      input: input.buffer, gradOutput: gradOutput.buffer, shape: shape, coefficients: coefficients,
      activation: activation, into: sums, frozenGradInput: frozenGradInput?.buffer)
    initialized = shape.channels
  }
}

/// The pointers one gradient-sum pass reads. Lives only inside `computeGradientSums`.
private struct GradientSumsContext<Element: KernelElement> {
  typealias Scalar = Element.Value
  let x: UnsafePointer<Element>
  let dy: UnsafePointer<Element>
  let shape: BatchNormShape
  let center: UnsafePointer<Scalar>
  let scale: UnsafePointer<Scalar>
  let shift: UnsafePointer<Scalar>
  /// Where to write dy′·scale (frozen statistics), or nil.
  let dx: UnsafeMutablePointer<Element>?

  /// Both layouts, with the fused ReLU and the frozen input gradient as compile-time switches.
  func sums<ReLU: KernelSwitch, WritesInputGradient: KernelSwitch>(
    into sums: UnsafeMutableBufferPointer<GradientSums>, relu: ReLU.Type, writesInputGradient: WritesInputGradient.Type,
    channelFinished: ((Int) -> Void)?
  ) {
    switch shape.kernelLayout {
    case .channelsFirst:
      channelsFirst(into: sums, relu: relu, writesInputGradient: writesInputGradient, channelFinished: channelFinished)
    case .channelsLast: channelsLast(into: sums, relu: relu, writesInputGradient: writesInputGradient)
    }
  }

  /// dy where the fused ReLU passed its input, else 0.
  @inline(__always)
  func masked<ReLU: KernelSwitch>(
    _ gradient: SIMD8<Scalar>, _ value: SIMD8<Scalar>, center: UnsafePointer<Scalar>, scale: UnsafePointer<Scalar>,
    shift: UnsafePointer<Scalar>, at column: Int, relu: ReLU.Type
  ) -> SIMD8<Scalar> {
    guard ReLU.isOn else { return gradient }
    let output = (value - center.loadVector(at: column)) * scale.loadVector(at: column) + shift.loadVector(at: column)
    return gradient.replacing(with: 0, where: output .<= 0)
  }

  @inline(__always)
  func masked<ReLU: KernelSwitch>(
    _ gradient: SIMD8<Scalar>, _ value: SIMD8<Scalar>, center: SIMD8<Scalar>, scale: SIMD8<Scalar>, shift: SIMD8<Scalar>,
    relu: ReLU.Type
  ) -> SIMD8<Scalar> {
    guard ReLU.isOn else { return gradient }
    return gradient.replacing(with: 0, where: (value - center) * scale + shift .<= 0)
  }

  @inline(__always)
  func masked(_ gradient: Scalar, _ value: Scalar, center: Scalar, scale: Scalar, shift: Scalar, relu: Bool) -> Scalar {
    relu && (value - center) * scale + shift <= 0 ? 0 : gradient
  }

  // MARK: Channels-first

  func channelsFirst<ReLU: KernelSwitch, WritesInputGradient: KernelSwitch>(
    into sums: UnsafeMutableBufferPointer<GradientSums>, relu: ReLU.Type, writesInputGradient: WritesInputGradient.Type,
    channelFinished: ((Int) -> Void)?
  ) {
    let blocks = ChannelsFirstBlocks(shape, chunkWidth: channelFinished == nil ? nil : 1)
    let (blocksPerChannel, chunkWidth) = (blocks.blocksPerChannel, blocks.chunkWidth)
    if blocksPerChannel == 1 || channelFinished != nil {
      // The same sums as the merge below: a channel's blocks added in order from zero.
      parallelFor(blocks.chunks, costPerItem: (channelFinished == nil ? 2 : 5) * shape.valuesPerChannel * chunkWidth) {
        chunkRange in
        withUnsafeTemporaryAllocation(of: GradientSums.self, capacity: chunkWidth) { blockSums in
          for chunk in chunkRange {
            let channelRange = blocks.channels(ofChunk: chunk)
            // This is safe: blockSums holds one entry per channel of the chunk, indexed from its first.
            let blockSums = blockSums.baseAddress! - channelRange.lowerBound
            for block in 0..<blocksPerChannel {
              chunkBlock(
                channels: channelRange, range: blocks.values(ofBlock: block), into: blockSums, stride: 1, relu: relu,
                writesInputGradient: writesInputGradient)
              for channel in channelRange {
                if block == 0 { sums[channel] = blockSums[channel] } else { sums[channel] += blockSums[channel] }
              }
            }
            for channel in channelRange { channelFinished?(channel) }
          }
        }
      }
      return
    }
    // Partials at [channel · blocksPerChannel + block], merged per channel in block order.
    let partials = [GradientSums](unsafeUninitializedCapacity: shape.channels * blocksPerChannel) { buffer, initialized in
      // Every (channel, block) entry is assigned by exactly one work item (a trivial type).
      parallelFor(blocks.chunks * blocksPerChannel, costPerItem: 2 * blocks.blockLength * chunkWidth) { items in
        for item in items {
          let block = item % blocksPerChannel
          chunkBlock(
            channels: blocks.channels(ofChunk: item / blocksPerChannel), range: blocks.values(ofBlock: block),
            into: buffer.baseAddress! + block, stride: blocksPerChannel, relu: relu, writesInputGradient: writesInputGradient)
        }
      }
      initialized = buffer.count
    }
    for channel in 0..<shape.channels {
      var total = GradientSums()
      for index in channel * blocksPerChannel..<(channel + 1) * blocksPerChannel { total += partials[index] }
      sums[channel] = total
    }
  }

  /// The sums of `channels` over their values `range`, at destination[channel · stride]:
  /// Float run sums first for Float input, and Double for each channel whose Float sums
  /// are not finite.
  private func chunkBlock<ReLU: KernelSwitch, WritesInputGradient: KernelSwitch>(
    channels: Range<Int>, range: Range<Int>, into destination: UnsafeMutablePointer<GradientSums>, stride: Int,
    relu: ReLU.Type, writesInputGradient: WritesInputGradient.Type
  ) {
    withUnsafeTemporaryAllocation(of: ChannelAccumulator.self, capacity: channels.count) { accumulators in
      // This is safe: one accumulator per channel of the chunk, indexed from its first.
      let accumulators = accumulators.baseAddress! - channels.lowerBound
      if Scalar.self == Float.self {
        accumulate(
          channels: channels, range: range, into: accumulators, partial: Scalar.self, relu: relu,
          writesInputGradient: writesInputGradient)
        for channel in channels {
          var sums = accumulators[channel].total
          if !(sums.sum.isFinite && sums.dot.isFinite) {
            accumulate(
              channels: channel..<channel + 1, range: range, into: accumulators, partial: Double.self, relu: relu,
              writesInputGradient: writesInputGradient)
            sums = accumulators[channel].total
          }
          destination[channel * stride] = sums
        }
        return
      }
      accumulate(
        channels: channels, range: range, into: accumulators, partial: Double.self, relu: relu,
        writesInputGradient: writesInputGradient)
      for channel in channels { destination[channel * stride] = accumulators[channel].total }
    }
  }

  /// One channel's sums in progress: Double vectors that take each run's `Partial` lane
  /// sums, and Double tails.
  private struct ChannelAccumulator {
    var sum = SIMD8<Double>()
    var dot = SIMD8<Double>()
    var tail = GradientSums()

    var total: GradientSums { GradientSums(sum: sum.sum() + tail.sum, dot: dot.sum() + tail.dot) }
  }

  /// Starts `accumulators[c]` afresh for each of `channels` and adds their values `range`
  /// in memory order: the chunk's planes of one sample, then of the next.
  private func accumulate<Partial: BatchNormScalar, ReLU: KernelSwitch, WritesInputGradient: KernelSwitch>(
    channels: Range<Int>, range: Range<Int>, into accumulators: UnsafeMutablePointer<ChannelAccumulator>,
    partial: Partial.Type, relu: ReLU.Type, writesInputGradient: WritesInputGradient.Type
  ) {
    for channel in channels { (accumulators + channel).initialize(to: ChannelAccumulator()) }
    forEachChannelsFirstRun(channels: channels, range: range, shape: shape) { channel, offset, length in
      accumulateRun(
        channel: channel, offset: offset, length: length, into: &accumulators[channel], partial: partial, relu: relu,
        writesInputGradient: writesInputGradient)
    }
  }

  /// Adds one contiguous run of channel `channel` to its accumulator: `Partial` lanes
  /// summing 16 values per step (two independent vectors) for up to
  /// ``partialSumLength`` steps, then into Double.
  @inline(__always)
  private func accumulateRun<Partial: BatchNormScalar, ReLU: KernelSwitch, WritesInputGradient: KernelSwitch>(
    channel: Int, offset: Int, length: Int, into accumulator: inout ChannelAccumulator, partial: Partial.Type,
    relu: ReLU.Type, writesInputGradient: WritesInputGradient.Type
  ) {
    let centerScalar = center[channel]
    let scaleScalar = scale[channel]
    let shiftScalar = shift[channel]
    let centerVector = SIMD8<Scalar>(repeating: centerScalar)
    let scaleVector = SIMD8<Scalar>(repeating: scaleScalar)
    let shiftVector = SIMD8<Scalar>(repeating: shiftScalar)
    let partialCenter = SIMD8<Partial>(repeating: Partial(centerScalar))
    let values = x + offset
    let gradients = dy + offset
    let output = WritesInputGradient.isOn ? dx! + offset : nil
    /// dy′ at `index` as `Partial` lanes, after writing dy′·scale when frozen.
    @inline(__always) func gradient(_ index: Int) -> (gradient: SIMD8<Partial>, value: SIMD8<Partial>) {
      let value = Element.loadVector(values, at: index)
      let maskedGradient = masked(
        Element.loadVector(gradients, at: index), value, center: centerVector, scale: scaleVector, shift: shiftVector,
        relu: relu)
      if WritesInputGradient.isOn { Element.storeVector(maskedGradient * scaleVector, to: output!, at: index) }
      return (SIMD8<Partial>(maskedGradient), SIMD8<Partial>(value))
    }
    var index = 0
    while index + 16 <= length {
      let runEnd = min(length, index + 16 * partialSumLength)
      var sum0 = SIMD8<Partial>(), sum1 = SIMD8<Partial>()
      var dot0 = SIMD8<Partial>(), dot1 = SIMD8<Partial>()
      while index + 16 <= runEnd {
        let first = gradient(index)
        let second = gradient(index + 8)
        sum0 += first.gradient
        sum1 += second.gradient
        dot0 += first.gradient * (first.value - partialCenter)
        dot1 += second.gradient * (second.value - partialCenter)
        index += 16
      }
      accumulator.sum += SIMD8<Double>(sum0) + SIMD8<Double>(sum1)
      accumulator.dot += SIMD8<Double>(dot0) + SIMD8<Double>(dot1)
    }
    while index < length {
      let maskedGradient = masked(
        Element.value(gradients, at: index), Element.value(values, at: index), center: centerScalar, scale: scaleScalar, shift: shiftScalar, relu: ReLU.isOn)
      if WritesInputGradient.isOn { Element.store(maskedGradient * scaleScalar, to: output!, at: index) }
      let gradient = Double(maskedGradient)
      accumulator.tail.sum += gradient
      accumulator.tail.dot += gradient * (Double(Element.value(values, at: index)) - Double(centerScalar))
      index += 1
    }
  }

  // MARK: Channels-last

  func channelsLast<ReLU: KernelSwitch, WritesInputGradient: KernelSwitch>(
    into sums: UnsafeMutableBufferPointer<GradientSums>, relu: ReLU.Type, writesInputGradient: WritesInputGradient.Type
  ) {
    let rows = shape.valuesPerChannel
    let channels = shape.channels
    let width = min(channels, channelsLastChunkWidth)
    let chunks = (channels + width - 1) / width
    let rowsPerBlock = max(1, channelsLastBlockLength / width)
    let blocks = (rows + rowsPerBlock - 1) / rowsPerBlock
    func reduce(_ item: Int, into destination: UnsafeMutablePointer<GradientSums>) {
      let block = item / chunks
      let firstChannel = (item % chunks) * width
      channelsLastBlock(
        rows: block * rowsPerBlock..<min(rows, (block + 1) * rowsPerBlock),
        channels: firstChannel..<min(channels, firstChannel + width),
        into: destination + block * channels, relu: relu, writesInputGradient: writesInputGradient)
    }
    // Each column also costs about as much as a few rows (zeroing, converting and storing
    // its sums), which counts when rows are few and columns many (2x8192).
    if blocks == 1 {
      parallelFor(chunks, costPerItem: 2 * (rows + columnCostInRows) * width) { items in
        for item in items { reduce(item, into: sums.baseAddress!) }
      }
      return
    }
    let partials = [GradientSums](unsafeUninitializedCapacity: blocks * channels) { buffer, initialized in
      // Every (block, channel) entry is assigned by exactly one work item (a trivial type).
      parallelFor(blocks * chunks, costPerItem: 2 * (rowsPerBlock + columnCostInRows) * width) { items in
        for item in items { reduce(item, into: buffer.baseAddress!) }
      }
      initialized = buffer.count
    }
    // Summed in block order, row by row in memory order (see channelsLastMoments).
    parallelFor(channels, costPerItem: blocks * 2) { channelRange in
      for channel in channelRange { sums[channel] = partials[channel] }
      for block in 1..<blocks {
        for channel in channelRange { sums[channel] += partials[block * channels + channel] }
      }
    }
  }

  /// The sums over `rows` × `channels`, written to `destination[channel]`: in Double for
  /// fewer than ``minimumRowsForFloatSums`` rows; otherwise Float run sums first for Float
  /// input, and Double for the whole block when any is not finite.
  private func channelsLastBlock<ReLU: KernelSwitch, WritesInputGradient: KernelSwitch>(
    rows: Range<Int>, channels: Range<Int>, into destination: UnsafeMutablePointer<GradientSums>, relu: ReLU.Type, writesInputGradient: WritesInputGradient.Type
  ) {
    if rows.count < minimumRowsForFloatSums {
      return channelsLastFewRows(
        rows: rows, channels: channels, into: destination, relu: relu, writesInputGradient: writesInputGradient)
    }
    let width = channels.count
    withUnsafeTemporaryAllocation(of: Double.self, capacity: 2 * width) { scratch in
      // This is safe: scratch holds 2·width Doubles: Σdy′ per column, then Σdy′·(x − center).
      let sums = scratch.baseAddress!
      let dots = sums + width
      func store() {
        for column in 0..<width {
          destination[channels.lowerBound + column] = GradientSums(sum: sums[column], dot: dots[column])
        }
      }
      if Scalar.self == Float.self {
        blockSums(
          rows: rows, channels: channels, sums: sums, dots: dots, partial: Scalar.self, relu: relu,
          writesInputGradient: writesInputGradient)
        if allFinite(scratch.baseAddress!, count: 2 * width) { return store() }
      }
      blockSums(
        rows: rows, channels: channels, sums: sums, dots: dots, partial: Double.self, relu: relu,
        writesInputGradient: writesInputGradient)
      store()
    }
  }

  /// A block's sums with `Partial` run sums: a period at a time when C < 8 (the block's
  /// rows are then one contiguous run), else eight columns at a time.
  @inline(__always)
  private func blockSums<Partial: BatchNormScalar, ReLU: KernelSwitch, WritesInputGradient: KernelSwitch>(
    rows: Range<Int>, channels: Range<Int>, sums: UnsafeMutablePointer<Double>, dots: UnsafeMutablePointer<Double>,
    partial: Partial.Type, relu: ReLU.Type, writesInputGradient: WritesInputGradient.Type
  ) {
    if shape.channels < 8 {
      fewChannelsBlock(rows: rows, sums: sums, dots: dots, partial: partial, relu: relu, writesInputGradient: writesInputGradient)
    } else {
      channelsLastBlock(
        rows: rows, channels: channels, sums: sums, dots: dots, partial: partial, relu: relu,
        writesInputGradient: writesInputGradient)
    }
  }

  /// The sums of a block of channels-last rows when C < 8, where a vector holds more than
  /// one row (an (N, 3) batch) and the block's rows × C values are one contiguous run: a
  /// period of P = lcm(C, 8) values at a time, with center, scale and shift repeated over
  /// the period, so that the k-th vector of every period holds the same channels in the same
  /// lanes. Each lane adds into `Partial` run sums of at most ``partialSumLength`` periods,
  /// then into Double; at the end the lanes of each channel are added in lane order, and
  /// the values after the last whole period in Double one by one.
  private func fewChannelsBlock<Partial: BatchNormScalar, ReLU: KernelSwitch, WritesInputGradient: KernelSwitch>(
    rows: Range<Int>, sums: UnsafeMutablePointer<Double>, dots: UnsafeMutablePointer<Double>, partial: Partial.Type,
    relu: ReLU.Type, writesInputGradient: WritesInputGradient.Type
  ) {
    let channels = shape.channels
    var period = 8
    while period % channels != 0 { period += 8 }
    let vectors = period / 8
    let (start, end) = (rows.lowerBound * channels, rows.upperBound * channels)
    let periods = (end - start) / period
    sums.update(repeating: 0, count: channels)
    dots.update(repeating: 0, count: channels)
    withUnsafeTemporaryAllocation(of: Scalar.self, capacity: 3 * period) { pattern in
      withUnsafeTemporaryAllocation(of: SIMD8<Double>.self, capacity: 2 * vectors) { totals in
        withUnsafeTemporaryAllocation(of: SIMD8<Partial>.self, capacity: 3 * vectors) { runs in
          // This is safe: the pattern holds center, scale and shift over P values each;
          // totals and runs hold one vector per position of a period (runs: centers too);
          // each period's loads and stores stay inside its P elements, and start + P·periods ≤ end.
          let (centers, scales, shifts) = (pattern.baseAddress!, pattern.baseAddress! + period, pattern.baseAddress! + 2 * period)
          for index in 0..<period {
            (centers + index).initialize(to: center[index % channels])
            (scales + index).initialize(to: scale[index % channels])
            (shifts + index).initialize(to: shift[index % channels])
          }
          let (sumTotals, dotTotals) = (totals.baseAddress!, totals.baseAddress! + vectors)
          sumTotals.initialize(repeating: SIMD8(), count: 2 * vectors)
          let (runSums, runDots, partialCenters) = (runs.baseAddress!, runs.baseAddress! + vectors, runs.baseAddress! + 2 * vectors)
          for position in 0..<vectors {
            (partialCenters + position).initialize(to: SIMD8<Partial>(UnsafePointer(centers).loadVector(at: 8 * position)))
          }
          var done = 0
          while done < periods {
            let runEnd = min(periods, done + partialSumLength)
            runSums.initialize(repeating: SIMD8(), count: 2 * vectors)
            for index in done..<runEnd {
              let base = start + index * period
              for position in 0..<vectors {
                let (offset, column) = (base + 8 * position, 8 * position)
                let value = Element.loadVector(x, at: offset)
                let maskedGradient = masked(
                  Element.loadVector(dy, at: offset), value, center: centers, scale: scales, shift: shifts, at: column,
                  relu: relu)
                if WritesInputGradient.isOn {
                  Element.storeVector(maskedGradient * UnsafePointer(scales).loadVector(at: column), to: dx!, at: offset)
                }
                let gradient = SIMD8<Partial>(maskedGradient)
                runSums[position] += gradient
                runDots[position] += gradient * (SIMD8<Partial>(value) - partialCenters[position])
              }
            }
            for position in 0..<vectors {
              sumTotals[position] += SIMD8<Double>(runSums[position])
              dotTotals[position] += SIMD8<Double>(runDots[position])
            }
            done = runEnd
          }
          for position in 0..<vectors {
            for lane in 0..<8 {
              let channel = (8 * position + lane) % channels
              sums[channel] += sumTotals[position][lane]
              dots[channel] += dotTotals[position][lane]
            }
          }
        }
      }
    }
    for index in (start + periods * period)..<end {
      let channel = index % channels
      let maskedGradient = masked(
        Element.value(dy, at: index), Element.value(x, at: index), center: center[channel], scale: scale[channel],
        shift: shift[channel], relu: ReLU.isOn)
      if WritesInputGradient.isOn { Element.store(maskedGradient * scale[channel], to: dx!, at: index) }
      let gradient = Double(maskedGradient)
      sums[channel] += gradient
      dots[channel] += gradient * (Double(Element.value(x, at: index)) - Double(center[channel]))
    }
  }

  /// The sums of a block of fewer than ``minimumRowsForFloatSums`` rows, in Double from
  /// the start and straight into `destination[channel]`: eight columns at a time, each
  /// column's few rows added in a register. With thousands of columns and a handful of
  /// rows (2x8192), zeroing and merging run sums and checking them for overflow cost more
  /// than the sums themselves.
  private func channelsLastFewRows<ReLU: KernelSwitch, WritesInputGradient: KernelSwitch>(
    rows: Range<Int>, channels: Range<Int>, into destination: UnsafeMutablePointer<GradientSums>, relu: ReLU.Type,
    writesInputGradient: WritesInputGradient.Type
  ) {
    let stride = shape.channels
    var column = channels.lowerBound
    while column + 8 <= channels.upperBound {
      let centerVector = SIMD8<Double>(center.loadVector(at: column))
      var sum = SIMD8<Double>(), dot = SIMD8<Double>()
      for row in rows {
        let index = row * stride + column
        let value = Element.loadVector(x, at: index)
        let maskedGradient = masked(
          Element.loadVector(dy, at: index), value, center: center, scale: scale, shift: shift, at: column, relu: relu)
        if WritesInputGradient.isOn { Element.storeVector(maskedGradient * scale.loadVector(at: column), to: dx!, at: index) }
        let gradient = SIMD8<Double>(maskedGradient)
        sum += gradient
        dot += gradient * (SIMD8<Double>(value) - centerVector)
      }
      for lane in 0..<8 { destination[column + lane] = GradientSums(sum: sum[lane], dot: dot[lane]) }
      column += 8
    }
    while column < channels.upperBound {
      var sums = GradientSums()
      for row in rows {
        let index = row * stride + column
        let maskedGradient = masked(
          Element.value(dy, at: index), Element.value(x, at: index), center: center[column], scale: scale[column], shift: shift[column], relu: ReLU.isOn)
        if WritesInputGradient.isOn { Element.store(maskedGradient * scale[column], to: dx!, at: index) }
        let gradient = Double(maskedGradient)
        sums.sum += gradient
        sums.dot += gradient * (Double(Element.value(x, at: index)) - Double(center[column]))
      }
      destination[column] = sums
      column += 1
    }
  }

  /// Rows in the order of ``forEachRowStep(in:rowsPerStep:startRun:step:endRun:)``
  /// (``channelsLastRowsPerStep(_:scalar:)`` per step), eight columns per step; each column's dy′ and dy′·(x − center) add into
  /// `Partial` run sums, added into Double every ``partialSumLength`` rows. Columns past
  /// the last multiple of eight sum in Double.
  private func channelsLastBlock<Partial: BatchNormScalar, ReLU: KernelSwitch, WritesInputGradient: KernelSwitch>(
    rows: Range<Int>, channels: Range<Int>, sums: UnsafeMutablePointer<Double>, dots: UnsafeMutablePointer<Double>,
    partial: Partial.Type, relu: ReLU.Type, writesInputGradient: WritesInputGradient.Type
  ) {
    let width = channels.count
    let vectorWidth = width - width % 8
    let stride = shape.channels
    let centerRow = center + channels.lowerBound
    let scaleRow = scale + channels.lowerBound
    let shiftRow = shift + channels.lowerBound
    sums.update(repeating: 0, count: width)
    dots.update(repeating: 0, count: width)
    withUnsafeTemporaryAllocation(of: Partial.self, capacity: 3 * vectorWidth) { scratch in
      // This is safe: scratch holds 3·vectorWidth Partials: centers, run sums, run dot products.
      guard let centers = scratch.baseAddress else { return }
      let runSums = centers + vectorWidth
      let runDots = runSums + vectorWidth
      for column in 0..<vectorWidth { centers[column] = Partial(centerRow[column]) }
      forEachRowStep(in: rows, rowsPerStep: channelsLastRowsPerStep(shape, scalar: Scalar.self)) {
        runSums.update(repeating: 0, count: 2 * vectorWidth)
      } step: { row, rowCount in
        let offset = row * stride + channels.lowerBound
        var column = 0
        while column < vectorWidth {
          let partialCenter = centers.loadVector(at: column)
          var sum = SIMD8<Partial>()
          var dot = SIMD8<Partial>()
          for rowOffset in 0..<rowCount {
            let index = offset + rowOffset * stride + column
            let value = Element.loadVector(x, at: index)
            let maskedGradient = masked(
              Element.loadVector(dy, at: index), value, center: centerRow, scale: scaleRow, shift: shiftRow, at: column,
              relu: relu)
            if WritesInputGradient.isOn { Element.storeVector(maskedGradient * scaleRow.loadVector(at: column), to: dx!, at: index) }
            let gradient = SIMD8<Partial>(maskedGradient)
            sum += gradient
            dot += gradient * (SIMD8<Partial>(value) - partialCenter)
          }
          runSums.storeVector(runSums.loadVector(at: column) + sum, at: column)
          runDots.storeVector(runDots.loadVector(at: column) + dot, at: column)
          column += 8
        }
      } endRun: {
        var column = 0
        while column < vectorWidth {
          sums.storeVector(sums.loadVector(at: column) + SIMD8<Double>(runSums.loadVector(at: column)), at: column)
          dots.storeVector(dots.loadVector(at: column) + SIMD8<Double>(runDots.loadVector(at: column)), at: column)
          column += 8
        }
      }
    }
    for column in vectorWidth..<width {
      for row in rows {
        let index = row * stride + channels.lowerBound + column
        let maskedGradient = masked(
          Element.value(dy, at: index), Element.value(x, at: index), center: centerRow[column], scale: scaleRow[column], shift: shiftRow[column],
          relu: ReLU.isOn)
        if WritesInputGradient.isOn { Element.store(maskedGradient * scaleRow[column], to: dx!, at: index) }
        let gradient = Double(maskedGradient)
        sums[column] += gradient
        dots[column] += gradient * (Double(Element.value(x, at: index)) - Double(centerRow[column]))
      }
    }
  }
}
