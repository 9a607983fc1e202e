import Foundation
import NeuralNetwork
import Testing

@Suite struct LogisticTests {
  /// Float's vector σ against σ in Double rounded to Float: within 2 units in the last
  /// place everywhere, subnormal outputs included, on a length that is not a multiple of 16.
  @Test func floatWithinTwoUlpOfDouble() {
    var inputs: [Float] = stride(from: -110, through: 30, by: 0.0137).map { Float($0) }
    inputs += [0, -0.0, 1e-8, -1e-8, 88, 89, 103, 104, 105, .infinity, -.infinity, .greatestFiniteMagnitude]
    #expect(inputs.count % 16 != 0)
    let outputs = Sigmoid<Float>.applied(to: inputs)
    for (x, y) in zip(inputs, outputs) {
      let exact = Float(1 / (1 + exp(-Double(x))))
      #expect(abs(y - exact) <= 2 * exact.ulp, "σ(\(x)) = \(y), exactly \(exact)")
    }
    #expect(Sigmoid<Float>.applied(to: [.nan])[0].isNaN)
  }

  /// Double σ is the formula itself.
  @Test func doubleIsTheFormula() {
    let small: Double = exp(-2)
    let outputs = Sigmoid<Double>.applied(to: [-800, -2, 0, 2, 800])
    #expect(outputs == [0, small / (1 + small), 0.5, 1 / (1 + small), 1])
  }
}

extension Sigmoid {
  /// The layer's inference output for a vector.
  fileprivate static func applied(to values: [Scalar]) -> [Scalar] {
    var layer = Sigmoid()
    return try! layer.forward(Tensor(shape: [values.count], scalars: values), mode: .inference).scalars
  }
}
