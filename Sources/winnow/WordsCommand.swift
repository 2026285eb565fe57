import ArgumentParser
import Glibc
import Winnow

/// `winnow words`: shows how the quality filters split each document into words (and
/// how many sentences they count), to explain a filter's decision.
struct WordsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "words",
    abstract: "Print each document's words as the quality filters count them (one JSON line per document).",
    discussion: """
      Output lines are {"id": …, "words": […], "sentences": N}. With --language en (the default) words \
      are the tokens of spaCy's English tokenizer, as datatrove's Gopher, C4 and FineWeb filters count \
      them; other languages use ICU word segmentation.

      \(exitCodeHelp)
      """)

  @Argument(help: "Input files, directories or globs; '-' or nothing for standard input.")
  var inputs: [String] = []

  @Option(help: "JSON field holding the text.")
  var textField: String = "text"

  @Option(help: "Language whose word splitting to use.")
  var language: String = "en"

  @Flag(help: "Stop with an error at the first bad input line.")
  var strict = false

  @Option(help: "Lines longer than this many bytes are not read as documents: they are counted as quarantined (document_too_large).")
  var maxDocumentBytes: Int = PipelineOptions.defaultMaxDocumentBytes

  @Flag(help: "Print only each document's number of words ({\"id\": …, \"words\": N}), splitting each text once (no sentences): what the word splitter costs.")
  var count = false

  func run() throws {
    do throws(WinnowError) {
      guard maxDocumentBytes > 0 else { throw WinnowError.usage("--max-document-bytes must be positive") }
      var tokenizer = WordTokenizer(language: language)
      var words: [Range<Int>] = []
      var out: [UInt8] = []
      let files = try InputSet.expand(inputs)
      try guardStandardOutput(against: files, named: inputs)
      let docs = Pipeline(stages: []).documents(
        from: files, fields: DocumentFields(text: textField), strict: strict, maxDocumentBytes: maxDocumentBytes)
      while let doc = try docs.next() {
        let text = doc.text
        tokenizer.words(text, into: &words)
        if count {
          out.append(contentsOf: Array(#"{"id":"#.utf8))
          JSONString.appendQuoted(doc.idBytes, to: &out)
          out.append(contentsOf: Array(",\"words\":\(words.count)}\n".utf8))
          if out.count > 1 << 20 { try writeStandardOutput(&out) }
          continue
        }
        let sentences = tokenizer.sentenceCount(text)
        out.append(contentsOf: Array(#"{"id":"#.utf8))
        JSONString.appendQuoted(doc.idBytes, to: &out)
        out.append(contentsOf: Array(#","words":["#.utf8))
        for (k, w) in words.enumerated() {
          if k > 0 { out.append(UInt8(ascii: ",")) }
          JSONString.appendQuoted(UnsafeBufferPointer(rebasing: text[w]), to: &out)
        }
        out.append(contentsOf: Array("],\"sentences\":\(sentences)}\n".utf8))
        if out.count > 1 << 20 { try writeStandardOutput(&out) }
      }
      try writeStandardOutput(&out)
    } catch {
      throw report(error)
    }
  }
}

/// Writes `out` to standard output (write(2): Swift 6's stdout FILE is not for concurrent
/// code) and empties it.
func writeStandardOutput(_ out: inout [UInt8]) throws(WinnowError) {
  var done = 0
  while done < out.count {
    let n = out.withUnsafeBufferPointer { b in write(1, b.baseAddress! + done, b.count - done) }
    if n < 0 {
      if errno == EINTR { continue }
      throw .io("cannot write to standard output: \(String(cString: strerror(errno)))")
    }
    done += n
  }
  out.removeAll(keepingCapacity: true)
}
