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
/// merged in a fixed order like the moments. The ReLU mask recomputes the forward
/// output with the same coefficients and the same arithmetic, so it matches forward
/// bit for bit.
///
/// With `frozenGradInput`, the same pass also writes the input gradient of frozen
/// statistics, dx = dy′·scale (the coefficients are known before the pass), so frozen
/// backward reads x and dy once.
func computeGradientSums<Scalar: BatchNormScalar>(
  input: UnsafeBufferPointer<Scalar>, gradOutput: UnsafeBufferPointer<Scalar>, shape: BatchNormShape,
  coefficients: ChannelCoefficients<Scalar>, activation: FusedActivation,
  into sums: UnsafeMutableBufferPointer<GradientSums>,
  frozenGradInput: UnsafeMutableBufferPointer<Scalar>? = nil
) {
  assert(input.count == shape.elementCount && gradOutput.count == shape.elementCount)
  assert(frozenGradInput == nil || frozenGradInput!.count == shape.elementCount)
  guard let x = input.baseAddress, let dy = gradOutput.baseAddress else { return }
  // One contiguous table of the three coefficient rows: center, scale, shift.
  let table = coefficients.center + coefficients.scale + coefficients.shift
  table.withUnsafeBufferPointer { table in
    let channels = shape.channels
    let context = GradientSumsContext(
      x: x, dy: dy, shape: shape, center: table.baseAddress!, scale: table.baseAddress! + channels,
      shift: table.baseAddress! + 2 * channels, relu: activation == .relu, dx: frozenGradInput?.baseAddress)
    switch shape.kernelLayout {
    case .channelsFirst: context.channelsFirst(into: sums)
    case .channelsLast: context.channelsLast(into: sums)
    }
  }
}

/// The pointers one gradient-sum pass reads. Lives only inside `computeGradientSums`.
private struct GradientSumsContext<Scalar: BatchNormScalar> {
  let x: UnsafePointer<Scalar>
  let dy: UnsafePointer<Scalar>
  let shape: BatchNormShape
  let center: UnsafePointer<Scalar>
  let scale: UnsafePointer<Scalar>
  let shift: UnsafePointer<Scalar>
  let relu: Bool
  /// Where to write dy′·scale (frozen statistics), or nil.
  let dx: UnsafeMutablePointer<Scalar>?

  /// dy where the fused ReLU passed its input, else 0.
  @inline(__always)
  func masked(_ gradient: SIMD8<Scalar>, _ value: SIMD8<Scalar>, center: SIMD8<Scalar>, scale: SIMD8<Scalar>, shift: SIMD8<Scalar>) -> SIMD8<Scalar> {
    guard relu else { return gradient }
    return gradient.replacing(with: 0, where: (value - center) * scale + shift .<= 0)
  }

  @inline(__always)
  func masked(_ gradient: Scalar, _ value: Scalar, center: Scalar, scale: Scalar, shift: Scalar) -> Scalar {
    relu && (value - center) * scale + shift <= 0 ? 0 : gradient
  }

  // MARK: Channels-first

  func channelsFirst(into sums: UnsafeMutableBufferPointer<GradientSums>) {
    let valuesPerChannel = shape.valuesPerChannel
    let blocksPerChannel = (valuesPerChannel + reductionBlockLength - 1) / reductionBlockLength
    func block(_ item: Int) -> GradientSums {
      let channel = item / blocksPerChannel
      let start = (item % blocksPerChannel) * reductionBlockLength
      return channelsFirstBlock(channel: channel, range: start..<min(valuesPerChannel, start + reductionBlockLength))
    }
    if blocksPerChannel == 1 {
      parallelFor(shape.channels, costPerItem: 2 * valuesPerChannel) { channels in
        for channel in channels { sums[channel] = block(channel) }
      }
      return
    }
    let partials = [GradientSums](unsafeUninitializedCapacity: shape.channels * blocksPerChannel) { buffer, initialized in
      parallelFor(buffer.count, costPerItem: 2 * reductionBlockLength) { items in
        for item in items { (buffer.baseAddress! + item).initialize(to: block(item)) }
      }
      initialized = buffer.count
    }
    for channel in 0..<shape.channels {
      var total = GradientSums()
      for index in channel * blocksPerChannel..<(channel + 1) * blocksPerChannel { total += partials[index] }
      sums[channel] = total
    }
  }

