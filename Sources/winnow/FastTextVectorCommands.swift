import ArgumentParser
import Glibc
import Winnow
import WinnowFastText

/// Loads a model of any kind (classifier or word vectors), for the commands that read vectors.
func loadFastTextVectorModel(_ path: String) throws -> FastTextModel {
  do { return try FastTextModel.load(path: path, allowingUnsupervised: true) } catch { throw fastTextFailure(error.message) }
}

/// MODEL [FILE]: FILE defaults to standard input, as fastText reads it.
func fastTextModelAndInput(_ arguments: [String], usage: String) throws -> (String, String) {
  guard (1...2).contains(arguments.count) else { throw ValidationError("usage: \(usage)") }
  let input = arguments.count > 1 ? arguments[1] : "-"
  do throws(WinnowError) {
    try guardStandardOutput(against: [arguments[0], input].filter { $0 != "-" }.map { InputFile(path: $0) }, named: [])
  } catch { throw report(error) }
  return (arguments[0], input)
}

/// The k of `nn` and `analogies`: a positive integer (fastText would index an empty heap at 0).
func fastTextNeighbourCount(_ arguments: [String], at index: Int) throws -> Int {
  guard arguments.count > index else { return 10 }
  guard let k = Int(arguments[index]), k > 0 else { throw ValidationError("k must be a positive integer, got '\(arguments[index])'") }
  return k
}

/// The whitespace-separated words of `bytes`, as `std::cin >> word` reads them.
func fastTextWords(_ bytes: [UInt8]) -> [[UInt8]] {
  var words: [[UInt8]] = []
  var i = 0
  while i < bytes.count {
    while i < bytes.count && FastTextVectors.isSpace(bytes[i]) { i += 1 }
    guard i < bytes.count else { break }
    let start = i
    while i < bytes.count && !FastTextVectors.isSpace(bytes[i]) { i += 1 }
    words.append(Array(bytes[start..<i]))
  }
  return words
}

struct FastTextPrintWordVectors: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "print-word-vectors",
    abstract: "Print the vector of each word read (fasttext print-word-vectors MODEL < words).",
    discussion: """
      Words are separated by whitespace; each line printed is the word and its vector (5 significant digits).
      A word the model does not know gets the mean of its char n-grams' rows (zeros without char n-grams).
      Works with classifiers and word-vector models. An optional FILE replaces standard input.
      """)
  @Argument(parsing: .captureForPassthrough, help: "MODEL [FILE]")
  var arguments: [String] = []

  func run() throws {
    let (path, input) = try fastTextModelAndInput(arguments, usage: "winnow fasttext print-word-vectors MODEL [FILE]")
    var vectors = FastTextVectors(try loadFastTextVectorModel(path))
    var out: [UInt8] = []
    try forEachFastTextChunk(input) { bytes in try vectors.appendWordVectors(text: bytes, to: &out, flush: writeStandardOutput) }
    try writeStandardOutput(&out)
  }
}

struct FastTextPrintSentenceVectors: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "print-sentence-vectors",
    abstract: "Print one vector per line of text (fasttext print-sentence-vectors MODEL < text).",
    discussion: """
      Word-vector models (skipgram, cbow): the mean of the line's word vectors, each divided by its norm.
      Classifiers: the mean of the input rows the classifier sums for the line (words, char and word n-grams).
      The numbers are fastText 0.9.2's, to the last digit. An optional FILE replaces standard input.
      """)
  @Argument(parsing: .captureForPassthrough, help: "MODEL [FILE]")
  var arguments: [String] = []

  func run() throws {
    let (path, input) = try fastTextModelAndInput(arguments, usage: "winnow fasttext print-sentence-vectors MODEL [FILE]")
    var vectors = FastTextVectors(try loadFastTextVectorModel(path))
    var out: [UInt8] = []
    try forEachFastTextChunk(input) { bytes in try vectors.appendSentenceVectors(lines: bytes, to: &out, flush: writeStandardOutput) }
    try writeStandardOutput(&out)
  }
}

struct FastTextNearestNeighbours: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "nn",
    abstract: "Print the k nearest words of each query word (fasttext nn MODEL [k] < words; k defaults to 10).",
    discussion: "Prints the prompt 'Query word? ' before each answer, as fastText does; similarity is cosine.")
  @Argument(parsing: .captureForPassthrough, help: "MODEL [k]")
  var arguments: [String] = []

  func run() throws {
    guard (1...2).contains(arguments.count) else { throw ValidationError("usage: winnow fasttext nn MODEL [k]") }
    let k = try fastTextNeighbourCount(arguments, at: 1)
    var vectors = FastTextVectors(try loadFastTextVectorModel(arguments[0]))
    let prompt = Array("Query word? ".utf8)
    var out = prompt
    try writeStandardOutput(&out)
    try forEachFastTextChunk("-") { bytes in
      for word in fastTextWords(bytes) {
        vectors.appendNeighbours(vectors.neighbours(of: word, k: k), to: &out)
        out += prompt
      }
      try writeStandardOutput(&out)
    }
  }
}

struct FastTextAnalogies: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "analogies",
    abstract: "Print the k words nearest to A - B + C for each triplet read (fasttext analogies MODEL [k] < triplets).",
    discussion: """
      Reads words three at a time; prints what fastText prints for each triplet, then stops at the end of the
      input (fastText 0.9.2 repeats the last triplet forever there). A trailing incomplete triplet is an error.
      """)
  @Argument(parsing: .captureForPassthrough, help: "MODEL [k]")
  var arguments: [String] = []

  func run() throws {
    guard (1...2).contains(arguments.count) else { throw ValidationError("usage: winnow fasttext analogies MODEL [k]") }
    let k = try fastTextNeighbourCount(arguments, at: 1)
    var out = Array("Loading model \(arguments[0])\n".utf8)
    try writeStandardOutput(&out)
    var vectors = FastTextVectors(try loadFastTextVectorModel(arguments[0]))
    let prompt = Array("Query triplet (A - B + C)? ".utf8)
    out = prompt
    try writeStandardOutput(&out)
    var pending: [[UInt8]] = []
    try forEachFastTextChunk("-") { bytes in
      for word in fastTextWords(bytes) {
        pending.append(word)
        guard pending.count == 3 else { continue }
        vectors.appendNeighbours(vectors.analogies(pending[0], pending[1], pending[2], k: k), to: &out)
        out += prompt
        pending.removeAll()
      }
      try writeStandardOutput(&out)
    }
    if !pending.isEmpty {
      throw fastTextFailure("the input ends in the middle of a triplet (\(pending.count) of 3 words)")
    }
  }
}
