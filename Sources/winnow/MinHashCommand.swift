import ArgumentParser
import Glibc
import Winnow

/// `winnow minhash`: shows the simplified text, shingle count and MinHash signature of each
/// document, as `minhash_dedup` computes them, to explain why two documents did or did not
/// meet (and to compare signatures with datatrove's).
struct MinHashCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "minhash",
    abstract: "Print each document's MinHash shingle count and signature (one JSON line per document).",
    discussion: """
      Output lines are {"id": …, "shingles": N, "signature": [… bands × rows values …], "simplified": "…"}; \
      a document with no shingle (fewer words than --ngram) has an empty signature. The options are \
      minhash_dedup's parameters of the same names.

      \(exitCodeHelp)
      """)

  @Argument(help: "Input files, directories or globs; '-' or nothing for standard input.")
  var inputs: [String] = []

  @Option(help: "JSON field holding the text.")
  var textField: String = "text"

  @Option(help: "Shingle size, in words (or characters with --unit char).") var ngram = 5
  @Option(help: "LSH bands.") var bands = 14
  @Option(help: "Hashes per band.") var rows = 8
  @Option(help: "Seed of the hash functions.") var seed: UInt32 = 1
  @Option(help: "Shingle unit: word or char.") var unit = "word"
  @Option(help: "Language whose word splitting to use.") var language = "en"
  @Flag(help: "Leave out the simplified text.") var noText = false
  @Flag(help: "Stop with an error at the first bad input line.") var strict = false

  @Option(help: "Lines longer than this many bytes are not read as documents: they are counted as quarantined (document_too_large).")
  var maxDocumentBytes: Int = PipelineOptions.defaultMaxDocumentBytes

  func validate() throws {
    guard unit == "word" || unit == "char" else { throw ValidationError("--unit must be word or char") }
    guard ngram >= 1, bands >= 1, rows >= 1 else { throw ValidationError("--ngram, --bands and --rows must be at least 1") }
  }

  func run() throws {
    do throws(WinnowError) {
      guard maxDocumentBytes > 0 else { throw WinnowError.usage("--max-document-bytes must be positive") }
      var config = MinHashConfig()
      config.ngram = ngram
      config.bands = bands
      config.rows = rows
      config.seed = seed
      config.unit = unit == "char" ? .char : .word
      config.language = language
      var hasher = MinHasher(config)
      var out: [UInt8] = []
      let files = try InputSet.expand(inputs)
      try guardStandardOutput(against: files, named: inputs)
      let docs = Pipeline(stages: []).documents(
        from: files, fields: DocumentFields(text: textField), strict: strict, maxDocumentBytes: maxDocumentBytes)
      while let doc = try docs.next() {
        let signed = hasher.sign(doc.text)
        out.append(contentsOf: Array(#"{"id":"#.utf8))
        JSONString.appendQuoted(doc.idBytes, to: &out)
        out.append(contentsOf: Array(",\"shingles\":\(hasher.shingles.count),\"signature\":[".utf8))
        if signed { out.append(contentsOf: Array(hasher.signature.map(String.init).joined(separator: ",").utf8)) }
        out.append(UInt8(ascii: "]"))
        if !noText {
          out.append(contentsOf: Array(#","simplified":"#.utf8))
          hasher.simplifiedText.withUnsafeBufferPointer { JSONString.appendQuoted($0, to: &out) }
        }
        out.append(contentsOf: Array("}\n".utf8))
        if out.count > 1 << 20 { try writeStandardOutput(&out) }
      }
      try writeStandardOutput(&out)
    } catch {
      throw report(error)
    }
  }
}
