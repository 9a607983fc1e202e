// How the kernels cut their work: reduction blocks, channel chunks and row steps, the
// rules that choose them from the shape (never from the thread count, so results are the
// same for every thread count), and the loops that walk them.

/// The most values of one channel in a channels-first reduction block
/// (``channelsFirstBlockLength(_:)``; channels-last: ``channelsLastBlockLength``).
/// Statistics and gradient sums are computed per block and merged in block order, so the
/// result is the same for every thread count. A constant, never derived from the thread count.
let reductionBlockLength = 16_384

/// The length of one channels-last reduction block, in elements (rows × C): four times
/// ``reductionBlockLength``, because every channels-last block pays a setup per column
/// and leaves a partial per channel to merge (32 bytes each); longer blocks gained
/// nothing more. A constant, never derived from the thread count.
let channelsLastBlockLength = 65_536

/// The most channels one channels-last work item reduces at once: its Double
/// accumulators (3 × 512 × 8 B = 12 KiB) stay in L1.
let channelsLastChunkWidth = 512

/// A channels-last block of Float values with fewer rows than this takes its statistics
/// and gradient sums in Double from the start, skipping the Float run sums and the check
/// that they kept their digits: with a handful of rows per column (2x8192) the check cost
/// as much as the sums (the gradient sums add each column's rows in a register and store
/// them directly). A function of the block's rows, so of the shape.
let minimumRowsForFloatSums = 8

/// What one column of a channels-last block costs besides its rows, counted in rows, for
/// the parallel loops' cost estimates: zeroing its sums, converting and storing them, and
/// checking them, about as much as eight rows of loads and adds. With few rows and many
/// columns (2x8192) this overhead is most of the work.
let columnCostInRows = 8

/// The length of one channels-first reduction block, in values of one channel (logical
/// index n·S + s): as many whole samples as fit in ``reductionBlockLength`` when a plane
/// does, so that no block splits a plane and a chunk of channels reads whole planes;
/// otherwise ``reductionBlockLength`` (a block is part of one plane). A function of the
/// shape only.
func channelsFirstBlockLength(_ shape: BatchNormShape) -> Int {
  shape.spatial <= reductionBlockLength ? reductionBlockLength / shape.spatial * shape.spatial : reductionBlockLength
}

/// How many channels one channels-first work item visits together, plane by plane in
/// memory order (each sample's planes of those channels, then the next sample's), so that
/// the reads are long stretches that the hardware prefetcher streams. Reading one channel's
/// planes in turn, 14x14 planes (784 bytes between jumps of C·S·4 bytes) ran at a third of
/// the bandwidth that reading the same bytes in order did; 56x56 planes at two thirds; and
/// a C loop over 32x64x56x56 read 98 KB stretches (8 channels) at 51–59 GB/s and 784 KB
/// ones at 54–64 (`benchmarks/access_patterns.c`). The wider of two widths: enough channels
/// for a stretch of 65 536 values but at most an eighth of them; and, where blocks hold
/// whole samples, C divided (rounded up) among ⌈16 / blocks⌉ chunks, so that about 16 work
/// items (chunks × blocks) remain to split over threads. Where a block is part of a plane
/// (S > ``reductionBlockLength``) a chunk of several channels would read as many short
/// pieces, so only the first width applies. A function of the shape only; each channel's
/// arithmetic is the same in any chunk. (``BatchNormShape`` has at least one sample and
/// channel, so there is at least one block.)
func channelsFirstChunk(_ shape: BatchNormShape) -> Int {
  let narrow = max(1, min(channelsLastBlockLength / shape.spatial, (shape.channels + 7) / 8))
  guard shape.spatial <= reductionBlockLength else { return narrow }
  let blockLength = channelsFirstBlockLength(shape)
  let blocks = (shape.valuesPerChannel + blockLength - 1) / blockLength
  let chunks = (16 + blocks - 1) / blocks
  return max(narrow, (shape.channels + chunks - 1) / chunks)
}

/// How a channels-first reduction cuts its work: each channel's values (logical index
/// n·S + s) into blocks of ``channelsFirstBlockLength(_:)``, the channels into chunks of
/// `chunkWidth` (``channelsFirstChunk(_:)`` unless given), and the work into items
/// (chunk, block), numbered chunk by chunk. Partial results of a channel's blocks merge in
/// block order, so results do not depend on the thread count.
struct ChannelsFirstBlocks {
  let shape: BatchNormShape
  /// The values of one channel in a block (the last block may hold fewer).
  let blockLength: Int
  let blocksPerChannel: Int
  let chunkWidth: Int
  let chunks: Int

