/// The elementwise updates of the optimizers, on one parameter and its gradient (same
/// count). Indexed loops over buffers: no bounds or uniqueness checks per element.

/// Plain gradient descent with L2 decay: p ← p − η·(g + λ·p).
@inline(__always)
func gradientDescentStep<Scalar: NetworkScalar>(_ parameter: inout [Scalar], gradient: [Scalar], rate: Scalar, decay: Scalar) {
  precondition(parameter.count == gradient.count, "a parameter and its gradient differ in size")
  // This is safe: both buffers hold `parameter.count` values (checked above).
  gradient.withUnsafeBufferPointer { gradient in
    parameter.withUnsafeMutableBufferPointer { parameter in
      for i in 0..<parameter.count { parameter[i] -= rate * (gradient[i] + decay * parameter[i]) }
    }
  }
}

/// Gradient descent with momentum µ and L2 decay: d = g + λ·p, b ← µ·b + d, then
/// p ← p − η·(d + µ·b) with Nesterov, p ← p − η·b without.
@inline(__always)
func momentumStep<Scalar: NetworkScalar>(
  _ parameter: inout [Scalar], gradient: [Scalar], momentumBuffer: inout [Scalar], rate: Scalar, decay: Scalar,
  momentum: Scalar, nesterov: Bool
) {
  precondition(parameter.count == gradient.count && momentumBuffer.count == parameter.count)
  // This is safe: the three buffers hold `parameter.count` values (checked above).
  gradient.withUnsafeBufferPointer { gradient in
    parameter.withUnsafeMutableBufferPointer { parameter in
      momentumBuffer.withUnsafeMutableBufferPointer { buffer in
        for i in 0..<parameter.count {
          let direction = gradient[i] + decay * parameter[i]
          buffer[i] = momentum * buffer[i] + direction
          parameter[i] -= rate * (nesterov ? direction + momentum * buffer[i] : buffer[i])
        }
      }
    }
  }
}

/// The constants of one Adam step for one parameter: decoupled shrink factor, L2
/// coefficient, β₁, β₂, ε, the bias-corrected step size η/(1 − β₁ᵗ) and √(1 − β₂ᵗ).
struct AdamStepConstants<Scalar: NetworkScalar> {
  let shrink: Scalar
  let l2: Scalar
  let beta1: Scalar
  let beta2: Scalar
  let epsilon: Scalar
  let stepSize: Scalar
  let correction2Root: Scalar
}

/// One Adam(W) step: p ← shrink·p, g′ = g + l2·p, m ← m + (1 − β₁)(g′ − m),
/// v ← β₂·v + (1 − β₂)·g′², p ← p − stepSize·m/(√v/√(1 − β₂ᵗ) + ε).
@inline(__always)
func adamStep<Scalar: NetworkScalar>(
  _ parameter: inout [Scalar], gradient: [Scalar], firstMoment: inout [Scalar], secondMoment: inout [Scalar],
  constants c: AdamStepConstants<Scalar>
) {
  precondition(parameter.count == gradient.count && firstMoment.count == parameter.count)
  precondition(secondMoment.count == parameter.count)
  // This is safe: the four buffers hold `parameter.count` values (checked above).
  gradient.withUnsafeBufferPointer { gradient in
    parameter.withUnsafeMutableBufferPointer { parameter in
      firstMoment.withUnsafeMutableBufferPointer { m in
        secondMoment.withUnsafeMutableBufferPointer { v in
          for i in 0..<parameter.count {
            parameter[i] *= c.shrink
            let g = gradient[i] + c.l2 * parameter[i]
            m[i] += (1 - c.beta1) * (g - m[i])
            v[i] = c.beta2 * v[i] + (1 - c.beta2) * g * g
            parameter[i] -= c.stepSize * m[i] / (v[i].squareRoot() / c.correction2Root + c.epsilon)
          }
        }
      }
    }
  }
}
