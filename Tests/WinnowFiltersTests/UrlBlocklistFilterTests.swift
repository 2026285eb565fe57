import Foundation
import Testing

@testable import WinnowCore
@testable import WinnowFilters

@Suite("url_blocklist stage")
struct UrlBlocklistFilterTests {
  let d = UrlBlocklistFilter.descriptor

  func blocklist(_ params: [String: RawParameter]) throws -> NamedStage { try build(d, params) }

  /// `host` and `host/path?query` as the parser normalises them, or nil.
  func parse(_ s: String) -> String? {
    let out = ByteBuffer(capacity: 16)
    var copy = s
    return copy.withUTF8 { b -> String? in
      guard let u = URLParts.parse(b, into: out, listEntry: false) else { return nil }
      return String(decoding: UnsafeBufferPointer(start: out.base, count: u.length), as: UTF8.self)
    }
  }

  @Test("hosts are parsed through scheme, user info, port, IPv6 brackets, case, trailing dots and www.")
  func hostParsing() {
    let cases: [(String, String?)] = [
      ("https://example.com/", "example.com"),
      ("HTTPS://User:Pass@WWW.Example.COM.:8443/a/b/?q=1#frag", "example.com/a/b/?q=1"),
      ("http://[2001:DB8::1]:8080/x", "2001:db8::1/x"),
      ("//cdn.example.org/lib.js", "cdn.example.org/lib.js"),
      ("www.example.com/path/", "example.com/path"),
      ("example.com:8080/path", "example.com/path"),
      ("  http://example.com  ", "example.com"),
      ("http://example.com\\evil\\path", "example.com/evil/path"),
      ("http://www.com", "www.com"),  // a bare "www." is kept when nothing would be left but a TLD
      ("ftp://files.example.net", "files.example.net"),
      ("http://user@host.example.com@evil.example.org/", "evil.example.org"),
      ("http://münchen.de/straße", "münchen.de/straße"),
      ("http://1.2.3.4:80/", "1.2.3.4"),
      ("mailto:someone@example.com", nil),
      ("javascript:alert(1)", nil),
      ("http://localhost:8080/", nil),  // no dot: not a web host
      ("", nil),
      ("   ", nil),
      ("http://exa mple.com/", nil),
      ("http://[::1/", nil),
      ("null", nil),
      ("42", nil),
    ]
    for (input, expected) in cases {
      #expect(parse(input) == expected, "\(input.debugDescription)")
    }
  }

  @Test("a listed domain blocks itself and every subdomain, and nothing that merely ends like it")
  func domainsAndSubdomains() throws {
    let stage = try blocklist([
      "domains": list(["example.com", "www.bad.org", "*.wild.net", "[2001:db8::1]", "9.9.9.9"])
    ])
    let urls: [(String, String)] = [
      ("root", "http://example.com/"), ("sub", "https://a.b.Example.COM./x"), ("www", "http://bad.org/page"),
      ("wsub", "http://news.bad.org"), ("wild", "http://x.wild.net"), ("wildroot", "http://wild.net"),
      ("v6", "http://[2001:db8:0::1]/"), ("v6same", "http://[2001:db8::1]:443/"), ("ip", "http://9.9.9.9/a"),
      ("ipsuffix", "http://1.9.9.9.9/"), ("lookalike", "http://notexample.com/"),
      ("prefix", "http://example.com.evil.org/"),
      ("path", "http://good.org/example.com"),
    ]
    let r = try runTexts(
      stage, urls.map { ($0.0, "t") },
      extra: Dictionary(uniqueKeysWithValues: urls.map { ($0.0, [("url", jsonQuote($0.1))]) }))
    // IPv6 text is compared as written (2001:db8:0::1 is not rewritten to 2001:db8::1); IP
    // addresses are compared whole, not by "parent domains".
    #expect(r.keptIDs == ["v6", "ipsuffix", "lookalike", "prefix", "path"])
    #expect(Set(r.reasons.values) == ["blocked_domain"])
  }