  init(_ shape: BatchNormShape, chunkWidth: Int? = nil) {
    self.shape = shape
    blockLength = channelsFirstBlockLength(shape)
    blocksPerChannel = (shape.valuesPerChannel + blockLength - 1) / blockLength
    self.chunkWidth = chunkWidth ?? channelsFirstChunk(shape)
    chunks = (shape.channels + self.chunkWidth - 1) / self.chunkWidth
  }

  /// The channels of chunk `chunk`.
  func channels(ofChunk chunk: Int) -> Range<Int> {
    chunk * chunkWidth..<min(shape.channels, (chunk + 1) * chunkWidth)
  }

  /// The values of block `block` of every channel.
  func values(ofBlock block: Int) -> Range<Int> {
    block * blockLength..<min(shape.valuesPerChannel, (block + 1) * blockLength)
  }
}

/// The offset in a channels-first buffer of channel `channel`'s value with logical index
/// `index` (index = n·S + s).
@inline(__always)
func channelsFirstOffset(channel: Int, index: Int, shape: BatchNormShape) -> Int {
  (index / shape.spatial * shape.channels + channel) * shape.spatial + index % shape.spatial
}

/// The shortest plane that the hardware prefetcher streams well on its own, so that
/// backward may visit a channel's planes one after another (224x224 has 49 Ki values).
let selfStreamingPlane = 16_384

/// Whether channels-first backward with batch statistics takes one channel at a time
/// (its sums, then its dx while its values are still in cache) rather than two passes
/// in memory order: when a channel's values are one contiguous plane (N = 1) or planes
/// of at least ``selfStreamingPlane`` values. Shorter planes read channel by channel
/// jump too often and lose to the two passes (`benchmarks/RESULTS.md`).
func backwardBlocksChannels(_ shape: BatchNormShape) -> Bool {
  shape.batch == 1 || shape.spatial >= selfStreamingPlane
}

/// Calls `body(channel, offset, length)` for each contiguous run of the values with logical
/// indices `range` (index i = n·S + s) of each of `channels`, in a channels-first buffer,
/// in memory order: one sample's runs of those channels (S apart), then the next sample's.
@inline(__always)
func forEachChannelsFirstRun(
  channels: Range<Int>, range: Range<Int>, shape: BatchNormShape,
  _ body: (_ channel: Int, _ offset: Int, _ length: Int) -> Void
) {
  var sample = range.lowerBound / shape.spatial
  var position = range.lowerBound % shape.spatial
  var remaining = range.count
  while remaining > 0 {
    let length = min(shape.spatial - position, remaining)
    for channel in channels { body(channel, (sample * shape.channels + channel) * shape.spatial + position, length) }
    remaining -= length
    sample += 1
    position = 0
  }
}

/// Rows at least this long, read two at a time, are two streams that the prefetcher
/// cannot both follow once the tensor is beyond the cache (``wideRowTensorBytes``).
let wideRowBytes = 1024

/// Tensors beyond this size are read from memory rather than from the caches.
let wideRowTensorBytes = 8 << 20

/// How many rows a channels-last reduction step combines before touching the run
/// accumulators: two (fewer loads and stores), except for rows of at least
/// ``wideRowBytes`` in a tensor beyond ``wideRowTensorBytes``. There the two rows are two
/// interleaved streams from memory, and the hardware prefetcher keeps up with one but not
/// with two (`benchmarks/RESULTS.md`). A function of the shape only, so results stay the
/// same for every thread count.
func channelsLastRowsPerStep<Scalar>(_ shape: BatchNormShape, scalar: Scalar.Type) -> Int {
  let size = MemoryLayout<Scalar>.size
  return shape.channels * size >= wideRowBytes && shape.elementCount * size > wideRowTensorBytes ? 1 : 2
}

/// The row order of the channels-last reductions: a block's rows in memory order,
/// `rowsPerStep` at a time, in runs of at most ``partialSumLength`` rows whose partial
/// sums are then added into Double. Calls `startRun` before each run, `step(row, count)`
/// for each step (count ≤ rowsPerStep), and `endRun` after each run.
@inline(__always)
func forEachRowStep(
  in rows: Range<Int>, rowsPerStep: Int, startRun: () -> Void, step: (_ row: Int, _ count: Int) -> Void,
  endRun: () -> Void
) {
  var runStart = rows.lowerBound
  while runStart < rows.upperBound {
    let runEnd = min(rows.upperBound, runStart + partialSumLength)
    startRun()
    var row = runStart
    while row < runEnd {
      let count = min(rowsPerStep, runEnd - row)
      step(row, count)
      row += count
    }
    endRun()
    runStart = runEnd
  }
}
