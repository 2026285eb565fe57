// swift-tools-version:6.0
import PackageDescription

// Layers (imports point down): winnow CLI → WinnowReport → WinnowRecipe → stage families
// (WinnowFilters, WinnowDedup, WinnowSelect) → WinnowCore → WinnowText → C shims.
// Linux only (Glibc, /proc, prctl). No unsafe build flags anywhere: SwiftPM refuses them in a
// package that is a versioned dependency (scripts/check-versioned-dependency.sh checks it).
let package = Package(
  name: "Winnow",
  products: [
    .executable(name: "winnow", targets: ["winnow"]),
    .library(name: "Winnow", targets: ["Winnow"]),
    // The mixture stream's C ABI (include/winnow_feed.h), for trainers in C and the Python
    // package (python/), which loads it with ctypes.
    .library(name: "WinnowFeedC", type: .dynamic, targets: ["WinnowFeedC"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
  ],
  targets: [
    // C shims over system libraries.
    .systemLibrary(name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
                   providers: [.apt(["libzstd-dev"])]),
    .systemLibrary(name: "CXXHash", path: "Sources/CXXHash", pkgConfig: "libxxhash",
                   providers: [.apt(["libxxhash-dev"])]),
    .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
    // Parquet page codecs: snappy, LZ4 and brotli.
    .systemLibrary(name: "CParquetCodecs", path: "Sources/CParquetCodecs",
                   providers: [.apt(["libsnappy-dev", "liblz4-dev", "libbrotli-dev"])]),
    .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
                   providers: [.apt(["libsqlite3-dev"])]),
    // ICU is wrapped in C so that no Swift module sees <unicode/*.h> next to
    // Foundation's own ICU copy (see TOOLCHAIN notes in the README).
    .target(
      name: "CICUShim", path: "Sources/CICUShim",
      linkerSettings: [.linkedLibrary("icui18n"), .linkedLibrary("icuuc"), .linkedLibrary("icudata")]),

    .target(name: "CProcessShim", path: "Sources/CProcessShim"),
    // Removes half-written temporary files when a run is interrupted (async-signal-safe).
    .target(name: "CTempFileCleanup"),
    // The MinHash signature loop, with an AVX2 version chosen at run time.
    .target(name: "CMinHashKernel", path: "Sources/CMinHashKernel"),
    // Every point against every centroid (k-means, cluster assignments), with an AVX2/FMA
    // version chosen at run time.
    .target(name: "CVectorKernel", path: "Sources/CVectorKernel"),

    // Resources/ holds spaCy's English tokenizer tables for the tokenizer port (not used yet).
    .target(name: "WinnowText", dependencies: ["CICUShim"], exclude: ["Resources"]),
    .target(name: "WinnowCore", dependencies: ["WinnowText", "CZstd", "CXXHash", "CZlib", "CParquetCodecs", "CTempFileCleanup"]),
    .target(name: "WinnowFilters", dependencies: ["WinnowCore", "WinnowText", "WinnowFastText", "CWinnowLanguageModel"]),
    // printf's %g and %f for the fastText CLI's output, without Swift's va_list overhead.
    .target(name: "CNumberFormat"),
    // Cache prefetch hints for the fastText row sums (header-only).
    .target(name: "CMemoryHints"),
    // The built-in language-ID model (a fastText .ftz), linked into the binary.
    .target(name: "CWinnowLanguageModel", exclude: ["model"], cSettings: [.headerSearchPath("model")]),
    // fastText models: reading, prediction, training, and the fastText CLI's arguments and
    // output formats (self-contained: no other Winnow module; printf's %g from CNumberFormat, prefetch hints from CMemoryHints).
    .target(name: "WinnowFastText", dependencies: ["CNumberFormat", "CMemoryHints"]),
    // Exact byte-pair tokenizers (Hugging Face tokenizer.json, tiktoken rank files) with the
    // pre-tokenization patterns matched as Oniguruma and fancy-regex match them.
    .target(name: "WinnowTokenizer", dependencies: ["WinnowText", "CXXHash"]),
    // The training feed: the tokenize stage and token exports.
    .target(name: "WinnowFeed", dependencies: ["WinnowCore", "WinnowTokenizer"]),
    .target(name: "WinnowFeedC", dependencies: ["WinnowFeed", "WinnowCore"]),
    .target(name: "WinnowDedup", dependencies: ["WinnowCore", "WinnowText", "CMinHashKernel"]),
    // Mixture optimisation: RegMix proposals, regression and search, DoReMi's weight update,
    // QQT's repeated-data utility.
    .target(name: "WinnowMixing", dependencies: ["WinnowCore", "WinnowTokenizer"]),
    // SHA-256, with the x86 SHA extensions chosen at run time (DSIR hashes every n-gram).
    .target(name: "CSHA256", path: "Sources/CSHA256"),
    // Selection toward a target (dsir_select) and balancing (balance).
    .target(name: "WinnowSelect", dependencies: ["WinnowCore", "WinnowText", "WinnowFastText", "CSHA256", "CMemoryHints", "CVectorKernel"]),
    .target(name: "WinnowRecipe",
            dependencies: ["WinnowCore", "WinnowFilters", "WinnowDedup", "WinnowSelect", "WinnowFeed", "WinnowMixing", "CSQLite", "CProcessShim",
                           .product(name: "Yams", package: "Yams")]),
    // `winnow report`: a run directory as HTML; learns what stages are from their descriptors.
    .target(name: "WinnowReport", dependencies: ["WinnowCore", "WinnowRecipe"]),
    .target(name: "Winnow", dependencies: ["WinnowCore", "WinnowText", "WinnowTokenizer", "WinnowFilters", "WinnowDedup", "WinnowSelect", "WinnowFeed", "WinnowMixing", "WinnowRecipe", "WinnowReport"]),
    .executableTarget(name: "winnow",
                      dependencies: ["Winnow", "WinnowFastText", "CProcessShim",
                                     .product(name: "ArgumentParser", package: "swift-argument-parser")]),

    .testTarget(name: "WinnowTextTests", dependencies: ["WinnowText"]),
    .testTarget(name: "WinnowCoreTests", dependencies: ["WinnowCore", "WinnowText"]),
    // Helpers the stage tests share (a plain target: test targets cannot share files).
    .target(name: "WinnowTestSupport", dependencies: ["WinnowCore"], path: "Tests/WinnowTestSupport"),
    .testTarget(name: "WinnowFiltersTests", dependencies: ["WinnowFilters", "WinnowCore", "WinnowTestSupport"]),
    .testTarget(name: "WinnowDedupTests", dependencies: ["WinnowDedup", "WinnowCore", "WinnowTestSupport", "CMinHashKernel"]),
    .testTarget(name: "WinnowSelectTests", dependencies: ["WinnowSelect", "WinnowCore", "WinnowTestSupport", "CSHA256", "CVectorKernel"]),
    .testTarget(name: "WinnowTokenizerTests", dependencies: ["WinnowTokenizer"]),
    .testTarget(name: "WinnowMixingTests", dependencies: ["WinnowMixing", "WinnowCore"]),
    .testTarget(name: "WinnowFeedTests", dependencies: ["WinnowFeed", "WinnowCore", "WinnowTestSupport"]),
    .testTarget(name: "WinnowRecipeTests", dependencies: ["WinnowRecipe", "WinnowTestSupport"]),
    .testTarget(name: "WinnowReportTests", dependencies: ["WinnowReport", "WinnowRecipe"]),
    .testTarget(name: "WinnowCLITests", dependencies: ["WinnowCore"]),
    // Uses only the public `Winnow` product, the way a trainer does.
    .testTarget(name: "WinnowFastTextTests", dependencies: ["WinnowFastText"]),
    .testTarget(name: "WinnowLibraryTests", dependencies: ["Winnow"]),
  ]
)
