import ArgumentParser
import Glibc
import Winnow

/// `winnow tokenizer`: a tokenizer file on its own — encode text, describe the vocabulary.
/// (The `tokenize` stage is what a recipe or a pipe over JSONL uses.)
struct TokenizerCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tokenizer",
    abstract: "Encode plain text with a tokenizer file, or describe one.",
    subcommands: [Encode.self, Info.self])

  struct TokenizerOptions: ParsableArguments {
    @Option(help: "A Hugging Face tokenizer.json (BPE) or a tiktoken rank file.")
    var tokenizer: String

    @Option(help: "For a tiktoken file: gpt2 (r50k), p50k, cl100k, o200k, or a regular expression.")
    var pattern: String?

    func load() throws(WinnowError) -> Tokenizer { try loadTokenizer(tokenizer, pattern: pattern) }
  }

  struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "encode",
      abstract: "Print the token ids of plain text as JSON arrays.",
      discussion: """
        The input is read as bytes: ill-formed UTF-8 is replaced as Python's \
        decode("utf-8", "replace") does. With --lines each line (split on \\n only; a \\r stays) is \
        encoded on its own and printed as one line; otherwise the whole input is one text. Ids are \
        those of tokenizer(text).input_ids for a tokenizer.json (special tokens in the text are \
        recognised; the post-processor's BOS/EOS are added unless --no-special-tokens) and of \
        encode_ordinary(text) for a tiktoken file.

        \(exitCodeHelp)
        """)

    @OptionGroup var options: TokenizerOptions

    @Flag(help: "Encode each line on its own.")
    var lines = false

    @Flag(name: .customLong("special-tokens"), inversion: .prefixedNo, help: "Add the post-processor's tokens.")
    var specialTokens = true

    @Argument(help: "Input file; '-' or nothing for standard input.")
    var input: String = "-"

    func run() throws {
      do throws(WinnowError) {
        let tok = try options.load()
        let data = try readAll(input)
        var session = TokenizerSession()
        var ids: [UInt32] = []
        var out: [UInt8] = []
        data.withUnsafeBufferPointer { b in
          func emit(_ text: UnsafeBufferPointer<UInt8>) {
            ids.removeAll(keepingCapacity: true)
            tok.encode(text, addSpecialTokens: specialTokens, into: &ids, session: &session)
            TokenIDs.appendJSON(ids, to: &out)
            out.append(0x0A)
          }
          if !lines {
            emit(b)
            return
          }
          var start = 0
          var i = 0
          while i < b.count {
            if b[i] == 0x0A {
              emit(UnsafeBufferPointer(rebasing: b[start..<i]))
              start = i + 1
            }
            i += 1
          }
          if start < b.count { emit(UnsafeBufferPointer(rebasing: b[start..<b.count])) }
        }
        try writeStandardOutput(&out)
      } catch {
        throw report(error)
      }
    }

    private func readAll(_ path: String) throws(WinnowError) -> [UInt8] {
      let f: UnsafeMutablePointer<FILE>? = path == "-" ? fdopen(0, "rb") : fopen(path, "rb")
      guard let f else { throw WinnowError.io("\(path): cannot open (\(String(cString: strerror(errno))))") }
      defer { if path != "-" { fclose(f) } }
      var out: [UInt8] = []
      var buf = [UInt8](repeating: 0, count: 1 << 20)
      while true {
        let n = fread(&buf, 1, buf.count, f)
        if n > 0 { out.append(contentsOf: buf[0..<n]) }
        if n < buf.count {
          if ferror(f) != 0 { throw WinnowError.io("\(path): read error") }
          break
        }
      }
      return out
    }
  }

  struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Describe a tokenizer: vocabulary size, special tokens, token-file dtype.")

    @OptionGroup var options: TokenizerOptions

    func run() throws {
      do throws(WinnowError) {
        let tok = try options.load()
        print("tokenizer: \(tok.source)")
        print("vocabulary size: \(tok.vocabularySize) (largest id + 1)")
        print("token file dtype: \(tok.vocabularySize <= 65_536 ? "uint16" : "uint32") (export_tokens); Megatron: \(tok.vocabularySize < 65_500 ? "uint16" : "int32")")
        if let eos = tok.endOfTextID { print("end of text: \(eos)") }
        print("added tokens: \(tok.addedTokens.count)")
        for t in tok.addedTokens.prefix(20) { print("  \(t.id)\t\(t.special ? "special" : "added")\t\(t.content)") }
        if tok.addedTokens.count > 20 { print("  …") }
      } catch {
        throw report(error)
      }
    }
  }
}

/// A tokenizer file for a command; one that does not load is a usage error naming it.
func loadTokenizer(_ path: String, pattern: String?) throws(WinnowError) -> Tokenizer {
  do {
    return try Tokenizer.load(path: path, pattern: pattern)
  } catch {
    throw WinnowError.usage(error.message)
  }
}

/// Each document's token count with the tokenizer at `path` (without special tokens, as
/// `stats --by` and `mix` count a budget), reusing one session and id buffer.
func tokenCounter(_ path: String, pattern: String?) throws(WinnowError) -> (Document) -> Int {
  let tok = try loadTokenizer(path, pattern: pattern)
  var session = TokenizerSession()
  var ids: [UInt32] = []
  return { doc in
    ids.removeAll(keepingCapacity: true)
    tok.encode(doc.text, addSpecialTokens: false, into: &ids, session: &session)
    return ids.count
  }
}
