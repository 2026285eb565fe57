import Testing

@testable import WinnowText

/// All tokens (whitespace tokens included) and the sentence count, as spaCy gives them.
func spacyTokens(_ s: String) -> (tokens: [String], sentences: Int) {
  var t = SpacyTokenizer.english()
  var out: [SpacyTokenizer.Token] = []
  return withUTF8(s) { b in
    t.tokenize(b, into: &out)
    return (out.map { String(decoding: b[$0.range], as: UTF8.self) }, t.sentenceCount(b, out))
  }
}

/// The tokens of the batched scan (`tokenize`), or of the general path that sends every chunk
/// through the affix loop (`tokenizeWhole`): the scan's shortcuts must give the same.
func splitterTokens(_ s: String, generalPath: Bool = false) -> [String] {
  var t = SpacyTokenizer.english()
  var out: [SpacyTokenizer.Token] = []
  return withUTF8(s) { b in
    if generalPath { t.tokenizeWhole(b, into: &out) } else { t.tokenize(b, into: &out) }
    return out.map { String(decoding: b[$0.range], as: UTF8.self) }
  }
}

func spacyWords(_ s: String, language: String = "en") -> [String] {
  var t = WordTokenizer(language: language)
  var out: [Range<Int>] = []
  return withUTF8(s) { b in
    t.words(b, into: &out)
    return out.map { String(decoding: b[$0], as: UTF8.self) }
  }
}

@Suite("spaCy tokenizer port")
struct SpacyTokenizerTests {
  // Every expectation below is what spaCy 3.8.18 gives for the same string:
  //   nlp = spacy.blank("en"); nlp.add_pipe("sentencizer")
  //   [t.text for t in nlp(s)], len(list(nlp(s).sents))

