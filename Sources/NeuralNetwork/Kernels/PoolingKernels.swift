import ComputeRuntime

/// The sizes of a pooling layer whose window equals its stride (non-overlapping k×k
/// windows): each of the `planes` = N·C planes of height×width becomes one of
/// (height/k)×(width/k), rounded down; rows and columns past the last whole window
/// are dropped, as in PyTorch.
struct PoolingGeometry: Hashable, Sendable {
  let planes: Int
  let height: Int
  let width: Int
  let kernelSize: Int

  var outputHeight: Int { height / kernelSize }
  var outputWidth: Int { width / kernelSize }
}

/// Max pooling: output[p, oy, ox] = max over the window at (oy·k, ox·k) of plane p.
/// `argmax` receives each maximum's index within its input plane (y·width + x), which
/// backward routes the gradient to. As in PyTorch, scanning the window row by row, a
/// value replaces the maximum when it is larger or NaN: the first maximum wins a tie
/// and a window holding a NaN gives NaN. Computes the planes in `planes` only (the
/// whole buffers are passed), so that threads can share the planes out.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
private func maxPoolForward<Scalar: NetworkScalar>(
  input: UnsafeBufferPointer<Scalar>, geometry g: PoolingGeometry, planes: Range<Int>,
  output: UnsafeMutableBufferPointer<Scalar>, argmax: UnsafeMutableBufferPointer<Int32>
) {
  let (k, width, outputHeight, outputWidth) = (g.kernelSize, g.width, g.outputHeight, g.outputWidth)
  let planeSize = g.height * width
  var outputIndex = planes.lowerBound * outputHeight * outputWidth
  for plane in planes {
    // This is safe: the layer checked that every plane holds planeSize elements.
    let source = input.baseAddress! + plane * planeSize
    for outputY in 0..<outputHeight {
      for outputX in 0..<outputWidth {
        let corner = outputY * k * width + outputX * k
        var best = corner
        if k == 2 {
          // The common 2×2 window as a tree of independent comparisons.
          let top = larger(corner, corner + 1, in: source)
          let bottom = larger(corner + width, corner + width + 1, in: source)
          best = larger(top, bottom, in: source)
        } else {
          for rowStart in stride(from: corner, to: corner + k * width, by: width) {
            for index in rowStart..<rowStart + k { best = larger(best, index, in: source) }
          }
        }
        output[outputIndex] = source[best]
        argmax[outputIndex] = Int32(truncatingIfNeeded: best)
        outputIndex += 1
      }
    }
  }
}

/// The index of `candidate` when its value is larger than `current`'s or NaN, else
/// `current` (PyTorch's rule; in scan order, or as a tree over a 2×2 window, it picks
/// the same winner). It selects indices, not values: x86 has no conditional move for
/// floating-point registers, so selecting values becomes a branch that random data
/// mispredicts half the time.
@inline(__always)
private func larger<Scalar: NetworkScalar>(_ current: Int, _ candidate: Int, in source: UnsafePointer<Scalar>) -> Int {
  let (currentValue, candidateValue) = (source[current], source[candidate])
  // "larger or NaN" as an exclusive or: the two are never both true.
  return (candidateValue > currentValue) != candidateValue.isNaN ? candidate : current
}

/// The adjoint of max pooling: each output gradient goes to its window's maximum;
/// every other input position gets 0. `gradInput` must be zero on entry. Computes the
/// planes in `planes` only, like ``maxPoolForward(input:geometry:planes:output:argmax:)``.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
private func maxPoolBackward<Scalar: NetworkScalar>(
  gradOutput: UnsafeBufferPointer<Scalar>, argmax: UnsafeBufferPointer<Int32>, geometry g: PoolingGeometry,
  planes: Range<Int>, gradInput: UnsafeMutableBufferPointer<Scalar>
) {
  let outputPlaneSize = g.outputHeight * g.outputWidth
  for plane in planes {
    let planeStart = plane * g.height * g.width
    for position in plane * outputPlaneSize..<(plane + 1) * outputPlaneSize {
      gradInput[planeStart + Int(argmax[position])] += gradOutput[position]
    }
  }
}

/// Average pooling: output[p, oy, ox] = 1/k² · Σ of the window at (oy·k, ox·k).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
private func averagePoolForward<Scalar: NetworkScalar>(
  input: UnsafeBufferPointer<Scalar>, geometry g: PoolingGeometry, output: UnsafeMutableBufferPointer<Scalar>
) {
  let k = g.kernelSize
  let scale = 1 / Scalar(k * k)
  var outputIndex = 0
  for plane in 0..<g.planes {
    let planeStart = plane * g.height * g.width
    for outputY in 0..<g.outputHeight {
      for outputX in 0..<g.outputWidth {
        var sum: Scalar = 0
        for y in outputY * k..<outputY * k + k {
          for x in outputX * k..<outputX * k + k {
            sum += input[planeStart + y * g.width + x]
          }
        }
        output[outputIndex] = sum * scale
        outputIndex += 1
      }
    }
  }
}

