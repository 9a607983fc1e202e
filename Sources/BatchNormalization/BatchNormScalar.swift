/// A floating-point type the batch-normalization kernels run on: `Float` or `Double`.
///
/// Statistics and gradient reductions add short runs in the element type and every run's
/// total in `Double`, and never use the cancelling formula E[x²] − E[x]², so Float32 data
/// meets the numerics contract (docs/ARCHITECTURE.md); a Float block whose sums overflowed or
/// underflowed is summed again in `Double` (Kernels/MomentsKernel.swift).
public protocol BatchNormScalar: BinaryFloatingPoint, SIMDScalar, Codable, Sendable, CustomStringConvertible {}

extension Float: BatchNormScalar {}

extension Double: BatchNormScalar {}