  @Test("English: contractions, abbreviations, emoticons, units, URLs, e-mail")
  func english() {
    let r = spacyTokens("Hello, world! I can't go (e.g. now) :) a:-) 10km U.S.A. http://x.com/a?b=c, foo@bar.com.")
    #expect(
      r.tokens == [
        "Hello", ",", "world", "!", "I", "ca", "n't", "go", "(", "e.g.", "now", ")", ":)", "a:-", ")", "10", "km",
        "U.S.A.", "http://x.com/a?b=c", ",", "foo@bar.com", ".",
      ])
    #expect(r.sentences == 2)
  }

  @Test("English: ellipsis, currency, quotes, hyphens, infixes, numbers")
  func englishInfixes() {
    let r = spacyTokens(#"Dr. Smith's dog... $5 "quoted" x--y 3-4 a/b 1,000 ok.Then"#)
    #expect(
      r.tokens == [
        "Dr.", "Smith", "'s", "dog", "...", "$", "5", "\"", "quoted", "\"", "x", "--", "y", "3", "-", "4", "a", "/",
        "b", "1,000", "ok", ".", "Then",
      ])
    #expect(r.sentences == 2)
  }

  @Test("special cases split by affixes are merged again; sentence marks in a row")
  func specialCasesAndSentences() {
    #expect(spacyTokens("a:) b:(c").tokens == ["a", ":)", "b:(c"])
    let r = spacyTokens("(U.S.) don't. Wait!! What?! ok")
    #expect(r.tokens == ["(", "U.S.", ")", "do", "n't", ".", "Wait", "!", "!", "What", "?", "!", "ok"])
    #expect(r.sentences == 4)
  }

  @Test("whitespace: one space separates, other runs are tokens; words drop them")
  func whitespace() {
    let r = spacyTokens("tab\there  two  spaces\n\nnew para")
    #expect(r.tokens == ["tab", "\t", "here", " ", "two", " ", "spaces", "\n\n", "new", "para"])
    #expect(r.sentences == 1)
    #expect(spacyWords("tab\there  two  spaces\n\nnew para") == ["tab", "here", "two", "spaces", "new", "para"])
  }

  @Test("German and Russian")
  func germanRussian() {
    let de = spacyTokens("Das ist ein Test. Straße, „Zitat“ und 3,5 km!")
    #expect(de.tokens == ["Das", "ist", "ein", "Test", ".", "Straße", ",", "„", "Zitat", "“", "und", "3,5", "km", "!"])
    #expect(de.sentences == 2)
    let ru = spacyTokens("Это тест. Привет, мир! 10км")
    #expect(ru.tokens == ["Это", "тест", ".", "Привет", ",", "мир", "!", "10", "км"])
    #expect(ru.sentences == 3)
  }

  @Test("Chinese and Japanese: English rules keep a run without spaces together")
  func chineseJapanese() {
    let zh = spacyTokens("这是一个测试。你好，世界！")
    #expect(zh.tokens == ["这是一个测试。你好，世界", "！"])
    #expect(zh.sentences == 1)
    let ja = spacyTokens("これはテストです。こんにちは、世界！")
    #expect(ja.tokens == ["これはテストです。こんにちは、世界", "！"])
    // With the language given, ICU segments the words instead.
    #expect(spacyWords("これはテストです。", language: "ja").count > 2)
  }

  @Test("empty text has no tokens and no sentences")
  func empty() {
    let r = spacyTokens("")
    #expect(r.tokens.isEmpty && r.sentences == 0)
    #expect(spacyWords("   \n ").isEmpty)
  }

  @Test("a single huge line")
  func hugeLine() {
    // 200,000 chunks "word," (5 bytes + a space, 1.2 MB): each is the word and its comma.
    let text = String(repeating: "word, ", count: 200_000)
    let w = spacyWords(text)
    #expect(w.count == 400_000)
    #expect(w[0] == "word" && w[1] == "," && w[399_999] == ",")
    // One 1.5 MB chunk without spaces goes through the rule searches in linear time: the infix
    // rule for "." needs a capital letter after it, so only the final "." is split off.
    let chunk = String(repeating: "ab.", count: 500_000)
    #expect(spacyWords(chunk).joined() == chunk)
  }

  @Test("words at fixed-string affixes (A$, US$, 's, 'S) or gated ones: the scan's one-token test agrees with the general path")
  func fixedStringAffixes() {
    let q = SpacyRules.english.quick
    // The English tables: 'A' and 'U' start only fixed currency prefixes; 's' ends fixed
    // suffixes and unit suffixes gated by a digit.
    #expect(q.prefixCheck[Int(UInt8(ascii: "A"))].known == 1)
    #expect(q.prefixCheck[Int(UInt8(ascii: "U"))].known == 1)
    #expect(q.suffixCheck[Int(UInt8(ascii: "s"))].known == 1)
    let words = [
      "Apples", "A$", "A$5", "As", "US$", "US$9", "USB", "US", "Cats", "C$3", "Ca$h", "UNITS", "IT'S", "it's", "dogs's",
      "s", "S", "'s", "A", "U", "C", "5s", "5km", "km", "ms", "5ms", "x5s", "Abs", "Us's", "A$s", "UK's", "CPUs",
    ]
    let text = words.joined(separator: " ")
    #expect(splitterTokens(text) == splitterTokens(text, generalPath: true))
    #expect(
      spacyTokens(text).tokens.filter { $0 != " " } == [
        "Apples", "A$", "A$", "5", "As", "US$", "US$", "9", "USB", "US", "Cats", "C$", "3", "Ca$h", "UNITS", "IT", "'S",
        "it", "'s", "dogs", "'s", "s", "S", "'s", "A", "U", "C", "5s", "5", "km", "km", "ms", "5ms", "x5s", "Abs", "Us",
        "'s", "A$", "s", "UK", "'s", "CPUs",
      ])
  }

  @Test("a word and one closing mark (word, word) word;) settled in the scan: special cases of the chunk or the word still apply")
  func wordAndClosingMark() {
    let text = #"word, word) word; word: word! word? dont, cant) Im; ima! a, I) x, (word, 5km, US$, A$) its, it's; e.g., U.S.) Dr, wo) wo! n't, ok" ok' ok] ok} ok> ok_ don't; gonna, Gonna) ,, ), a)) b,, xD, <3, :), C++, 10s, a.b, foo_bar,"#
    // The marks the scan takes off alone in English (the path this test is about).
    let cls = SpacyRules.english.quick.byteClass
    for mark in ",);:!?\"'" { #expect(cls[Int(mark.asciiValue!)] & SpacyRules.ByteClass.suffixAlone != 0, "\(mark)") }
    #expect(splitterTokens(text) == splitterTokens(text, generalPath: true))
    // spaCy 3.8's tokens for the same text.
    #expect(
      spacyTokens(text).tokens.filter { $0 != " " } == [
        "word", ",", "word", ")", "word", ";", "word", ":", "word", "!", "word", "?", "do", "nt", ",", "ca", "nt", ")", "I",
        "m", ";", "i", "m", "a", "!", "a", ",", "I", ")", "x", ",", "(", "word", ",", "5", "km", ",", "US$", ",", "A$", ")",
        "its", ",", "it", "'s", ";", "e.g.", ",", "U.S.", ")", "Dr", ",", "wo", ")", "wo", "!", "n't", ",", "ok", "\"", "ok",
        "'", "ok", "]", "ok", "}", "ok", ">", "ok", "_", "do", "n't", ";", "gon", "na", ",", "Gon", "na", ")", ",", ",", ")",
        ",", "a", ")", ")", "b", ",", ",", "xD", ",", "<3", ",", ":)", ",", "C++", ",", "10s", ",", "a.b", ",", "foo_bar", ",",
      ])
  }

  @Test("a word and a full stop (`word.` `29.`), and one-byte chunks, settled in the scan")
  func wordAndFullStop() {
    // English: `.` is a suffix alone after a lowercase letter or a digit, but not after `.`
    // (`\.\.+` may take the two) nor after a capital (`(?<=[A-Z][A-Z])\.` needs two).
    let scan = SpacyRules.english.scan
    let dot = scan.suffixAloneAfter[Int(UInt8(ascii: "."))]
    for b in "az09%-+)\"'" { #expect(SpacyTokenizer.inSet(b.asciiValue!, dot), "\(b)") }
    for b in ".AZ" { #expect(!SpacyTokenizer.inSet(b.asciiValue!, dot), "\(b)") }
    #expect(scan.byteClass[Int(UInt8(ascii: "."))] & SpacyRules.ByteClass.suffixAlone != 0)
    let text = #"word. end. 29. a9. x%%. x-. x+. x". x'. x). x]. Keys. NVMEM. PLL. A. U.S. e.g. etc. Jan. a.. b... (word. x.. Mr. mr. km. 5km. 5. 1.5. a.b. - = * | { } : # $ \ < 9 A z . , ; — • ¶"#
    #expect(splitterTokens(text) == splitterTokens(text, generalPath: true))
    // spaCy 3.8's tokens for the same text.
    #expect(
      spacyTokens(text).tokens.filter { $0 != " " } == [
        "word", ".", "end", ".", "29", ".", "a9", ".", "x%%", ".", "x-", ".", "x+", ".", "x", "\"", ".", "x", "'", ".", "x", ")",
        ".", "x", "]", ".", "Keys", ".", "NVMEM", ".", "PLL", ".", "A.", "U.S.", "e.g.", "etc", ".", "Jan.", "a", "..", "b",
        "...", "(", "word", ".", "x", "..", "Mr.", "mr", ".", "km", ".", "5", "km", ".", "5", ".", "1.5", ".", "a.b", ".", "-",
        "=", "*", "|", "{", "}", ":", "#", "$", "\\", "<", "9", "A", "z", ".", ",", ";", "—", "•", "¶",
      ])
  }

  @Test("the host pre-test of URL matching never says no where the URL pattern matches")
  func urlHostPreTest() throws {
    let rules = SpacyRules.english
    let plain = try #require(rules.urlWithoutSchemeOrUser)
    var matcher = RegexMatcher()
    func check(_ s: String) -> (pre: Bool, pattern: Bool) {
      let scalars = s.unicodeScalars.map(\.value)
      let pattern = scalars.withUnsafeBufferPointer { matcher.match(plain, $0, at: 0) != nil }
      return (scalars.withUnsafeBufferPointer { SpacyTokenizer.mayBeHost($0, 0, $0.count) }, pattern)
    }
    // Module paths and words with dots that the pre-test settles; hosts it leaves to the pattern.
    for s in ["asyncio.Barrier", "x.Y", "a.b", "os.path2", "foo", "1.2.3", "e.g", "a.b_c", "x.y(", "tarfile.TarInfo"] {
      #expect(!check(s).pattern, "\(s)")
    }
    for s in ["x.attribute", "example.com", "www.example.org/a?b", "bücher.de", "example.com:8080", "1.2.3.4", "8.8.8.8/x",
      "a-b.c_d.co", "例子.测试", "x.com#top", "sub.domain.example.com?"] {
      #expect(check(s) == (true, true), "\(s)")
    }
    // Random strings of pieces that matter: whenever the pattern matches, so does the test.
    let pieces = [
      "ab", "x", "例", "é", "09", "1", "255", "_", "-", ".", ".", ".", ":", ":80", "/", "?", "#", "zZ", "\u{A0}", "\u{A1}",
      "\u{1F600}", "\u{2B740}", "com", "ÿy", "Q",
    ]
    var state: UInt64 = 0x2545_F491_4F6C_DD1D
    func next(_ bound: Int) -> Int {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Int((state >> 33) % UInt64(bound))
    }
    var matched = 0
    for _ in 0..<30_000 {
      var s = ""
      for _ in 0...next(6) { s += pieces[next(pieces.count)] }
      let r = check(s)
      if r.pattern {
        matched += 1
        #expect(r.pre, "\(s.unicodeScalars.map { String($0.value, radix: 16) })")
      }
    }
    #expect(matched > 100)
  }

  @Test("ASCII strings are matched against the English URL pattern's host branch without the engine, as the pattern does")
  func asciiHostMatch() throws {
    let plain = try #require(SpacyRules.english.urlWithoutSchemeOrUser)
    #expect(SpacyRules.english.urlIsEnglish)
    var matcher = RegexMatcher()
    func check(_ s: String) -> (direct: Bool?, pattern: Bool) {
      let scalars = s.unicodeScalars.map(\.value)
      let pattern = scalars.withUnsafeBufferPointer { matcher.match(plain, $0, at: 0) != nil }
      return (scalars.withUnsafeBufferPointer { SpacyTokenizer.asciiHostMatch($0, 0, $0.count) }, pattern)
    }
    let long = String(repeating: "a", count: 64)
    for s in ["x.attribute", "sys.flags", "example.com:8080/x?y#z", "a-b.c_d.co", "x.com#top", "\(long).com", "a.\(long.dropLast())"] {
      #expect(check(s) == (true, true), "\(s)")
    }
    for s in ["asyncio.Barrier", "x.Y", "_a.com", "a_.com", "a..com", ".a.com", "a.com.", "\(long)a.com", "a.\(long)", "a.com:1",
      "a.com:123456", "a.com:80x", "a.com%", "a.c", "a.b-c", "a.com.Z"] {
      #expect(check(s) == (false, false), "\(s)")
    }
    // Left to the pattern: IP addresses, and anything not printable ASCII.
    for s in ["1.2.3.4", "10.0.0.1:80", "bücher.de", "a.com/\u{1F600}", "a.com/x\u{7F}"] { #expect(check(s).direct == nil, "\(s)") }
    // Random strings of pieces that matter: the direct answer, when given, is the pattern's.
    let pieces = [
      "ab", "x", "Q", "09", "1", "_", "-", ".", ".", ":", ":80", ":8", ":123456", "/", "?", "#", "com", "c0m", "zz", "%", "(",
      long, "é", "ab.", "x-y.", "a_b.", "com", "org", "/p", ":443", "ab.", "org",
    ]
    var rng = PieceRandom(state: 0x9E37_79B9_7F4A_7C15)
    let strings = (0..<30_000).map { _ in (0...rng.next(6)).map { _ in pieces[rng.next(pieces.count)] }.joined() }
    let (decided, matched) = expectDirectAnswersAgree(strings, check)
    #expect(decided > 10_000 && matched > 300, "\(decided) decided, \(matched) matched")
  }

  @Test("ASCII URLs with a scheme and addresses with '@' are matched against the whole English URL pattern without the engine, as the pattern does")
  func asciiURLMatch() throws {
    let url = try #require(SpacyRules.english.url)
    var matcher = RegexMatcher()
    func check(_ s: String) -> (direct: Bool?, pattern: Bool) {
      let scalars = s.unicodeScalars.map(\.value)
      let pattern = scalars.withUnsafeBufferPointer { matcher.match(url, $0, at: 0) != nil }
      return (scalars.withUnsafeBufferPointer { SpacyTokenizer.asciiURLMatch($0, 0, $0.count) }, pattern)
    }
    for s in [
      "john@example.com", "a@b@example.org", "x:y@host.net:8080/p", "@a@example.com", "example.com/a@b",
      "https://www.kernel.org/doc/html/latest/process/coding-style.html#spaces", "git+ssh://user@host.org/repo.git",
      "a.b-c://x.com", "x://y@host.com", "example.com/x://y", "ftp://a.com:21",
    ] {
      #expect(check(s) == (true, true), "\(s)")
    }
    for s in [
      "@example.com", "john@", "john@localhost", "a@b", "john@Example.COM", "x@a..com", "x@a.com:1", "u@x.com@", "h://a.com",
      "https://", "https:/a.com", "a.com://x", "ht!p://a.com", "https://localhost/", "://a.com",
    ] {
      #expect(check(s) == (false, false), "\(s)")
    }
    // Left to the pattern: an IP address for a host, or anything not printable ASCII.
    for s in ["root@10.0.0.1", "jöhn@example.com", "http://10.0.0.1/", "https://bücher.de"] {
      #expect(check(s).direct == nil, "\(s)")
    }
    // Random strings of pieces that matter: the direct answer, when given, is the pattern's.
    let pieces = [
      "@", "@", "@", "ab", "x", "Q", "09", "_", "-", ".", ".", ":", ":80", ":8", "/", "//", "?", "#", "com", "org", "zz", "%",
      "<", ">", "ab.", "x-y.", "a_b.", "/p", ":443", "1.2", "+", "!", "://", "://", "https", "a+b",
    ]
    var rng = PieceRandom(state: 0x0123_4567_89AB_CDEF)
    let hosts = ["ab.com", "x-y.org", "a_b.zz", "ab.c0m", "1.2.3.4", "x.com:80", "x.org/p", ".com", "ab.", "x.Com"]
    let strings = (0..<40_000).map { _ in
      var s = ""
      for _ in 0...rng.next(4) { s += pieces[rng.next(pieces.count)] }
      switch rng.next(3) {
      case 0: s += "@" + hosts[rng.next(hosts.count)]
      case 1: s += "://" + hosts[rng.next(hosts.count)]
      default: break
      }
      for _ in 0..<rng.next(3) { s += pieces[rng.next(pieces.count)] }
      return s
    }
    let (decided, matched) = expectDirectAnswersAgree(strings.filter { $0.contains("://") || $0.contains("@") }, check)
    #expect(decided > 10_000 && matched > 1_000, "\(decided) decided, \(matched) matched")
  }

  @Test("runs of lowercase letters passed over eight bytes at a time: the byte test, and the tokens")
  func lowercaseRuns() {
    #expect(SpacyRules.english.scan.lowercaseRunsArePlain)
    // The per-byte test against a byte-by-byte count, on every byte value in every position.
    func naive(_ x: UInt64) -> Int {
      var k = 0
      while k < 8, case let b = UInt8(truncatingIfNeeded: x >> UInt64(8 * k)), b >= 0x61 && b <= 0x7A { k += 1 }
      return k
    }
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    for position in 0..<8 {
      for b in 0...255 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        // Lowercase around the byte under test, sometimes random bytes.
        var x: UInt64 = position % 2 == 0 ? 0x6161_6161_6161_6161 : state
        x = x & ~(0xFF << UInt64(8 * position)) | UInt64(b) << UInt64(8 * position)
        #expect(SpacyTokenizer.lowercasePrefix(x) == naive(x), "byte \(b) at \(position) in \(String(x, radix: 16))")
      }
    }
    // Long and short runs ending at every kind of byte, near the text's end too.
    let text = "abcdefghijklmnopqrstuvwxyz abcdefgh. abcdefghi-jkl abcdefg/hij abcdefgh' Über abcdefghé x y zz abcdefghijklmnop"
    #expect(splitterTokens(text) == splitterTokens(text, generalPath: true))
    for cut in 0...text.utf8.count {
      let s = String(decoding: Array(text.utf8)[0..<cut], as: UTF8.self)
      #expect(splitterTokens(s) == splitterTokens(s, generalPath: true), "\(s)")
    }
  }

  @Test("the chunk cache gives the same tokens as a fresh tokenizer")
  func cacheIsTransparent() {
    var t = SpacyTokenizer.english()
    var out: [SpacyTokenizer.Token] = []
    let s = "It's e.g. (this), it's e.g. (this)."
    let first = withUTF8(s) { b in
      t.tokenize(b, into: &out)
      return out.map { String(decoding: b[$0.range], as: UTF8.self) }
    }
    let again = withUTF8(s) { b in
      t.tokenize(b, into: &out)
      return out.map { String(decoding: b[$0.range], as: UTF8.self) }
    }
    #expect(first == again)
    #expect(first == spacyTokens(s).tokens)
    #expect(first == ["It", "'s", "e.g.", "(", "this", ")", ",", "it", "'s", "e.g.", "(", "this", ")", "."])
  }

  @Test("the token list: appends past its room, drops from the front (overlapping), shrinks when asked")
  func tokenList() {
    let list = TokenList(capacity: 16)
    var model: [SpacyTokenizer.Token] = []
    var rng = SystemRandomNumberGenerator()
    for round in 0..<200 {
      for _ in 0..<Int.random(in: 0...40, using: &rng) {
        let t = SpacyTokenizer.Token(start: round, end: round + model.count, isSpace: model.count % 3 == 0)
        list.append(t)
        model.append(t)
      }
      if round % 7 == 0 {
        let more = (0..<Int.random(in: 0...30, using: &rng)).map { SpacyTokenizer.Token(start: $0, end: -$0, isSpace: true) }
        more.withUnsafeBufferPointer { list.append(contentsOf: $0) }
        model += more
      }
      let k = Int.random(in: 0...model.count, using: &rng)
      list.removeFirst(k)
      model.removeFirst(k)
      #expect(Array(list.buffer) == model, "round \(round)")
    }
    list.append(contentsOf: UnsafeBufferPointer(start: nil, count: 0))
    list.removeAll(shrinkingAbove: 16)
    #expect(list.isEmpty && list.capacity == 16)
  }

  @Test("copies of a tokenizer tokenize on their own (their token lists are not shared)")
  func copiedTokenizer() {
    var a = SpacyTokenizer.english()
    a.batchSize = 4
    var out: [SpacyTokenizer.Token] = []
    let s = "Hello, world (again): e.g. it's 10km :-) away."
    withUTF8(s) { a.tokenize($0, into: &out) }
    var b = a
    var fromA: [[String]] = []
    var fromB: [[String]] = []
    withUTF8(s) { text in
      // Batches of one interleaved with the other's: a shared list would mix them.
      b.forEachTokenBatch(text) { batch in
        fromB.append(batch.map { String(decoding: text[$0.range], as: UTF8.self) })
        a.forEachTokenBatch(text) { inner in fromA.append(inner.map { String(decoding: text[$0.range], as: UTF8.self) }) }
      }
    }
    let want = spacyTokens(s).tokens
    #expect(Array(fromB.joined()) == want)
    #expect(fromA.count % fromB.count == 0 && Array(fromA.prefix(fromA.count / fromB.count).joined()) == want)
  }

  @Test("copies of a tokenizer split chunks on threads of their own: each decodes into its own scratch")
  func copiesSplitOnThreads() async {
    var a = SpacyTokenizer.english()
    // The original has decoded a chunk: its scratch exists before it is copied.
    #expect(splitterTokens("(début)") == ["(", "début", ")"])
    var out: [SpacyTokenizer.Token] = []
    withUTF8("(début)") { a.tokenize($0, into: &out) }
    // Chunks that go through the affix loop (punctuation, scalars above ASCII), new in every
    // round so that the chunk cache does not answer them.
    func text(_ task: Int, _ round: Int) -> String {
      (0..<150).map { i in "«mot\(task)-\(round)-\(i)» (čaj\(i)). x\(round)-y\(i), é\(task)\(i)… \"q\(i)\"" }.joined(separator: " ")
    }
    // The tokenizer is not Sendable (its scratch is not shared across threads): each task
    // takes a copy, the case under test.
    nonisolated(unsafe) let original = a
    await withTaskGroup(of: Bool.self) { group in
      for task in 0..<4 {
        group.addTask {
          var t = original
          var out: [SpacyTokenizer.Token] = []
          var ok = true
          for round in 0..<12 {
            let s = text(task, round)
            let got = withUTF8(s) { b in
              t.tokenize(b, into: &out)
              return out.map { String(decoding: b[$0.range], as: UTF8.self) }
            }
            ok = ok && got == splitterTokens(s)
          }
          return ok
        }
      }
      for await ok in group { #expect(ok) }
    }
  }

  @Test("the English tables are cut into special cases and sentence marks as the strings' own splits cut them")
  func englishTablesSplit() {
    let cases = SpacyRules.utf8Fields(SpacyEnglishTables.specialCases, records: 0x1E, fields: 0x1F)
    let byString = SpacyEnglishTables.specialCases.split(separator: "\u{1E}").map {
      $0.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
    }
    #expect(cases == byString)
    #expect(cases.count > 1_000 && cases.allSatisfy { $0.count >= 2 })
    let marks = SpacyRules.utf8Fields(SpacyEnglishTables.sentencePunctuation, records: 0x0A, fields: nil).map { $0[0] }
    #expect(marks == SpacyEnglishTables.sentencePunctuation.split(separator: "\n").map(String.init))
    #expect(marks.contains("!") && marks.contains("。") && marks.count > 100)
    // Empty records are dropped, empty fields kept; text outside ASCII stays whole.
    #expect(SpacyRules.utf8Fields("\u{1E}a\u{1F}\u{1F}é\u{1E}\u{1E}", records: 0x1E, fields: 0x1F) == [["a", "", "é"]])
  }

  @Test("what the tokenizer remembers of each scalar's rule edges is what the rules' unions say")
  func ruleEdgesOfScalars() {
    let rules = SpacyRules.english
    var t = SpacyTokenizer.english()
    // Every scalar of the plane and some above it, worked out; then one in 31 again, remembered.
    let scalars = Array(UInt32(0)..<0x1_0000).filter { !(0xD800...0xDFFF).contains($0) } + [0x1_F600, 0x2_B740, 0x10_FFFF]
    var mismatches = 0
    var seen: [UInt8: Int] = [:]
    for pass in 0..<2 {
      for (k, c) in scalars.enumerated() where pass == 0 || k % 31 == 0 {
        var want = SpacyTokenizer.RuleEdge.known
        if rules.prefixStart.mayContain(c) { want |= SpacyTokenizer.RuleEdge.prefixStart }
        if rules.infixStart.mayContain(c) { want |= SpacyTokenizer.RuleEdge.infixStart }
        if rules.suffixEnd.mayContain(c) { want |= SpacyTokenizer.RuleEdge.suffixEnd }
        if rules.suffixStart.mayContain(c) { want |= SpacyTokenizer.RuleEdge.suffixStart }
        let got = t.ruleEdges(c)
        if got != want { mismatches += 1 }
        seen[got, default: 0] += 1
      }
    }
    #expect(mismatches == 0)
    // The sets differ: some scalars start prefixes only, some end suffixes only, most nothing.
    #expect(seen.count >= 4, "\(seen)")
    #expect(t.edgesOfScalar.count == 0x1_0000)
  }

  @Test("the chunk cache stays transparent while it grows, fills up and starts over")
  func cacheGrowsAndStartsOver() {
    // 5,003 distinct punctuated chunks of two to four tokens, some repeated: the slots grow
    // twice from their first 4,096, and a cache of a few entries (or a few hundred bytes)
    // starts over many times.
    var chunks: [String] = []
    var expected: [[String]] = []
    for i in 0..<6_000 {
      let w = "w\(i % 5_003)"
      switch i % 4 {
      case 0:
        chunks.append("(\(w)).")
        expected.append(["(", w, ")", "."])
      case 1:
        chunks.append("\(w),")
        expected.append([w, ","])
      case 2:
        chunks.append("\"\(w)\"")
        expected.append(["\"", w, "\""])
      default:
        chunks.append("[\(w)]:")
        expected.append(["[", w, "]", ":"])
      }
    }
    let text = chunks.joined(separator: " ")
    let want = Array(expected.joined())
    // The expected pieces are spaCy's: checked on a sample against a fresh tokenizer.
    for k in stride(from: 0, to: chunks.count, by: 97) {
      #expect(splitterTokens(chunks[k]) == expected[k], "\(chunks[k])")
    }
    for (capacity, bytes) in [(1 << 17, (1 << 24) - 1), (7, 1 << 24), (1 << 17, 400), (64, 2_000)] {
      var t = SpacyTokenizer.english()
      t.cache = ChunkCache(capacity: capacity, bytes: bytes)
      var out: [SpacyTokenizer.Token] = []
      for pass in 0..<2 {
        let got = withUTF8(text) { b in
          t.tokenize(b, into: &out)
          return out.filter { !$0.isSpace }.map { String(decoding: b[$0.range], as: UTF8.self) }
        }
        #expect(got == want, "capacity \(capacity), \(bytes) bytes, pass \(pass)")
        // Every entry is still found after the slots grew and the cache started over.
        let (entries, allFound) = t.cache.check()
        #expect(entries > 0 && entries <= min(capacity, 6_000) && allFound, "\(entries) entries")
      }
    }
  }
}

@Suite("rule regex engine (Python re semantics)")
struct RuleRegexTests {
  func match(_ pattern: String, _ s: String, at start: Int = 0) throws -> Int? {
    let prog = RegexProgram(try RegexParser.parse(pattern))
    var m = RegexMatcher()
    let scalars = s.unicodeScalars.map(\.value)
    return scalars.withUnsafeBufferPointer { m.match(prog, $0, at: start) }
  }

  @Test("a set's ASCII bitmap holds what its ranges, classes and negation say")
  func asciiBitmap() {
    var rng = SystemRandomNumberGenerator()
    let allClasses: [ScalarClass] = [.digit, .word, .space]
    for _ in 0..<2_000 {
      var ranges: [ClosedRange<UInt32>] = []
      for _ in 0..<Int.random(in: 0...4, using: &rng) {
        let a = UInt32.random(in: 0...140, using: &rng)
        ranges.append(a...(a + UInt32.random(in: 0...20, using: &rng)))
      }
      var classes: [(ScalarClass, negated: Bool)] = []
      for c in allClasses where Int.random(in: 0..<4, using: &rng) == 0 { classes.append((c, Bool.random(using: &rng))) }
      let negated = Bool.random(using: &rng)
      let set = ScalarSet(ranges: ranges, classes: classes, negated: negated)
      for v in UInt32(0)..<128 {
        let inRanges = ranges.contains { $0.contains(v) }
        let inClasses = classes.contains { $0.0.contains(v) != $0.negated }
        #expect(set.contains(v) == ((inRanges || inClasses) != negated), "scalar \(v)")
      }
    }
  }

  @Test("alternation takes the first alternative that matches, not the longest")
  func alternationOrder() throws {
    #expect(try match("a|ab", "ab") == 1)
    #expect(try match("ab|a", "ab") == 2)
  }

  @Test("greedy and lazy repetition, counted repetition")
  func repetition() throws {
    #expect(try match("a+", "aaab") == 3)
    #expect(try match("a+?", "aaab") == 1)
    #expect(try match("a{2,3}", "aaaa") == 3)
    #expect(try match("a{2}", "a") == nil)
    #expect(try match(#"\.\.+"#, "....x") == 4)
  }

  @Test("lookbehind sees the text before the match; lookahead after")
  func lookaround() throws {
    #expect(try match(#"(?<=[0-9])km"#, "10km", at: 2) == 4)
    #expect(try match(#"(?<=[0-9])km"#, "xkm", at: 1) == nil)
    #expect(try match(#"(?<=[0-9])km"#, "km", at: 0) == nil)
    #expect(try match(#"\+(?![0-9])"#, "+1") == nil)
    #expect(try match(#"\+(?![0-9])"#, "+a") == 1)
  }

  @Test("$ matches at the end and before a final newline, as in Python")
  func dollar() throws {
    #expect(try match("ab$", "ab") == 2)
    #expect(try match("ab$", "ab\n") == 2)
    #expect(try match("ab$", "abc") == nil)
  }

  @Test("classes: ranges, escapes, Unicode \\w \\d \\s")
  func classes() throws {
    #expect(try match(#"[\u0410-\u044F]+"#, "Привет!") == 6)
    #expect(try match(#"\w+"#, "straße_1 x") == 8)
    #expect(try match(#"\d+"#, "٣٤x") == 2)  // Arabic-Indic digits are \d
    #expect(try match(#"\S+"#, "ab\u{3000}c") == 2)  // ideographic space is \s
    #expect(try match("[^a]", "b") == 1)
    #expect(try match("[]a]", "]") == 1)
  }

  @Test("escapes inside sets: escaped punctuation, control and hex escapes, class escapes, ranges; non-ASCII patterns")
  func escapesInSets() throws {
    #expect(try match(#"[\-\.]+"#, "-.-x") == 3)
    #expect(try match(#"[a\-z]+"#, "a-zb") == 3)  // an escaped '-' is no range
    #expect(try match(#"[\w\-]+"#, "ab-c d") == 4)
    #expect(try match(#"[\d\s]+"#, "1 2x") == 3)
    #expect(try match(#"[\x41-\x43]+"#, "ABCD") == 3)
    #expect(try match(#"[\u00e9\U0001F600]+"#, "é😀e") == 2)
    #expect(try match(#"[\n\t]+"#, "\n\tx") == 2)
    #expect(try match("[é-ï]+", "éïx") == 2)
    #expect(try match(#"[\]]"#, "]") == 1)
    #expect(throws: RuleRegexError.self) { try RegexParser.parse(#"[a-\w]"#) }
    #expect(throws: RuleRegexError.self) { try RegexParser.parse(#"[\q]"#) }
    #expect(throws: RuleRegexError.self) { try RegexParser.parse(#"[\x4]"#) }
    #expect(throws: RuleRegexError.self) { try RegexParser.parse(#"[a\"#) }
  }

  @Test("syntax the tables do not use is refused, not misread")
  func unsupported() {
    #expect(throws: RuleRegexError.self) { try RegexParser.parse(#"\bword"#) }
    #expect(throws: RuleRegexError.self) { try RegexParser.parse(#"(a)\1"#) }
    #expect(throws: RuleRegexError.self) { try RegexParser.parse("(?i)a") }
    #expect(throws: RuleRegexError.self) { try RegexParser.parse("(?<=a+)b") }
    #expect(throws: RuleRegexError.self) { try RegexParser.parse("[a") }
  }

  @Test("the URL pattern without its scheme and user groups decides as the whole pattern on strings without '://' or '@'")
  func urlWithoutSchemeOrUser() throws {
    let rules = SpacyRules.english
    let plain = try #require(rules.urlWithoutSchemeOrUser, "spaCy's URL pattern no longer starts as expected")
    let full = try #require(rules.url)
    var matcher = RegexMatcher()
    let samples = [
      "www.debian.org", "os.path.join", "foo.bar.Baz", "example.com/a?b", "example.com:8080/x", "10.0.0.1", "8.8.8.8",
      "192.168.1.1", "a.b", "e.g", "v1.2.3", "naïve.de", "x.Y", "sub.example.co.uk#top", "1.2.3", "foo.", ".foo",
    ]
    for s in samples {
      let scalars = s.unicodeScalars.map(\.value)
      scalars.withUnsafeBufferPointer { b in
        #expect((matcher.match(plain, b, at: 0) != nil) == (matcher.match(full, b, at: 0) != nil), "\(s)")
      }
    }
  }
}

/// A small linear congruential generator for the random strings of the URL tests.
private struct PieceRandom {
  var state: UInt64
  mutating func next(_ bound: Int) -> Int {
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return Int((state >> 33) % UInt64(bound))
  }
}

/// For each string, a shortcut's answer (nil: left to the pattern) must be the pattern's;
/// returns how many strings the shortcut decided and how many of those the pattern matched.
private func expectDirectAnswersAgree(
  _ strings: [String], _ check: (String) -> (direct: Bool?, pattern: Bool)
) -> (decided: Int, matched: Int) {
  var decided = 0
  var matched = 0
  for s in strings {
    let r = check(s)
    guard let direct = r.direct else { continue }
    decided += 1
    if r.pattern { matched += 1 }
    #expect(direct == r.pattern, "\(s)")
  }
  return (decided, matched)
}
