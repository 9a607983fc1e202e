import Foundation
import NeuralNetwork
import Plots

/// The paper's MNIST network (§4.1, Figure 1): 784-100-100-100-10 with sigmoid hidden
/// units, trained with plain mini-batch SGD with momentum, shared by the convergence and
/// affine experiments.
enum SigmoidMLP {
  /// Without batch normalization: y = g(Wu + b) in every hidden layer.
  static let baseline = "linear:100,sigmoid,linear:100,sigmoid,linear:100,sigmoid,linear:10"
  /// With batch normalization before each sigmoid: y = g(BN(Wu)) (the linear bias is kept;
  /// BN subtracts it again, so it does not matter).
  static let withBatchNorm = "linear:100,bn,sigmoid,linear:100,bn,sigmoid,linear:100,bn,sigmoid,linear:10"
  /// Normalization without the learnable scale and shift.
  static let withoutAffine =
    "linear:100,bn:noaffine,sigmoid,linear:100,bn:noaffine,sigmoid,linear:100,bn:noaffine,sigmoid,linear:10"

  /// The paper's mini-batch size.
  static let batchSize = 60
  /// The standard deviation of the Gaussian initial weights (biases start at 0): small,
  /// as in the paper, yet large enough for the baseline to learn within a few thousand steps.
  static let initialStandardDeviation = 0.05
  /// SGD's momentum for every run.
  static let momentum = 0.9

  /// A network of `architecture`, initialized from `seed` (so BN and baseline start from the same weights).
  static func network(_ architecture: String, seed: UInt64) throws -> Sequential<Float> {
    var generator = SeededGenerator(seed: seed)
    return try Architecture(parsing: architecture).makeNetwork(
      sampleShape: [784], initializer: .gaussian(standardDeviation: initialStandardDeviation), using: &generator)
  }

  static func optimizer(rate: Double) -> SGD<Float> {
    SGD(schedule: .constant(rate), momentum: momentum)
  }

  /// How long a run of the MLP trains and how it is measured.
  struct Schedule {
    /// Training steps.
    var steps: Int
    /// Measured every this many steps, from step 0.
    var every: Int
    /// Seeds, each a network of its own.
    var seeds: Int
    /// Test samples for the accuracy.
    var testCount: Int
  }

  /// The paper's batches of `data` in a new shuffle each epoch (seeded), one at a time.
  struct Batches {
    let data: LabeledSamples<Float>
    var generator: SeededGenerator
    var epoch: [[Int]] = []
    var position = 0

    init(_ data: LabeledSamples<Float>, seed: UInt64) {
      self.data = data
      generator = SeededGenerator(seed: seed)
    }

    /// The next batch: its samples and labels.
    mutating func next() -> (input: Tensor<Float>, labels: [Int]) {
      if position == epoch.count {
        epoch = BatchStatisticsSupport.Sampler.iid(batchSize: batchSize).epoch(labels: data.labels, using: &generator)
        position = 0
      }
      position += 1
      return BatchStatisticsSupport.batch(data, epoch[position - 1])
    }
  }

  /// A line over training steps through `rows` of `table` (columns seed and step): at each
  /// step the mean of `value` over the rows of each seed, then over the seeds, with the
  /// min–max over seeds as the band.
  static func overSteps(
    _ table: DataTable, rows: [Int], name: String, color: Color, marker: Marker, value: (Int) -> Double
  ) -> Series {
    let steps = Array(Set(rows.map { table.column("step")[$0] })).sorted()
    let seeds = Array(Set(rows.map { table.column("seed")[$0] })).sorted()
    let perSeed = seeds.map { seed in
      steps.map { step in
        mean(rows.filter { table.column("seed")[$0] == seed && table.column("step")[$0] == step }.map(value))
      }
    }
    let spread = spread(perSeed)
    return Series(
      name: name, x: steps, y: spread.mean, color: color, marker: marker,
      band: BandPoint.band(x: steps, lower: spread.low, upper: spread.high))
  }

  /// The rows of `table` whose `column` equals `value` (a network's rows).
  static func rows(_ table: DataTable, where column: String, is value: Double) -> [Int] {
    let values = table.column(column)
    return values.indices.filter { values[$0] == value }
  }

  /// The indices of the sigmoid layers, first to last.
  static func sigmoidIndices(_ network: Sequential<Float>) -> [Int] {
    network.layers.indices.filter { network.layers[$0] is Sigmoid<Float> }
  }

  /// Samples `range` of `samples`.
  static func slice(_ samples: LabeledSamples<Float>, _ range: Range<Int>) throws -> LabeledSamples<Float> {
    let range = range.clamped(to: 0..<samples.count)
    let size = samples.sampleSize
    return try LabeledSamples(
      samples: Tensor(
        shape: [range.count] + samples.sampleShape,
        scalars: Array(samples.samples.scalars[(range.lowerBound * size)..<(range.upperBound * size)])),
      labels: Array(samples.labels[range]))
  }

  /// Column `unit` of a [N, C] tensor.
  static func column(_ tensor: Tensor<Float>, unit: Int) -> [Double] {
    let columns = tensor.shape[1]
    return (0..<tensor.shape[0]).map { Double(tensor.scalars[$0 * columns + unit]) }
  }

  /// The `p`-quantile (0…1) of `values`, interpolating linearly between order statistics
  /// (NumPy's default).
  static func quantile(_ values: [Double], _ p: Double) -> Double {
    quantile(sorted: values.sorted(), p)
  }

  static func quantile(sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let position = p * Double(sorted.count - 1)
    let lower = Int(position.rounded(.down))
    let upper = min(lower + 1, sorted.count - 1)
    return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - Double(lower))
  }

  /// Mean, minimum and maximum of each position over several equally long rows (seeds);
  /// NaN where any row is NaN.
  static func spread(_ rows: [[Double]]) -> (mean: [Double], low: [Double], high: [Double]) {
    guard let first = rows.first else { return ([], [], []) }
    var mean: [Double] = []
    var low: [Double] = []
    var high: [Double] = []
    for index in first.indices {
      let values = rows.map { $0[index] }
      if values.contains(where: { !$0.isFinite }) {
        mean.append(.nan)
        low.append(.nan)
        high.append(.nan)
      } else {
        mean.append(values.reduce(0, +) / Double(values.count))
        low.append(values.min()!)
        high.append(values.max()!)
      }
    }
    return (mean, low, high)
  }

  static func mean(_ values: [Double]) -> Double {
    values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
  }


  /// "0.1" rather than "0.100000".
  static func rate(_ value: Double) -> String {
    "\(value)"
  }
}
