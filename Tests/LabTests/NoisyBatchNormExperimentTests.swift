import Foundation
import NeuralNetwork
import Testing

@testable import Lab

/// The noise layer: per unit y = s·x + m with s in [1, b] and m in [−a, a], new at every
/// training pass, the same for every sample; none at inference; backward multiplies by s.
@Suite struct NonStationaryNoiseTests {
  static let input = Tensor<Float>(shape: [3, 4], scalars: (0..<12).map { Float($0) * 0.5 - 2 })

  @Test func inferencePassesTheInputThrough() throws {
    var layer = NonStationaryNoise(meanLimit: 1, scaleLimit: 2, seed: 1)
    #expect(try layer.forward(Self.input, mode: .inference) == Self.input)
  }

  @Test func trainingAppliesOneAffineMapPerUnitAndStep() throws {
    var layer = NonStationaryNoise(meanLimit: 1, scaleLimit: 2, seed: 1)
    let first = try layer.forward(Self.input, mode: .training)
    // Recover each unit's s and m from two samples, then check the third and the bounds.
    var maps: [(scale: Float, mean: Float)] = []
    for unit in 0..<4 {
      let (x0, x1, x2) = (Self.input.scalars[unit], Self.input.scalars[4 + unit], Self.input.scalars[8 + unit])
      let (y0, y1, y2) = (first.scalars[unit], first.scalars[4 + unit], first.scalars[8 + unit])
      let scale = (y1 - y0) / (x1 - x0)
      let mean = y0 - scale * x0
      #expect((1...2).contains(scale) && (-1...1).contains(mean), "unit \(unit): s = \(scale), m = \(mean)")
      #expect(abs(scale * x2 + mean - y2) < 1e-5, "unit \(unit)")
      maps.append((scale, mean))
    }
    // Backward multiplies by each unit's scale.
    let gradient = try layer.backward(Tensor(shape: [3, 4], scalars: Array(repeating: 1, count: 12)))
    for unit in 0..<4 { #expect(abs(gradient.scalars[8 + unit] - maps[unit].scale) < 1e-5) }
    // The next step draws new noise.
    #expect(try layer.forward(Self.input, mode: .training) != first)
  }
}

@Suite(.enabled(if: FashionMNISTFixture.isInstalled, "needs Fashion-MNIST at /usr/share/datasets/fashion-mnist"))
struct NoisyBatchNormExperimentTests {
  /// One row per network, seed and point; the noisy network holds a noise layer after each
  /// of its three BN layers and the others none.
  @Test func quickRunHasTheShapeAndTheInvariants() throws {
    let report = try NoisyBatchNormExperiment().run(FashionMNISTFixture.context(seed: 7))
    let table = try #require(report.tables.first)
    let setup = NoisyBatchNormExperiment.setup(.quick)
    let points = (setup.steps + setup.every - 1) / setup.every
    #expect(table.rows.count == NoisyBatchNormExperiment.Network.allCases.count * setup.seeds * points)
    #expect(table.column("test_accuracy").allSatisfy { (0...1).contains($0) })
    for row in table.rows.indices {
      let (low, middle, high) = (table.column("input_p15")[row], table.column("input_p50")[row], table.column("input_p85")[row])
      #expect(low <= middle && middle <= high, "row \(row)")
    }
    for network in NoisyBatchNormExperiment.Network.allCases {
      let model = try NoisyBatchNormExperiment.model(network, seed: 1)
      let noise = model.layers.filter { $0 is NonStationaryNoise }.count
      #expect(noise == (network == .noisyBatchNorm ? 3 : 0), "\(network)")
    }
    #expect(report.figures.count == 1 && report.figures[0].svg.contains("data-series=\"BN + non-stationary noise\""))
  }

  @Test func theSameSeedGivesTheSameCSV() throws {
    let first = try NoisyBatchNormExperiment().run(FashionMNISTFixture.context(seed: 9))
    let second = try NoisyBatchNormExperiment().run(FashionMNISTFixture.context(seed: 9))
    #expect(first.tables.map(\.csv) == second.tables.map(\.csv))
  }
}