  @Test("domains_file: comments, domains and full URLs; a URL entry blocks that URL and what is under it")
  func listFileWithURLs() throws {
    let dir = try TempDir()
    let path = try writeList(
      dir, "domains.txt",
      "# UT1-style list\nadult.example\n\nhttp://www.blog.org/a/b/\nblog.org/x?id=5\n.dotted.example\n  spaced.example  \n"
    )
    let stage = try blocklist(["domains_file": v(path)])
    let urls: [(String, String)] = [
      ("adult", "https://video.adult.example/watch"), ("dotted", "http://a.dotted.example"),
      ("spaced", "http://spaced.example"), ("ab", "http://blog.org/a/b"), ("abc", "https://www.blog.org/a/b/c.html"),
      ("abq", "http://blog.org/a/b?page=2"), ("abx", "http://blog.org/a/bx"), ("a", "http://blog.org/a"),
      ("xid", "http://blog.org/x?id=5"), ("xid6", "http://blog.org/x?id=6"), ("other", "http://sub.blog.org/a/b"),
    ]
    let r = try runTexts(
      stage, urls.map { ($0.0, "t") },
      extra: Dictionary(uniqueKeysWithValues: urls.map { ($0.0, [("url", jsonQuote($0.1))]) }))
    #expect(r.keptIDs == ["abx", "a", "xid6", "other"])
    #expect(
      r.reasons == [
        "adult": "blocked_domain", "dotted": "blocked_domain", "spaced": "blocked_domain", "ab": "blocked_url",
        "abc": "blocked_url", "abq": "blocked_url", "xid": "blocked_url",
      ])
  }

  @Test("banned URL words match whole words of the URL; banned substrings match the URL stripped to letters and digits")
  func wordsAndSubstrings() throws {
    let stage = try blocklist(["url_words": list(["porn", "Casino"]), "substrings": list(["xxx", "free-bet"])])
    let urls: [(String, String)] = [
      ("word", "http://good.org/free-PORN-videos"), ("wordq", "http://good.org/?q=casino"),
      ("inword", "http://pornography-history.edu/"), ("sub", "http://x-x-x.example.com"),
      ("sub2", "http://example.com/FreeBet/today"), ("clean", "http://example.com/free/tips"),
      ("therapist", "http://example.com/therapist"),
    ]
    let r = try runTexts(
      stage, urls.map { ($0.0, "t") },
      extra: Dictionary(uniqueKeysWithValues: urls.map { ($0.0, [("url", jsonQuote($0.1))]) }))
    #expect(r.keptIDs == ["inword", "clean", "therapist"])
    #expect(r.reasons == ["word": "url_word", "wordq": "url_word", "sub": "url_substring", "sub2": "url_substring"])
    // A substring that spans word boundaries is found too (datatrove's banned_subwords rule):
    // "therapist" holds "rapist".
    let sub = try blocklist(["substrings": list(["rapist"])])
    #expect(
      try verdict([sub], docLine(id: "t", text: "t", [("url", "\"http://example.com/therapist\"")])) == "url_substring")
  }

  @Test("documents without a usable URL are kept and counted, or dropped as url_missing")
  func missing() throws {
    let docs: [(String, String)] = [
      ("none", "t"), ("null", "t"), ("number", "t"), ("empty", "t"), ("opaque", "t"), ("ok", "t"),
    ]
    let extra: [String: [(String, String)]] = [
      "null": [("url", "null")], "number": [("url", "42")], "empty": [("url", "\"\"")],
      "opaque": [("url", "\"mailto:x@example.com\"")], "ok": [("url", "\"http://fine.example.org/\"")],
    ]
    let keep = try blocklist(["domains": list(["blocked.example"])])
    let r = try runTexts(keep, docs, extra: extra)
    #expect(r.keptIDs == ["none", "null", "number", "empty", "opaque", "ok"])
    #expect((keep.stage as! UrlBlocklistFilter).missingKept == 5)
    let drop = try blocklist(["domains": list(["blocked.example"]), "missing": v("drop")])
    let r2 = try runTexts(drop, docs, extra: extra)
    #expect(r2.keptIDs == ["ok"])
    #expect(r2.stats.stages[0].droppedByReason == ["url_missing": 5])
    #expect(r2.stats.isBalanced)
  }

  @Test("a nested field, non-Latin hosts and paths, and huge documents")
  func nestedMultilingualHuge() throws {
    let stage = try blocklist([
      "field": v("metadata.url"), "domains": list(["пример.рф", "例子.中国", "münchen.de", "日本.jp"]),
    ])
    let urls: [(String, String)] = [
      ("ru", "http://www.пример.рф/страница"), ("zh", "https://博客.例子.中国/文章"), ("de", "http://Stadt.münchen.de/"),
      ("ja", "http://日本.jp/ページ"), ("ok", "http://example.de/münchen.de"),
    ]
    let extra = Dictionary(uniqueKeysWithValues: urls.map { ($0.0, [("metadata", "{\"url\":\(jsonQuote($0.1))}")]) })
    let r = try runTexts(stage, urls.map { ($0.0, "Текст 中文 Deutsch 日本語") }, extra: extra)
    #expect(r.keptIDs == ["ok"])
    #expect(r.reasons.count == 4)
    // Unicode host letters fold to lower case like ASCII ones (UTS #46 maps them so).
    #expect(
      try verdict([stage], docLine(id: "u", text: "t", [("metadata", "{\"url\":\"http://ПРИМЕР.РФ/\"}")]))
        == "blocked_domain")
    // A 6 MB text and a 1 MB URL.
    let big = String(repeating: "Lorem ipsum dolor sit amet. ", count: 220_000)
    #expect(
      try verdict([stage], docLine(id: "h", text: big, [("metadata", "{\"url\":\"http://a.日本.jp/\"}")]))
        == "blocked_domain")
    let longURL = "http://fine.example.org/" + String(repeating: "segment/", count: 130_000)
    #expect(try verdict([stage], docLine(id: "h", text: "", [("metadata", "{\"url\":\(jsonQuote(longURL))}")])) == nil)
  }

  @Test("the byte-string set finds every entry and nothing else as it grows")
  func byteStringSet() {
    let set = ByteStringSet()
    var rng = SplitMix(seed: 3)
    func key(_ k: UInt64) -> [UInt8] { Array("k\(k)-\(k &* 2_654_435_761 % 1000).example".utf8) }
    let inserted = (0..<20_000).map { _ in rng.next() % 1_000_000 }
    for k in inserted { key(k).withUnsafeBufferPointer { set.insert($0) } }
    #expect(set.count == Set(inserted).count)
    let present = Set(inserted)
    for k in UInt64(0)..<30_000 {
      let found = key(k).withUnsafeBufferPointer { set.contains($0.baseAddress!, $0.count) }
      #expect(found == present.contains(k), "key \(k)")
    }
    // Prefixes and extensions of entries are other strings.
    let probe = Array("k\(inserted[0])-".utf8)
    #expect(!probe.withUnsafeBufferPointer { set.contains($0.baseAddress!, $0.count) })
  }

  @Test("invalid parameters and unreadable list files are usage errors")
  func validation() throws {
    expectUsageError(["nothing to block", "domains_file"]) { _ = try build(d, [:]) }
    expectUsageError(["missing", "keep|drop", "'maybe'"]) {
      _ = try build(d, ["domains": list(["a.com"]), "missing": v("maybe")])
    }
    expectUsageError(["field must not be empty"]) {
      _ = try build(d, ["domains": list(["a.com"]), "field": quoted("")])
    }
    expectUsageError(["domains", "'localhost'", "not a domain"]) { _ = try build(d, ["domains": list(["localhost"])]) }
    expectUsageError(["domains_file", "/nonexistent/domains", "No such file"]) {
      _ = try build(d, ["domains_file": v("/nonexistent/domains")])
    }
    expectUsageError(["url_substrings_file", "/nonexistent/subs"]) {
      _ = try build(d, ["url_substrings_file": v("/nonexistent/subs")])
    }
    let dir = try TempDir()
    let empty = try writeList(dir, "empty.txt", "# only a comment\n")
    expectUsageError(["no usable entries", "domains_file"]) { _ = try build(d, ["domains_file": v(empty)]) }
    let punct = try writeList(dir, "punct.txt", "---\n...\n")
    expectUsageError(["no usable entries"]) { _ = try build(d, ["url_substrings_file": v(punct)]) }
  }
}
