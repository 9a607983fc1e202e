/// The sizes of one 2-D convolution over NCHW input with a [out, in, kh, kw] weight:
/// ```
/// outputHeight = (height + 2·padding − kernelHeight)/stride + 1   (rounded down)
/// outputWidth  = (width  + 2·padding − kernelWidth )/stride + 1
/// ```
struct ConvolutionGeometry: Hashable, Sendable {
  let channels: Int
  let height: Int
  let width: Int
  let kernelHeight: Int
  let kernelWidth: Int
  let stride: Int
  let padding: Int

  var outputHeight: Int { (height + 2 * padding - kernelHeight) / stride + 1 }
  var outputWidth: Int { (width + 2 * padding - kernelWidth) / stride + 1 }
  /// K = C·kh·kw, the rows of the column matrix (the inner size of the product).
  var columnRows: Int { channels * kernelHeight * kernelWidth }
  /// P = outputHeight·outputWidth, the columns of the column matrix.
  var outputPositions: Int { outputHeight * outputWidth }
  /// C·H·W, the elements of one input sample.
  var inputPlaneSize: Int { channels * height * width }
}

/// The output columns ox whose input column x = ox·stride − padding + j lies inside
/// the image (0 ≤ x < width) for kernel column j: one contiguous range, the same for
/// every output row, so the kernels below copy it without a test per element.
@inline(__always)
func validOutputColumns(kernelColumn j: Int, geometry g: ConvolutionGeometry) -> Range<Int> {
  // ox ≥ ⌈(padding − j)/stride⌉ and ox ≤ ⌊(width − 1 + padding − j)/stride⌋.
  let lowerNumerator = g.padding - j
  let first = lowerNumerator <= 0 ? 0 : (lowerNumerator + g.stride - 1) / g.stride
  let upperNumerator = g.width - 1 + g.padding - j
  let end = upperNumerator < 0 ? 0 : min(g.outputWidth, upperNumerator / g.stride + 1)
  return first < end ? first..<end : 0..<0
}

/// Unfolds one [C, H, W] sample into its [K, P] column matrix (im2col), so the
/// convolution becomes one matrix product, output [out, P] = weight [out, K] · columns:
/// ```
/// columns[(c·kh + i)·kw + j, oy·Wo + ox] = input[c, oy·stride − padding + i, ox·stride − padding + j]
/// ```
/// and 0 where that position falls in the padding. Every element of `columns` is written.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func im2col<Scalar: NetworkScalar>(
  input: UnsafePointer<Scalar>, geometry g: ConvolutionGeometry, columns: UnsafeMutablePointer<Scalar>
) {
  let outputHeight = g.outputHeight
  let outputWidth = g.outputWidth
  var row = columns
  for channel in 0..<g.channels {
    let plane = input + channel * g.height * g.width
    for i in 0..<g.kernelHeight {
      for j in 0..<g.kernelWidth {
        // One row of the column matrix: kernel tap (i, j) of `channel` at every output position.
        let valid = validOutputColumns(kernelColumn: j, geometry: g)
        for outputY in 0..<outputHeight {
          let y = outputY * g.stride - g.padding + i
          let destination = row + outputY * outputWidth
          guard y >= 0 && y < g.height, !valid.isEmpty else {
            destination.update(repeating: 0, count: outputWidth)
            continue
          }
          destination.update(repeating: 0, count: valid.lowerBound)
          (destination + valid.upperBound).update(repeating: 0, count: outputWidth - valid.upperBound)
          // source[ox] is input column ox·stride − padding + j of row y.
          let source = plane + y * g.width + j - g.padding
          if g.stride == 1 {
            (destination + valid.lowerBound).update(from: source + valid.lowerBound, count: valid.count)
          } else {
            for outputX in valid { destination[outputX] = source[outputX * g.stride] }
          }
        }
        row += outputHeight * outputWidth
      }
    }
  }
}

/// The adjoint of ``im2col(input:geometry:columns:)`` (col2im): adds every entry of a
/// [K, P] column-matrix gradient to the input position it was copied from, so
/// overlapping windows sum. Entries that came from the padding are dropped.
/// `gradInput` (one [C, H, W] sample) is accumulated into, not overwritten.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func col2im<Scalar: NetworkScalar>(
  columns: UnsafePointer<Scalar>, geometry g: ConvolutionGeometry, gradInput: UnsafeMutablePointer<Scalar>
) {
  let outputHeight = g.outputHeight
  let outputWidth = g.outputWidth
  var row = columns
  for channel in 0..<g.channels {
    let plane = gradInput + channel * g.height * g.width
    for i in 0..<g.kernelHeight {
      for j in 0..<g.kernelWidth {
        let valid = validOutputColumns(kernelColumn: j, geometry: g)
        for outputY in 0..<outputHeight {
          let y = outputY * g.stride - g.padding + i
          guard y >= 0 && y < g.height else { continue }
          let source = row + outputY * outputWidth
          // destination[ox · stride] is input column ox·stride − padding + j of row y.
          let destination = plane + y * g.width + j - g.padding
          for outputX in valid { destination[outputX * g.stride] += source[outputX] }
        }
        row += outputHeight * outputWidth
      }
    }
  }
}
