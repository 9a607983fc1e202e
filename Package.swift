// swift-tools-version: 6.1
import PackageDescription

let package = Package(
  name: "swift-batchnorm",
  products: [
    // MARK: Public API
    .library(name: "BatchNormalization", targets: ["BatchNormalization"]),
    .library(name: "FileFormats", targets: ["FileFormats"]),
    .executable(name: "bn", targets: ["BatchNormCommand"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0")
  ],
  targets: [
    // MARK: Implementation
    // The core: kernels, statistics, state, modes, variants. Standard library and Dispatch only.
    .target(name: "BatchNormalization"),
    // NPY and safetensors files, written atomically. Foundation only.
    .target(name: "FileFormats"),
    // The `bn` command-line tool.
    .executableTarget(
      name: "BatchNormCommand",
      dependencies: [
        "BatchNormalization",
        "FileFormats",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),

    // MARK: Tests
    .testTarget(
      name: "BatchNormalizationTests",
      dependencies: ["BatchNormalization"],
      exclude: ["Fixtures"]
    ),
    .testTarget(name: "FileFormatsTests", dependencies: ["FileFormats"]),
    .testTarget(
      name: "BatchNormCommandTests",
      dependencies: ["BatchNormCommand", "BatchNormalization", "FileFormats"]
    ),
  ]
)
