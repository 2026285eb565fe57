import Foundation
import Testing

/// Malformed fastText models given to the `fasttext` verbs and to the stages that load one:
/// exit 1 with the file's name, before any document is read, and never a crash.
@Suite("winnow CLI: malformed fastText models", .enabled(if: CLI.available, CLI.missingMessage), .serialized)
struct HostileModelCLITests {
  /// A directory with a small valid model (`good.bin`, softmax, word bigrams, bucket 100),
  /// hostile copies of it, and a text to predict.
  struct Fixture {
    let tmp: TempDir
    let good: [UInt8]
    var dir: URL { tmp.url }

    init() throws {
      tmp = try TempDir()
      var lines: [String] = []
      for i in 0..<30 {
        lines.append("__label__pos good fine great w\(i % 5)")
        lines.append("__label__neg bad awful poor w\(i % 3)")
      }
      _ = try tmp.write("train.txt", lines.joined(separator: "\n") + "\n")
      _ = try tmp.write("test.txt", "good fine\nbad awful\n")
      let r = try CLI.run(
        [
          "fasttext", "supervised", "-input", "train.txt", "-output", "good", "-dim", "4", "-wordNgrams", "2",
          "-bucket", "100",
          "-thread", "1", "-verbose", "0",
        ], in: tmp.url)
      guard r.status == 0 else { throw FixtureError(message: "training failed: \(r.err)") }
      good = Array(try Data(contentsOf: tmp.url.appendingPathComponent("good.bin")))
    }

    /// Writes `good.bin` with the int32 at `offset` replaced; returns the file's name.
    func patched(_ name: String, int32 value: Int32, at offset: Int) throws -> String {
      var b = good
      withUnsafeBytes(of: value.littleEndian) { for (i, x) in $0.enumerated() { b[offset + i] = x } }
      try Data(b).write(to: dir.appendingPathComponent(name))
      return name
    }
  }

  struct FixtureError: Error { let message: String }

  /// Header offset of `bucket`, and of the dictionary's entry count.
  static let bucketOffset = 40
  static let dictionarySizeOffset = 64

  /// An exit with `status` and a message naming `file`. A crash shows as a different status
  /// (Foundation reports a signal by its number, a shell as 128 + it) and Swift's crash report.
  func expectExit(
    _ r: CLI.Result, _ status: Int32, naming file: String, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    #expect(r.status == status, "\(what): status \(r.status), stderr: \(r.err)", sourceLocation: sourceLocation)
    #expect(r.err.contains(file), "\(what): stderr does not name \(file): \(r.err)", sourceLocation: sourceLocation)
    #expect(!r.err.contains("crashed"), "\(what): \(r.err)", sourceLocation: sourceLocation)
  }

  @Test("fasttext predict-prob, predict, test, dump and quantize exit 1 naming the file and the field")
  func verbs() throws {
    let f = try Fixture()
    let bucket = try f.patched("bad.bin", int32: Int32.max, at: Self.bucketOffset)
    let size = try f.patched("size.bin", int32: Int32.max, at: Self.dictionarySizeOffset)
    let r = try CLI.run(["fasttext", "predict-prob", bucket, "test.txt"], in: f.dir)
    expectExit(r, 1, naming: "bad.bin", "predict-prob, bucket 2^31 - 1")
    #expect(r.err.contains("bad.bin: input matrix has ") && r.err.contains("'bucket'"), "\(r.err)")
    #expect(r.out.isEmpty)
    let s = try CLI.run(["fasttext", "predict-prob", size, "test.txt", "-1"], in: f.dir)
    expectExit(s, 1, naming: "size.bin", "predict-prob, dictionary size 2^31 - 1")
    #expect(s.err.contains("'size'"), "\(s.err)")
    for verb in [
      ["predict", bucket, "test.txt"], ["test", bucket, "test.txt"], ["test-label", bucket, "test.txt"],
      ["dump", bucket, "dict"],
    ] {
      expectExit(try CLI.run(["fasttext"] + verb, in: f.dir), 1, naming: "bad.bin", verb.joined(separator: " "))
    }
    expectExit(try CLI.run(["fasttext", "quantize", "-output", "bad"], in: f.dir), 1, naming: "bad.bin", "quantize")
    // Not a regular file: a directory.
    try FileManager.default.createDirectory(
      at: f.dir.appendingPathComponent("dir.bin"), withIntermediateDirectories: true)
    let d = try CLI.run(["fasttext", "predict", "dir.bin", "test.txt"], in: f.dir)
    expectExit(d, 1, naming: "dir.bin", "a directory as the model")
    // The valid model still predicts.
    let ok = try CLI.run(["fasttext", "predict", "good.bin", "test.txt"], in: f.dir)
    #expect(ok.status == 0 && ok.outLines == ["__label__pos", "__label__neg"], "\(ok.err)")
  }

  @Test("fasttext-score, fasttext-filter and language fail on a bad model before reading a document")
  func stages() throws {
    let f = try Fixture()
    let bucket = try f.patched("bad.bin", int32: Int32.max, at: Self.bucketOffset)
    let truncated = "cut.bin"
    try Data(f.good.prefix(200)).write(to: f.dir.appendingPathComponent(truncated))
    let docs = Data(#"{"id":"a","text":"good fine"}"#.utf8 + [0x0A])
    for model in [bucket, truncated] {
      for stage in [["fasttext-score"], ["fasttext-filter", "--label", "pos"], ["language"]] {
        let r = try CLI.run(stage + ["--model", model], stdin: docs, in: f.dir)
        expectExit(r, 1, naming: model, "\(stage[0]) --model \(model)")
        #expect(r.out.isEmpty, "\(stage[0]): wrote \(r.out)")
      }
    }
    let ok = try CLI.run(["fasttext-score", "--model", "good.bin"], stdin: docs, in: f.dir)
    #expect(ok.status == 0 && ok.out.contains("__label__") == false && ok.out.contains("pos"), "\(ok.err)")
  }
}