  private func channelsFirstBlock(channel: Int, range: Range<Int>) -> GradientSums {
    let centerScalar = center[channel]
    let scaleScalar = scale[channel]
    let shiftScalar = shift[channel]
    let centerVector = SIMD8<Scalar>(repeating: centerScalar)
    let scaleVector = SIMD8<Scalar>(repeating: scaleScalar)
    let shiftVector = SIMD8<Scalar>(repeating: shiftScalar)
    let centerWide = SIMD8<Double>(repeating: Double(centerScalar))
    var sumVector = SIMD8<Double>()
    var dotVector = SIMD8<Double>()
    var tail = GradientSums()
    forEachChannelsFirstRun(channel: channel, range: range, shape: shape) { offset, length in
      let values = x + offset
      let gradients = dy + offset
      let output = dx.map { $0 + offset }
      var index = 0
      while index + 8 <= length {
        let value = values.loadVector(at: index)
        let maskedGradient = masked(
          gradients.loadVector(at: index), value, center: centerVector, scale: scaleVector, shift: shiftVector)
        output?.storeVector(maskedGradient * scaleVector, at: index)
        let gradient = Scalar.widened(maskedGradient)
        sumVector += gradient
        dotVector += gradient * (Scalar.widened(value) - centerWide)
        index += 8
      }
      while index < length {
        let maskedGradient = masked(gradients[index], values[index], center: centerScalar, scale: scaleScalar, shift: shiftScalar)
        output?[index] = maskedGradient * scaleScalar
        let gradient = Double(maskedGradient)
        tail.sum += gradient
        tail.dot += gradient * (Double(values[index]) - Double(centerScalar))
        index += 1
      }
    }
    return GradientSums(sum: sumVector.sum() + tail.sum, dot: dotVector.sum() + tail.dot)
  }

  // MARK: Channels-last

  func channelsLast(into sums: UnsafeMutableBufferPointer<GradientSums>) {
    let rows = shape.valuesPerChannel
    let channels = shape.channels
    let width = min(channels, channelsLastChunkWidth)
    let chunks = (channels + width - 1) / width
    let rowsPerBlock = max(1, reductionBlockLength / width)
    let blocks = (rows + rowsPerBlock - 1) / rowsPerBlock
    func reduce(_ item: Int, into destination: UnsafeMutablePointer<GradientSums>) {
      let block = item / chunks
      let firstChannel = (item % chunks) * width
      channelsLastBlock(
        rows: block * rowsPerBlock..<min(rows, (block + 1) * rowsPerBlock),
        channels: firstChannel..<min(channels, firstChannel + width),
        into: destination + block * channels)
    }
    if blocks == 1 {
      parallelFor(chunks, costPerItem: 2 * rows * width) { items in
        for item in items { reduce(item, into: sums.baseAddress!) }
      }
      return
    }
    let partials = [GradientSums](unsafeUninitializedCapacity: blocks * channels) { buffer, initialized in
      buffer.initialize(repeating: GradientSums())
      parallelFor(blocks * chunks, costPerItem: 2 * rowsPerBlock * width) { items in
        for item in items { reduce(item, into: buffer.baseAddress!) }
      }
      initialized = buffer.count
    }
    parallelFor(channels, costPerItem: blocks * 2) { channelRange in
      for channel in channelRange {
        var total = GradientSums()
        for block in 0..<blocks { total += partials[block * channels + channel] }
        sums[channel] = total
      }
    }
  }

  private func channelsLastBlock(rows: Range<Int>, channels: Range<Int>, into destination: UnsafeMutablePointer<GradientSums>) {
    let width = channels.count
    let stride = shape.channels
    withUnsafeTemporaryAllocation(of: Double.self, capacity: 3 * width) { scratch in
      // This is safe: scratch holds 3·width Doubles: centers, sums, dot products.
      let centers = scratch.baseAddress!
      let sumRow = centers + width
      let dotRow = sumRow + width
      for column in 0..<width {
        centers[column] = Double(center[channels.lowerBound + column])
        sumRow[column] = 0
        dotRow[column] = 0
      }
      let centerRow = center + channels.lowerBound
      let scaleRow = scale + channels.lowerBound
      let shiftRow = shift + channels.lowerBound
      for row in rows {
        let values = x + row * stride + channels.lowerBound
        let gradients = dy + row * stride + channels.lowerBound
        let output = dx.map { $0 + row * stride + channels.lowerBound }
        var column = 0
        while column + 8 <= width {
          let value = values.loadVector(at: column)
          let scaleVector = scaleRow.loadVector(at: column)
          let maskedGradient = masked(
            gradients.loadVector(at: column), value, center: centerRow.loadVector(at: column),
            scale: scaleVector, shift: shiftRow.loadVector(at: column))
          output?.storeVector(maskedGradient * scaleVector, at: column)
          let gradient = Scalar.widened(maskedGradient)
          sumRow.storeVector(sumRow.loadVector(at: column) + gradient, at: column)
          dotRow.storeVector(
            dotRow.loadVector(at: column) + gradient * (Scalar.widened(value) - centers.loadVector(at: column)),
            at: column)
          column += 8
        }
        while column < width {
          let maskedGradient = masked(
            gradients[column], values[column], center: centerRow[column], scale: scaleRow[column], shift: shiftRow[column])
          output?[column] = maskedGradient * scaleRow[column]
          let gradient = Double(maskedGradient)
          sumRow[column] += gradient
          dotRow[column] += gradient * (Double(values[column]) - centers[column])
          column += 1
        }
      }
      for column in 0..<width {
        destination[channels.lowerBound + column] = GradientSums(sum: sumRow[column], dot: dotRow[column])
      }
    }
  }
}
