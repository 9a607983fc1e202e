/// Ghost batch normalization (Hoffer, Hubara & Soudry 2017, arXiv 1705.08741): training
/// statistics over virtual batches of `virtualBatchSize` samples inside a large batch.
///
/// The batch splits into ⌊N / v⌋ groups of v samples; the remainder joins the last
/// group, so no group is smaller than v. `nil` or v ≥ N gives one group.
func ghostBatches(batch: Int, virtualBatchSize: Int?) -> [Range<Int>] {
  guard let size = virtualBatchSize, size < batch else { return [0..<batch] }
  let count = batch / size
  return (0..<count).map { group in
    group * size..<(group == count - 1 ? batch : (group + 1) * size)
  }
}
