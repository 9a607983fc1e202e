import BatchNormalization
import Foundation
import Testing

/// The cases written by Fixtures/make_large_pytorch_fixtures.py: batches of 2.4 to 4.7
/// million values, large enough for the multi-block statistics and the streaming stores,
/// held at every channel and at 1,024 sampled positions against the exact (float64)
/// values and against PyTorch (the script explains the formulas both sides compute the
/// inputs from).
struct PyTorchLargeFixture: Decodable {
  /// The per-channel results and the per-value results at the sampled positions.
  struct Results: Decodable, Sendable {
    let saved_mean, saved_invstd, running_mean, running_var, grad_weight, grad_bias: [Double]
    let output, grad_input, inference_output: [Double]
  }
  struct Case: Decodable, CustomTestStringConvertible, Sendable {
    let name, layout: String
    let memory_dimensions, positions: [Int]
    let saved_mean, saved_invstd, running_mean, running_var, grad_weight, grad_bias: [Double]
    let output, grad_input, inference_output: [Double]
    /// The same, exact in float64.
    let reference: Results
    var testDescription: String { name }
  }
  let torch_version: String
  let cases: [Case]

  static let cases: [Case] = {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("Fixtures/pytorch_batchnorm_large.json")
    do {
      return try JSONDecoder().decode(PyTorchLargeFixture.self, from: Data(contentsOf: url)).cases
    } catch {
      Issue.record("cannot read \(url.path): \(error)")
      return []
    }
  }()

  /// u(i, k) of the script: an exact float64 in [0, 1).
  static func uniform(_ index: Int, _ k: UInt64) -> Double {
    Double((UInt64(index) &* 2_654_435_761 &+ k &* 2_246_822_519) & 0xFFFF_FFFF) / 4_294_967_296
  }
}

@Suite(.serialized) struct PyTorchLargeGoldenTests {
  @Test func fixturesArePresent() {
    #expect(PyTorchLargeFixture.cases.map(\.name) == ["nchw_streamed", "nhwc_streamed", "rows_37_channels"])
  }

  @Test(arguments: PyTorchLargeFixture.cases)
  func matchesPyTorch(fixture: PyTorchLargeFixture.Case) throws {
    let layout = ChannelLayout(rawValue: fixture.layout)!
    let shape = try BatchNormShape(dimensions: fixture.memory_dimensions, layout: layout)
    #expect(shape.elementCount > 2_000_000)
    // The channel of each memory position, as the script computes it.
    let channelsLastInMemory = layout == .channelsLast || fixture.memory_dimensions.count == 2
    func channel(_ index: Int) -> Int { channelsLastInMemory ? index % shape.channels : index / shape.spatial % shape.channels }
    let x: [Float] = (0..<shape.elementCount).map { index in
      let c = Double(channel(index))
      return Float((PyTorchLargeFixture.uniform(index, 1) - 0.5) * (1 + 0.25 * c.truncatingRemainder(dividingBy: 4)) + 3 * c.truncatingRemainder(dividingBy: 5))
    }
    let dy: [Float] = (0..<shape.elementCount).map { Float(PyTorchLargeFixture.uniform($0, 2) - 0.5) }
    var layer = try BatchNorm<Float>(channels: shape.channels)
    layer.scale = (0..<shape.channels).map { Float(0.5 + 0.125 * Double($0 % 8)) }
    layer.shift = (0..<shape.channels).map { Float(0.1 * Double($0) - 0.5) }

    let reference = fixture.reference
    /// Each value within `tolerance`·max(1, |exact|) of the exact one, and within PyTorch's
    /// own distance from the exact one (plus that tolerance) of PyTorch's.
    func within(_ actual: [Float], _ torch: [Double], _ exact: [Double], _ what: String, tolerance: Double) {
      #expect(actual.count == exact.count && torch.count == exact.count, "\(fixture.name) \(what): counts")
      for index in exact.indices {
        let allowed = tolerance * max(1, abs(exact[index]))
        let fromExact = abs(Double(actual[index]) - exact[index])
        guard fromExact <= allowed else {
          Issue.record("\(fixture.name) \(what)[\(index)]: \(actual[index]) is \(fromExact) from the exact \(exact[index])")
          return
        }
        let torchFromExact = abs(torch[index] - exact[index])
        #expect(abs(Double(actual[index]) - torch[index]) <= torchFromExact + allowed)
      }
    }
    func sampled(_ values: [Float]) -> [Float] { fixture.positions.map { values[$0] } }

    let (y, context) = try layer.forward(x, shape: shape, mode: .training)
    within(context.mean, fixture.saved_mean, reference.saved_mean, "batch mean", tolerance: 1e-6)
    within(context.inverseStandardDeviation, fixture.saved_invstd, reference.saved_invstd, "inverse standard deviation", tolerance: 1e-6)
    within(layer.runningStatistics.mean, fixture.running_mean, reference.running_mean, "running mean", tolerance: 1e-6)
    within(layer.runningStatistics.variance, fixture.running_var, reference.running_var, "running variance", tolerance: 1e-6)
    within(sampled(y), fixture.output, reference.output, "output", tolerance: 1e-5)

    let (dx, parameters) = try layer.backward(dy, input: x, context: context)
    within(sampled(dx), fixture.grad_input, reference.grad_input, "input gradient", tolerance: 1e-5)
    // dγ and dβ are sums of m terms: held to 1e-6 of the size of those terms (Σ|dy|, and
    // Σ|dy|·(|x − µ| + |µ|)·invstd for dγ), the bound the small backward tests use.
    var shiftSize = [Double](repeating: 0, count: shape.channels)
    var scaleSize = [Double](repeating: 0, count: shape.channels)
    for index in 0..<shape.elementCount {
      let c = channel(index)
      let (mean, invstd) = (reference.saved_mean[c], reference.saved_invstd[c])
      shiftSize[c] += abs(Double(dy[index]))
      scaleSize[c] += abs(Double(dy[index])) * (abs(Double(x[index]) - mean) + abs(mean)) * invstd
    }
    for c in 0..<shape.channels {
      let (shift, scale) = (Double(parameters.shift[c]), Double(parameters.scale[c]))
      #expect(abs(shift - reference.grad_bias[c]) <= 1e-6 * shiftSize[c], "\(fixture.name) dβ[\(c)]")
      #expect(abs(scale - reference.grad_weight[c]) <= 1e-6 * scaleSize[c], "\(fixture.name) dγ[\(c)]")
      #expect(abs(shift - fixture.grad_bias[c]) <= abs(fixture.grad_bias[c] - reference.grad_bias[c]) + 1e-6 * shiftSize[c])
      #expect(abs(scale - fixture.grad_weight[c]) <= abs(fixture.grad_weight[c] - reference.grad_weight[c]) + 1e-6 * scaleSize[c])
    }

    let (inference, _) = try layer.forward(x, shape: shape, mode: .inference)
    within(sampled(inference), fixture.inference_output, reference.inference_output, "inference output", tolerance: 1e-5)
  }
}
