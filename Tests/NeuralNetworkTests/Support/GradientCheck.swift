import NeuralNetwork
import Testing

/// Central finite differences, (f(x + h) − f(x − h))/2h, in Float64.
enum GradientCheck {
  static let step = 1e-6
  static let tolerance = 1e-6

  /// Compares a layer's backward with finite differences of L = Σ w·y for fixed random
  /// w, for every input element and every parameter element. Every evaluation runs a
  /// fresh copy of `layer` in `mode`, so state a forward call changes (running
  /// statistics, a dropout generator) is the same for all of them.
  static func check<Checked: Layer<Double>>(
    _ layer: Checked, input: Tensor<Double>, mode: ExecutionMode = .training, seed: UInt64 = 7,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    var generator = SeededGenerator(seed: seed)
    var probe = layer
    let outputShape = try probe.forward(input, mode: mode).shape
    let weights: Tensor<Double> = generator.gaussianTensor(outputShape)
    try check(layer, input: input, mode: mode, sourceLocation: sourceLocation) { output in
      (zip(output.scalars, weights.scalars).map(*).reduce(0, +), weights)
    }
  }

  /// Compares backward with finite differences of `loss(forward(input))`, where `loss`
  /// returns the loss and its gradient with respect to the output.
  static func check<Checked: Layer<Double>>(
    _ layer: Checked, input: Tensor<Double>, mode: ExecutionMode = .training,
    sourceLocation: SourceLocation = #_sourceLocation,
    loss: (Tensor<Double>) throws -> (loss: Double, gradient: Tensor<Double>)
  ) throws {
    var analytic = layer
    let (_, gradOutput) = try loss(try analytic.forward(input, mode: mode))
    let gradInput = try analytic.backward(gradOutput)
    #expect(gradInput.shape == input.shape, sourceLocation: sourceLocation)

    func evaluate(_ model: Checked, _ x: Tensor<Double>) throws -> Double {
      var copy = model
      return try loss(try copy.forward(x, mode: mode)).loss
    }
    var numericInput = [Double]()
    for index in input.scalars.indices {
      var plus = input, minus = input
      plus.scalars[index] += step
      minus.scalars[index] -= step
      numericInput.append((try evaluate(layer, plus) - evaluate(layer, minus)) / (2 * step))
    }
    let inputError = relativeError(gradInput.scalars, numericInput)
    #expect(inputError <= tolerance, "∂L/∂input of \(layer.description): relative error \(inputError)", sourceLocation: sourceLocation)

    for (parameterIndex, parameter) in layer.parameters.enumerated() {
      var numeric = [Double]()
      for element in parameter.scalars.indices {
        func shifted(by delta: Double) -> Checked {
          var copy = layer
          copy.updateParameters { index, value, _ in
            if index == parameterIndex { value.scalars[element] += delta }
          }
          return copy
        }
        numeric.append((try evaluate(shifted(by: step), input) - evaluate(shifted(by: -step), input)) / (2 * step))
      }
      let error = relativeError(analytic.gradients[parameterIndex].scalars, numeric)
      let name = layer.parameterNames[parameterIndex]
      #expect(error <= tolerance, "∂L/∂\(name) of \(layer.description): relative error \(error)", sourceLocation: sourceLocation)
    }
  }
}
