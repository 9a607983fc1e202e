import BatchNormalization
import Foundation
import Testing

/// The cases written by Fixtures/make_pytorch_fixtures.py (PyTorch's own BatchNorm
/// modules and autograd; see the script for the exact calls).
struct PyTorchFixture: Decodable {
  struct Step: Decodable {
    let input, output, saved_mean, saved_invstd, running_mean, running_var: [Double]
    let num_batches_tracked: Int
  }
  struct Backward: Decodable {
    let grad_output, grad_input, grad_weight, grad_bias: [Double]
  }
  struct Inference: Decodable {
    let input, output, grad_output, grad_input, grad_weight, grad_bias: [Double]
  }
  struct Case: Decodable, CustomTestStringConvertible, Sendable {
    let name, dtype, layout, activation: String
    let dimensions, memory_dimensions: [Int]
    let epsilon: Double
    let momentum: Double?
    let weight, bias: [Double]
    let steps: [Step]
    let backward: Backward
    let inference: Inference
    var testDescription: String { name }
  }
  let torch_version: String
  let cases: [Case]

  static let cases: [Case] = {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("Fixtures/pytorch_batchnorm.json")
    do {
      return try JSONDecoder().decode(PyTorchFixture.self, from: Data(contentsOf: url)).cases
    } catch {
      Issue.record("cannot read \(url.path): \(error)")
      return []
    }
  }()
}

extension PyTorchFixture.Step: Sendable {}
extension PyTorchFixture.Backward: Sendable {}
extension PyTorchFixture.Inference: Sendable {}

@Suite struct PyTorchGoldenTests {
  @Test func fixturesArePresent() {
    #expect(PyTorchFixture.cases.count >= 11)
  }

  @Test(arguments: PyTorchFixture.cases)
  func matchesPyTorch(fixture: PyTorchFixture.Case) throws {
    if fixture.dtype == "float64" {
      try check(fixture, as: Double.self, tolerance: 1e-10)
    } else {
      try check(fixture, as: Float.self, tolerance: 2e-5)
    }
  }

  func check<Scalar: BatchNormScalar>(_ fixture: PyTorchFixture.Case, as: Scalar.Type, tolerance: Double) throws {
    let layout = ChannelLayout(rawValue: fixture.layout)!
    let shape = try BatchNormShape(dimensions: fixture.memory_dimensions, layout: layout)
    #expect(shape.channels == fixture.dimensions[1])
    let configuration = BatchNormConfiguration(
      epsilon: fixture.epsilon, momentum: fixture.momentum.map { .exponential($0) } ?? .cumulative,
      activation: fixture.activation == "relu" ? .relu : .none)
    var layer = try BatchNorm<Scalar>(channels: shape.channels, configuration: configuration)
    layer.scale = fixture.weight.map { Scalar($0) }
    layer.shift = fixture.bias.map { Scalar($0) }
    func within(_ actual: [Scalar], _ expected: [Double], _ what: String, step: Int? = nil) {
      let scale = max(1, expected.map(abs).max() ?? 1)
      let difference = maximumDifference(actual, expected)
      #expect(difference <= tolerance * scale, "\(fixture.name) \(what) step \(step ?? -1): off by \(difference)")
    }

    var lastContext: BatchNormContext<Scalar>?
    for (index, step) in fixture.steps.enumerated() {
      let (output, context) = try layer.forward(step.input.map { Scalar($0) }, shape: shape, mode: .training)
      within(output, step.output, "output", step: index)
      within(context.mean, step.saved_mean, "saved mean", step: index)
      within(context.inverseStandardDeviation, step.saved_invstd, "saved invstd", step: index)
      within(layer.runningStatistics.mean, step.running_mean, "running mean", step: index)
      within(layer.runningStatistics.variance, step.running_var, "running var", step: index)
      #expect(layer.runningStatistics.batchesSeen == step.num_batches_tracked)
      lastContext = context
    }

    let last = try #require(fixture.steps.last)
    let context = try #require(lastContext)
    let (gradInput, parameters) = try layer.backward(
      fixture.backward.grad_output.map { Scalar($0) }, input: last.input.map { Scalar($0) }, context: context)
    within(gradInput, fixture.backward.grad_input, "grad input")
    within(parameters.scale, fixture.backward.grad_weight, "grad weight")
    within(parameters.shift, fixture.backward.grad_bias, "grad bias")

    let inferenceInput = fixture.inference.input.map { Scalar($0) }
    let (output, inferenceContext) = try layer.forward(inferenceInput, shape: shape, mode: .inference)
    within(output, fixture.inference.output, "inference output")
    let (inferenceGradInput, inferenceParameters) = try layer.backward(
      fixture.inference.grad_output.map { Scalar($0) }, input: inferenceInput, context: inferenceContext)
    within(inferenceGradInput, fixture.inference.grad_input, "inference grad input")
    within(inferenceParameters.scale, fixture.inference.grad_weight, "inference grad weight")
    within(inferenceParameters.shift, fixture.inference.grad_bias, "inference grad bias")
  }
}
