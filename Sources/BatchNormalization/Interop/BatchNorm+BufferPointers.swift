/// The entry points for memory that the caller owns (a C array, another framework's
/// tensor, a memory-mapped file): the same calls as the array forms, reading and writing
/// the caller's buffers in place.
extension BatchNorm {
  /// ``forward(_:shape:mode:into:)`` reading and writing the caller's buffers.
  /// `output` may not overlap `input`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func forward(
    _ input: UnsafeBufferPointer<Scalar>, shape: BatchNormShape, mode: BatchNormMode,
    into output: UnsafeMutableBufferPointer<Scalar>
  ) throws(BatchNormError) -> BatchNormContext<Scalar> {
    try forward(BatchElements(buffer: input), shape: shape, mode: mode, into: MutableBatchElements(buffer: output))
  }

  /// ``forward(_:shape:mode:into:synchronizedOver:)`` reading and writing the caller's
  /// buffers. `output` may not overlap `input`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func forward(
    _ input: UnsafeBufferPointer<Scalar>, shape: BatchNormShape, mode: BatchNormMode,
    into output: UnsafeMutableBufferPointer<Scalar>, synchronizedOver group: any BatchNormProcessGroup
  ) throws(BatchNormError) -> BatchNormContext<Scalar> {
    try forward(
      BatchElements(buffer: input), shape: shape, mode: mode, into: MutableBatchElements(buffer: output),
      synchronizedOver: group)
  }

  /// ``backward(_:input:context:into:)`` reading and writing the caller's buffers.
  /// `gradInput` may not overlap `gradOutput` or `input`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func backward(
    _ gradOutput: UnsafeBufferPointer<Scalar>, input: UnsafeBufferPointer<Scalar>, context: BatchNormContext<Scalar>,
    into gradInput: UnsafeMutableBufferPointer<Scalar>
  ) throws(BatchNormError) -> ParameterGradients<Scalar> {
    try backward(
      BatchElements(buffer: gradOutput), input: BatchElements(buffer: input), context: context,
      into: MutableBatchElements(buffer: gradInput))
  }
}
