// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for the parsers that take untrusted bytes. Not part of the main package:
// each target is an executable whose only entry point is LLVMFuzzerTestOneInput, which links
// only with `--sanitize=fuzzer`. `make fuzz` (scripts/fuzz.sh) builds and runs them.
let package = Package(
  name: "WinnowFuzz",
  dependencies: [.package(name: "Winnow", path: "..")],
  targets: [
    // JSON Lines records: the scanner, field access, edits and re-serialisation.
    .executableTarget(name: "fuzz-json", dependencies: [.product(name: "Winnow", package: "Winnow")]),
    // Recipe YAML: parsing and parameter validation of every stage it names.
    .executableTarget(name: "fuzz-recipe", dependencies: [.product(name: "Winnow", package: "Winnow")]),
    // fastText .bin/.ftz models: loading, then a prediction.
    .executableTarget(name: "fuzz-fasttext", dependencies: [.product(name: "Winnow", package: "Winnow")]),
    // Run files, shingle stores and saved Bloom filters, as a task of a later pass reads them.
    .executableTarget(name: "fuzz-run-files", dependencies: [.product(name: "Winnow", package: "Winnow")]),
    // Tokenizer files (tokenizer.json, tiktoken ranks) and Megatron indexes.
    .executableTarget(name: "fuzz-token-files", dependencies: [.product(name: "Winnow", package: "Winnow")]),
    // The mixture tools' files: tables, priors and weights, fitted models, prepared-data manifests.
    .executableTarget(name: "fuzz-mixture-files", dependencies: [.product(name: "Winnow", package: "Winnow")]),
    // The embedding and selection stages' inputs: vector run files, .npy arrays, embedding
    // fields, word-vector fastText models.
    .executableTarget(name: "fuzz-vector-files", dependencies: [.product(name: "Winnow", package: "Winnow")]),
    // Parquet files (footer, pages, codecs, encodings, nested columns), and Parquet written
    // from JSON lines and read back.
    .executableTarget(name: "fuzz-parquet", dependencies: [.product(name: "Winnow", package: "Winnow")]),
  ]
)
