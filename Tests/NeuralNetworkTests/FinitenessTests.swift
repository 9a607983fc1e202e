import Testing

@testable import NeuralNetwork

/// The finiteness check that guards every optimizer step: eight lanes, then a tail.
@Suite struct FinitenessTests {
  @Test(arguments: [0, 1, 7, 8, 9, 63, 100])
  func findsEveryNonFiniteValueWherever(count: Int) {
    let finite = (0..<count).map { Float($0) * (Float($0 % 2) - 0.5) * 1e30 }
    #expect(allFinite(finite))
    #expect(allFinite(finite.map(Double.init)))
    for position in 0..<count {
      for bad in [Float.nan, .infinity, -.infinity] {
        var values = finite
        values[position] = bad
        #expect(!allFinite(values), "\(bad) at \(position) of \(count)")
        #expect(!allFinite(values.map(Double.init)), "\(bad) at \(position) of \(count), Double")
      }
    }
    #expect(allFinite([Float.greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, -0.0]))
  }
}
