// swift-tools-version: 6.1
import PackageDescription

let package = Package(
  name: "swift-batchnorm",
  products: [
    // MARK: Public API
    .library(name: "ComputeRuntime", targets: ["ComputeRuntime"]),
    .library(name: "HalfPrecision", targets: ["HalfPrecision"]),
    .library(name: "BatchNormalization", targets: ["BatchNormalization"]),
    .library(name: "FileFormats", targets: ["FileFormats"]),
    .library(name: "NeuralNetwork", targets: ["NeuralNetwork"]),
    .library(name: "Plots", targets: ["Plots"]),
    .library(name: "MessagePassing", targets: ["MessagePassing"]),
    .library(name: "ONNXExport", targets: ["ONNXExport"]),
    .executable(name: "bn", targets: ["BatchNormCommand"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0"),
    // `swift package generate-documentation` (DocC). A command plugin: a plain `swift build`
    // resolves it but never builds it.
    .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    // The protobuf runtime for ONNX files. Only its library is built: the Swift for
    // onnx.proto is generated once and committed (scripts/generate-onnx-proto).
    .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
  ],
  targets: [
    // MARK: Implementation
    // The worker pool, the one parallel loop and the thread-count setting that every
    // module's kernels share. Standard library, Dispatch and Synchronization only.
    .target(name: "ComputeRuntime"),
    // Float16 and BFloat16 as storage types, and their whole-array conversions to and from
    // Float. Standard library only.
    .target(name: "HalfPrecision"),
    // Streaming (non-temporal) stores as clang builtins in a header: no library.
    .target(name: "CStreamingStores"),
    // The build's target features as C sees them (Swift cannot test them at compile time).
    .target(name: "CBuildTarget"),
    // The core: kernels, statistics, state, modes, variants. Standard library, the compute
    // runtime, the 16-bit storage types and the header above only.
    .target(name: "BatchNormalization", dependencies: ["ComputeRuntime", "HalfPrecision", "CStreamingStores"]),
    // NPY and safetensors files, written atomically. Foundation and the 16-bit types only.
    .target(name: "FileFormats", dependencies: ["HalfPrecision"]),
    // zlib, the system library (Debian's zlib1g-dev), for gzip.
    .systemLibrary(
      name: "CZlib",
      path: "Sources/CZlib",
      pkgConfig: "zlib",
      providers: [.apt(["zlib1g-dev"])]
    ),
    // IDX (MNIST format, optionally gzipped) and CSV readers, Fashion-MNIST, synthetic data sets.
    .target(name: "Datasets", dependencies: ["ComputeRuntime", "FileFormats", "CZlib"]),
    // OpenBLAS's C interface (Debian's libopenblas-dev); Apple platforms use Accelerate.
    .systemLibrary(
      name: "CBLAS",
      path: "Sources/CBLAS",
      pkgConfig: "openblas",
      providers: [.apt(["libopenblas-dev"])]
    ),
    // Tensors, layers, losses, metrics, optimizers, the training loop and safetensors checkpoints
    // for small MLPs and CNNs; BLAS for every matrix product.
    .target(
      name: "NeuralNetwork",
      dependencies: [
        "ComputeRuntime",
        "BatchNormalization",
        "FileFormats",
        "HalfPrecision",
        .target(name: "CBLAS", condition: .when(platforms: [.linux])),
      ]
    ),
    // Open MPI's C interface (Debian's libopenmpi-dev, pkg-config ompi-c).
    .systemLibrary(
      name: "CMPI",
      path: "Sources/CMPI",
      pkgConfig: "ompi-c",
      providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]
    ),
    // An MPI job's processes as a process group for synchronized batch normalization and
    // data-parallel training. Only what needs Open MPI depends on it.
    .target(name: "MessagePassing", dependencies: ["BatchNormalization", "CMPI"]),
    // A trained network as an ONNX model (Gemm, Conv, BatchNormalization, …), optionally with
    // batch normalization folded into the layer before it. Generated onnx.proto types + SwiftProtobuf.
    .target(
      name: "ONNXExport",
      dependencies: ["BatchNormalization", "NeuralNetwork", "FileFormats", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
    ),
    // Static SVG charts (lines with bands, grouped bars, grids of charts) for the lab's report.
    .target(name: "Plots"),
    // Experiments that reproduce the article's claims, their CSV files, figures and report.
    .target(name: "Lab", dependencies: ["BatchNormalization", "NeuralNetwork", "Datasets", "FileFormats", "Plots"]),
    // The `bn` command-line tool.
    .executableTarget(
      name: "BatchNormCommand",
      dependencies: [
        "ComputeRuntime",
        "BatchNormalization",
        "FileFormats",
        "HalfPrecision",
        "NeuralNetwork",
        "Datasets",
        "CBuildTarget",
        "Lab",
        "MessagePassing",
        "ONNXExport",
        "Plots",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),

    // MARK: Tests
    // Process groups whose ranks are threads, for the synchronized and data-parallel tests.
    .target(name: "ThreadProcessGroups", dependencies: ["BatchNormalization"], path: "Tests/ThreadProcessGroups"),
    .testTarget(
      name: "BatchNormalizationTests",
      dependencies: ["BatchNormalization", "ComputeRuntime", "HalfPrecision", "ThreadProcessGroups"],
      exclude: ["Fixtures"]
    ),
    .testTarget(name: "HalfPrecisionTests", dependencies: ["HalfPrecision"]),
    .testTarget(name: "FileFormatsTests", dependencies: ["FileFormats", "HalfPrecision"]),
    .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "FileFormats", "CZlib"]),
    .testTarget(
      name: "NeuralNetworkTests",
      dependencies: [
        "NeuralNetwork", "BatchNormalization", "ComputeRuntime", "FileFormats", "HalfPrecision", "ThreadProcessGroups",
      ],
      exclude: ["Fixtures"]
    ),
    .testTarget(name: "PlotsTests", dependencies: ["Plots"]),
    .testTarget(
      name: "ONNXExportTests",
      dependencies: ["ONNXExport", "BatchNormalization", "NeuralNetwork", "FileFormats", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
    ),
    .testTarget(name: "LabTests", dependencies: ["Lab", "Datasets", "NeuralNetwork", "BatchNormalization"]),
    .testTarget(
      name: "BatchNormCommandTests",
      dependencies: ["BatchNormCommand", "BatchNormalization", "FileFormats", "HalfPrecision", "NeuralNetwork", "ONNXExport"]
    ),
  ]
)
