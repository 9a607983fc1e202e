import Foundation
import NeuralNetwork
import Testing

/// The cases of Fixtures/make_pytorch_training_fixtures.py: PyTorch's Sequential with
/// convolutions, linear layers, both batch normalizations and every activation, after
/// two optimizer steps.
struct PyTorchTrainingFixture: Decodable {
  struct Case: Decodable, Sendable, CustomTestStringConvertible {
    let name: String
    let state, state_after: [String: PyTorchNetworkFixture.StoredTensor]
    let input_shape: [Int]
    let inputs: [[Double]]
    let labels: [[Int]]
    var testDescription: String { name }
  }
  let architecture: String
  let cases: [Case]

  static let fixture: PyTorchTrainingFixture? = {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("Fixtures/pytorch_training.json")
    do {
      return try JSONDecoder().decode(PyTorchTrainingFixture.self, from: Data(contentsOf: url))
    } catch {
      Issue.record("cannot read \(url.path): \(error)")
      return nil
    }
  }()
}

@Suite struct PyTorchTrainingTests {
  @Test func fixturesArePresent() {
    #expect(PyTorchTrainingFixture.fixture?.cases.map(\.name) == ["sgd_momentum_weight_decay", "adam_weight_decay"])
  }

  @Test(arguments: PyTorchTrainingFixture.fixture?.cases ?? [])
  func twoStepsMatchPyTorch(fixture: PyTorchTrainingFixture.Case) throws {
    let architecture = try Architecture(parsing: PyTorchTrainingFixture.fixture!.architecture)
    var generator = SeededGenerator(seed: 0)  // every value is replaced by PyTorch's
    var model: Sequential<Float> = try architecture.makeNetwork(
      sampleShape: Array(fixture.input_shape.dropFirst()), using: &generator)
    func tensor(_ stored: PyTorchNetworkFixture.StoredTensor) -> Tensor<Float> {
      Tensor(shape: stored.shape, scalars: stored.values.map { Float($0) })
    }
    try model.loadParameters(model.parameterNames.map { tensor(fixture.state[$0]!) })
    try model.loadBuffers(model.bufferNames.map { tensor(fixture.state[$0]!) })
    #expect(Set(model.parameterNames + model.bufferNames) == Set(fixture.state.keys))

    var optimizer: any Optimizer<Float> =
      fixture.name.hasPrefix("sgd")
      ? SGD(schedule: .constant(0.1), momentum: 0.9, weightDecay: 1e-4)
      : Adam(schedule: .constant(0.01), epsilon: 1e-3, weightDecay: 1e-4)  // ε: see the script
    for (inputs, labels) in zip(fixture.inputs, fixture.labels) {
      model.zeroGradients()
      let logits = try model.forward(Tensor(shape: fixture.input_shape, scalars: inputs.map { Float($0) }), mode: .training)
      _ = try model.backward(try SoftmaxCrossEntropy().evaluate(logits: logits, labels: labels).gradient)
      optimizer.step(&model)
    }
    for (name, value) in zip(model.parameterNames + model.bufferNames, model.parameters + model.buffers) {
      let expected = fixture.state_after[name]!
      #expect(value.shape == expected.shape, "\(name)")
      let difference = maximumDifference(value.scalars, expected.values)
      let scale = max(1, expected.values.map(abs).max() ?? 0)
      #expect(difference <= 1e-5 * scale, "\(fixture.name) \(name): difference \(difference)")
    }
  }
}
