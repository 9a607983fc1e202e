import Foundation
import NeuralNetwork
import Testing

/// The cases written by Fixtures/make_pytorch_fixtures.py: PyTorch's own modules,
/// default initialization and autograd, one training step and one evaluation pass.
struct PyTorchNetworkFixture: Decodable {
  struct StoredTensor: Decodable, Sendable {
    let shape: [Int]
    let values: [Double]
  }
  struct Case: Decodable, Sendable, CustomTestStringConvertible {
    let name, dtype: String
    let state, state_after: [String: StoredTensor]
    let input_shape: [Int]
    let input: [Double]
    let labels: [Int]
    let logits, grad_input, eval_logits: [Double]
    let loss: Double
    let gradients: [String: [Double]]
    var testDescription: String { name }
  }
  let torch_version: String
  let cases: [Case]

  static let cases: [Case] = {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("Fixtures/pytorch_network.json")
    do {
      return try JSONDecoder().decode(PyTorchNetworkFixture.self, from: Data(contentsOf: url)).cases
    } catch {
      Issue.record("cannot read \(url.path): \(error)")
      return []
    }
  }()
}

@Suite struct PyTorchGoldenTests {
  @Test func fixturesArePresent() {
    #expect(PyTorchNetworkFixture.cases.map(\.name) == ["mlp_float64", "cnn_float64", "cnn_float32"])
  }

  @Test(arguments: PyTorchNetworkFixture.cases)
  func matchesPyTorch(fixture: PyTorchNetworkFixture.Case) throws {
    if fixture.dtype == "float64" {
      try check(fixture, as: Double.self, tolerance: 1e-12)
    } else {
      try check(fixture, as: Float.self, tolerance: 2e-6)
    }
  }

  /// The same architecture as the script's, built from its layers.
  static func model<Scalar: NetworkScalar>(_ name: String, as: Scalar.Type) throws -> Sequential<Scalar> {
    var generator = SeededGenerator(seed: 0)  // every weight is replaced by PyTorch's
    if name.hasPrefix("mlp") {
      return Sequential([
        try Linear(inputFeatures: 6, outputFeatures: 5, using: &generator),
        try BatchNormLayer(.batchNorm1d, channels: 5),
        Sigmoid(),
        try Linear(inputFeatures: 5, outputFeatures: 4, using: &generator),
      ])
    }
    return Sequential([
      try Conv2d(inputChannels: 2, outputChannels: 3, kernelSize: 3, padding: 1, using: &generator),
      try BatchNormLayer(.batchNorm2d, channels: 3),
      ReLU(),
      try MaxPool2d(kernelSize: 2),
      try Conv2d(inputChannels: 3, outputChannels: 4, kernelSize: 3, stride: 2, padding: 1, using: &generator),
      Tanh(),
      try AvgPool2d(kernelSize: 2),
      Flatten(),
      try Linear(inputFeatures: 4, outputFeatures: 5, hasBias: false, using: &generator),
    ])
  }

  func check<Scalar: NetworkScalar>(_ fixture: PyTorchNetworkFixture.Case, as: Scalar.Type, tolerance: Double) throws {
    func tensor(_ stored: PyTorchNetworkFixture.StoredTensor) -> Tensor<Scalar> {
      Tensor(shape: stored.shape, scalars: stored.values.map { Scalar($0) })
    }
    func expectClose(_ actual: [Scalar], _ expected: [Double], _ what: String) {
      let scale = max(1, expected.map(abs).max() ?? 0)
      let difference = maximumDifference(actual, expected)
      #expect(difference <= tolerance * scale, "\(fixture.name) \(what): difference \(difference)")
    }

    var model = try Self.model(fixture.name, as: Scalar.self)
    try model.loadParameters(model.parameterNames.map { tensor(fixture.state[$0]!) })
    try model.loadBuffers(model.bufferNames.map { tensor(fixture.state[$0]!) })
    #expect(Set(model.parameterNames + model.bufferNames) == Set(fixture.state.keys))

    let input = Tensor(shape: fixture.input_shape, scalars: fixture.input.map { Scalar($0) })
    let logits = try model.forward(input, mode: .training)
    expectClose(logits.scalars, fixture.logits, "logits")
    let (loss, gradLogits) = try SoftmaxCrossEntropy().evaluate(logits: logits, labels: fixture.labels)
    expectClose([loss], [fixture.loss], "loss")
    let gradInput = try model.backward(gradLogits)
    expectClose(gradInput.scalars, fixture.grad_input, "∂loss/∂input")
    for (name, gradient) in zip(model.parameterNames, model.gradients) {
      expectClose(gradient.scalars, fixture.gradients[name]!, "∂loss/∂\(name)")
    }
    for (name, buffer) in zip(model.bufferNames, model.buffers) {
      expectClose(buffer.scalars, fixture.state_after[name]!.values, name)
    }
    expectClose(try model.forward(input, mode: .inference).scalars, fixture.eval_logits, "evaluation logits")
  }
}