/// The adjoint of average pooling: every position of a window gets 1/k² of its output
/// gradient; dropped rows and columns get 0. Writes every element of `gradInput`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
private func averagePoolBackward<Scalar: NetworkScalar>(
  gradOutput: UnsafeBufferPointer<Scalar>, geometry g: PoolingGeometry, gradInput: UnsafeMutableBufferPointer<Scalar>
) {
  let k = g.kernelSize
  let scale = 1 / Scalar(k * k)
  gradInput.update(repeating: 0)
  var outputIndex = 0
  for plane in 0..<g.planes {
    let planeStart = plane * g.height * g.width
    for outputY in 0..<g.outputHeight {
      for outputX in 0..<g.outputWidth {
        let share = gradOutput[outputIndex] * scale
        for y in outputY * k..<outputY * k + k {
          for x in outputX * k..<outputX * k + k {
            gradInput[planeStart + y * g.width + x] = share
          }
        }
        outputIndex += 1
      }
    }
  }
}

/// Max pooling of every plane, the planes shared out between the compute threads: the
/// output and each maximum's index within its plane.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func maxPool<Scalar: NetworkScalar>(_ input: [Scalar], geometry: PoolingGeometry) -> (output: [Scalar], argmax: [Int32]) {
  precondition(input.count == geometry.planes * geometry.height * geometry.width)
  let count = geometry.planes * geometry.outputHeight * geometry.outputWidth
  var output = [Scalar](repeating: 0, count: count)
  var argmax = [Int32](repeating: 0, count: count)
  input.withUnsafeBufferPointer { input in
    output.withUnsafeMutableBufferPointer { output in
      argmax.withUnsafeMutableBufferPointer { argmax in
        parallelFor(geometry.planes, costPerItem: geometry.height * geometry.width) { planes in
          maxPoolForward(input: input, geometry: geometry, planes: planes, output: output, argmax: argmax)
        }
      }
    }
  }
  return (output, argmax)
}

/// The adjoint of ``maxPool(_:geometry:)`` for the `argmax` it returned.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func maxPoolGradient<Scalar: NetworkScalar>(_ gradOutput: [Scalar], argmax: [Int32], geometry: PoolingGeometry) -> [Scalar] {
  precondition(gradOutput.count == argmax.count && argmax.count == geometry.planes * geometry.outputHeight * geometry.outputWidth)
  var gradInput = [Scalar](repeating: 0, count: geometry.planes * geometry.height * geometry.width)
  gradOutput.withUnsafeBufferPointer { gradOutput in
    argmax.withUnsafeBufferPointer { argmax in
      gradInput.withUnsafeMutableBufferPointer { gradInput in
        parallelFor(geometry.planes, costPerItem: geometry.height * geometry.width) { planes in
          maxPoolBackward(gradOutput: gradOutput, argmax: argmax, geometry: geometry, planes: planes, gradInput: gradInput)
        }
      }
    }
  }
  return gradInput
}

/// Average pooling of every plane.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func averagePool<Scalar: NetworkScalar>(_ input: [Scalar], geometry: PoolingGeometry) -> [Scalar] {
  precondition(input.count == geometry.planes * geometry.height * geometry.width)
  var output = [Scalar](repeating: 0, count: geometry.planes * geometry.outputHeight * geometry.outputWidth)
  input.withUnsafeBufferPointer { input in
    output.withUnsafeMutableBufferPointer { output in averagePoolForward(input: input, geometry: geometry, output: output) }
  }
  return output
}

/// The adjoint of ``averagePool(_:geometry:)``.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func averagePoolGradient<Scalar: NetworkScalar>(_ gradOutput: [Scalar], geometry: PoolingGeometry) -> [Scalar] {
  precondition(gradOutput.count == geometry.planes * geometry.outputHeight * geometry.outputWidth)
  var gradInput = [Scalar](repeating: 0, count: geometry.planes * geometry.height * geometry.width)
  gradOutput.withUnsafeBufferPointer { gradOutput in
    gradInput.withUnsafeMutableBufferPointer { gradInput in
      averagePoolBackward(gradOutput: gradOutput, geometry: geometry, gradInput: gradInput)
    }
  }
  return gradInput
}
