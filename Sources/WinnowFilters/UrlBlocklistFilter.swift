import Glibc
import WinnowCore
import WinnowText

/// `url_blocklist`: drops documents by the URL in a field, the way RefinedWeb filters its
/// crawl: a block list of domains (each with all its subdomains), of URLs, of words in the URL
/// and of substrings of the URL.
///
/// Hosts are parsed robustly (scheme, user info, port, IPv6 brackets, case, trailing dot,
/// a leading `www.`), and a domain entry blocks the domain and every subdomain by walking the
/// host's parent domains — no public-suffix list needed. Lookups hash bytes in place: no
/// allocation per document.
public final class UrlBlocklistFilter: DocumentStage {
  public static let descriptor = StageDescriptor(
    name: "url_blocklist",
    summary:
      "Drop documents whose URL is on a block list of domains (and subdomains), URLs, URL words or URL substrings",
    parameters: [
      ParameterSpec(
        "field", .string, default: .string("url"),
        help: "field holding the document's URL (dotted for nested: metadata.url)"),
      ParameterSpec(
        "domains_file", .scalarList, file: .reads,
        help:
          "block-list files, one entry per line (# comments; gzip/zstd read through): a domain blocks it and all its subdomains; a URL with a path blocks that URL and everything under it"
      ),
      ParameterSpec("domains", .scalarList, help: "domains or URLs given inline, like domains_file's lines"),
      ParameterSpec(
        "url_words_file", .scalarList, file: .reads,
        help:
          "files of banned words: drop when one is a whole word of the URL (the URL split at every character that is not a-z or 0-9, lower-cased)"
      ),
      ParameterSpec("url_words", .scalarList, help: "banned URL words given inline"),
      ParameterSpec(
        "url_substrings_file", .scalarList, file: .reads,
        help:
          "files of banned substrings: drop when one occurs in the URL with everything but a-z and 0-9 removed, lower-cased (datatrove's banned_subwords)"
      ),
      ParameterSpec("substrings", .scalarList, help: "banned URL substrings given inline"),
      ParameterSpec(
        "missing", .choice(["keep", "drop"]), default: .string("keep"),
        help:
          "documents without a URL (no field, not a string, or no host in it): keep them, or drop them as url_missing"),
    ],
    make: { (p, _) throws(WinnowError) in try UrlBlocklistFilter(p) })

  let field: String
  let dropMissing: Bool
  let domains = ByteStringSet()
  /// `host/path` prefixes of blocked URLs (host normalised like domains).
  let urls = ByteStringSet()
  let words = ByteStringSet()
  let substrings: ByteAutomaton?
  /// Documents kept because they had no usable URL (`missing: keep`), for library users.
  public private(set) var missingKept = 0

  private let raw = ByteBuffer(capacity: 512)
  private let scratch = ByteBuffer(capacity: 512)

  init(_ p: StageParameters) throws(WinnowError) {
    let stage = "url_blocklist"
    field = p.string("field")!
    guard !field.isEmpty else { throw .usage("stage '\(stage)': field must not be empty") }
    dropMissing = p.string("missing") == "drop"

    let out = ByteBuffer(capacity: 512)
    let domains = self.domains
    let urls = self.urls
    func addDomainEntry(_ entry: UnsafeBufferPointer<UInt8>) -> Bool {
      guard let u = URLParts.parse(entry, into: out, listEntry: true) else { return false }
      let all = UnsafeBufferPointer(start: out.base, count: u.length)
      if u.pathLength == 0 {
        domains.insert(UnsafeBufferPointer(rebasing: all[0..<u.hostLength]))
      } else {
        urls.insert(all)
      }
      return true
    }
    for path in p.list("domains_file") ?? [] {
      try ListFile.forEachEntry(path, stage: stage, parameter: "domains_file") { e in _ = addDomainEntry(e) }
    }
    for d in p.list("domains") ?? [] {
      var s = d
      let ok = s.withUTF8 { addDomainEntry($0) }
      if !ok && !d.allSatisfy({ $0 == " " }) {
        throw .usage("stage '\(stage)': domains: '\(d)' is not a domain or URL")
      }
    }

    var wordEntries: [[UInt8]] = []
    for path in p.list("url_words_file") ?? [] {
      wordEntries += try ListFile.read(path, stage: stage, parameter: "url_words_file")
    }
    wordEntries += (p.list("url_words") ?? []).map { Array($0.utf8) }
    for w in wordEntries {
      // Normalised like datatrove's: everything but letters and digits removed, lower-cased.
      let n = w.withUnsafeBufferPointer { URLParts.alnumFold($0, into: out) }
      if n > 0 { words.insert(UnsafeBufferPointer(start: out.base, count: n)) }
    }

    var subEntries: [[UInt8]] = []
    for path in p.list("url_substrings_file") ?? [] {
      subEntries += try ListFile.read(path, stage: stage, parameter: "url_substrings_file")
    }
    subEntries += (p.list("substrings") ?? []).map { Array($0.utf8) }
    let folded = subEntries.map { e in
      e.withUnsafeBufferPointer { b in
        Array(UnsafeBufferPointer(start: out.base, count: URLParts.alnumFold(b, into: out)))
      }
    }.filter { !$0.isEmpty }
    substrings = folded.isEmpty ? nil : ByteAutomaton(patterns: folded)

    let given = ["domains_file", "domains", "url_words_file", "url_words", "url_substrings_file", "substrings"]
      .filter { p.has($0) }
    if given.isEmpty {
      throw .usage(
        "stage '\(stage)': nothing to block: give domains_file, domains, url_words_file, url_words, url_substrings_file or substrings"
      )
    }
    if domains.count == 0 && urls.count == 0 && words.count == 0 && substrings == nil {
      throw .usage("stage '\(stage)': the block lists given (\(given.joined(separator: ", "))) have no usable entries")
    }
  }

  public func process(_ doc: Document) -> Verdict {
    guard doc.fieldBytes(field, into: raw),
      let u = URLParts.parse(raw.bytes, into: scratch, listEntry: false)
    else {
      if dropMissing { return .drop("url_missing") }
      missingKept += 1
      return .keep
    }
    let base = UnsafePointer(scratch.base)
    if domains.count > 0 && !u.isIP {
      // The host, then each parent domain: a.b.example.com, b.example.com, example.com, com.
      var start = 0
      while start < u.hostLength {
        if domains.contains(base + start, u.hostLength - start) { return .drop("blocked_domain") }
        while start < u.hostLength && base[start] != UInt8(ascii: ".") { start += 1 }
        start += 1
      }
    } else if domains.count > 0 && domains.contains(base, u.hostLength) {
      return .drop("blocked_domain")
    }
    if urls.count > 0 {
      // host/path prefixes ending at each '/' of the path, then the whole path and query.
      var k = u.hostLength + 1
      while k <= u.length {
        if k == u.length || base[k] == UInt8(ascii: "/") || base[k] == UInt8(ascii: "?") {
          if urls.contains(base, k) { return .drop("blocked_url") }
        }
        k += 1
      }
    }
    if words.count > 0 || substrings != nil {
      let url = raw.bytes
      if words.count > 0 {
        // Words of the URL: runs of ASCII letters and digits, lower-cased.
        scratch.reserve(url.count + 1, keeping: 0)
        let w = scratch.base
        var i = 0
        while i < url.count {
          var n = 0
          while i < url.count, URLParts.isAlnum(url[i]) {
            w[n] = url[i] | (url[i] >= 0x41 && url[i] <= 0x5A ? 0x20 : 0)
            n += 1
            i += 1
          }
          if n > 0 && words.contains(UnsafePointer(w), n) { return .drop("url_word") }
          i += 1
        }
      }
      if let substrings {
        let n = URLParts.alnumFold(url, into: scratch)
        var hit = false
        substrings.scan(UnsafeBufferPointer(start: scratch.base, count: n)) { _, _ in
          hit = true
          return false
        }
        if hit { return .drop("url_substring") }
      }
    }
    return .keep
  }
}

/// URL parsing for block lists.
enum URLParts {
  struct Parsed {
    /// `out[0..<hostLength]` is the normalised host; `out[hostLength..<length]` the path and
    /// query (empty, or starting with `/`).
    var hostLength: Int
    var length: Int
    /// An IPv6 address, or a host of digits and dots: compared whole, without parent domains.
    var isIP: Bool
    var pathLength: Int { length - hostLength }
  }

  @inline(__always) static func isAlnum(_ b: UInt8) -> Bool {
    (b &- 0x30) < 10 || ((b | 0x20) &- 0x61) < 26
  }

  /// Writes `host` + `path?query` into `out`: scheme, user info, port, fragment and a
  /// leading `www.` removed, the host lower-cased (ASCII) without trailing dots or IPv6
  /// brackets, the path without a trailing `/`. Nil when there is no usable host: the host
  /// must have a dot, be an IPv6 address, and contain no spaces, controls or `<>"{}|\^` `.
  /// List entries (`listEntry`) may also be bare domains with a leading `*.` or `.`.
  static func parse(_ input: UnsafeBufferPointer<UInt8>, into out: ByteBuffer, listEntry: Bool) -> Parsed? {
    var lo = 0
    var hi = input.count
    while lo < hi, input[lo] <= 0x20 { lo += 1 }
    while hi > lo, input[hi - 1] <= 0x20 { hi -= 1 }
    guard lo < hi else { return nil }
    // Scheme: letters, digits, + - . then "://".
    var authority = lo
    var k = lo
    if isLetter(input[k]) {
      while k < hi, isAlnum(input[k]) || input[k] == 0x2B || input[k] == 0x2D || input[k] == 0x2E { k += 1 }
      if k < hi, input[k] == UInt8(ascii: ":") {
        if k + 2 < hi, input[k + 1] == UInt8(ascii: "/"), input[k + 2] == UInt8(ascii: "/") {
          authority = k + 3
        } else {
          // "host:port…" without a scheme, or an opaque URI (mailto:, javascript:): only the
          // first has a host.
          var d = k + 1
          while d < hi, (input[d] &- 0x30) < 10 { d += 1 }
          if d == k + 1
            || (d < hi && input[d] != UInt8(ascii: "/") && input[d] != UInt8(ascii: "?")
              && input[d] != UInt8(ascii: "#"))
          {
            return nil
          }
        }
      }
    } else if hi - lo >= 2, input[lo] == UInt8(ascii: "/"), input[lo + 1] == UInt8(ascii: "/") {
      authority = lo + 2
    }
    var authEnd = authority
    while authEnd < hi {
      let b = input[authEnd]
      if b == UInt8(ascii: "/") || b == UInt8(ascii: "?") || b == UInt8(ascii: "#") || b == UInt8(ascii: "\\") { break }
      authEnd += 1
    }
    var hostStart = authority
    for j in authority..<authEnd where input[j] == UInt8(ascii: "@") { hostStart = j + 1 }
    var hostEnd = authEnd
    var isIPv6 = false
    if hostStart < authEnd, input[hostStart] == UInt8(ascii: "[") {
      guard let close = (hostStart..<authEnd).first(where: { input[$0] == UInt8(ascii: "]") }) else { return nil }
      hostStart += 1
      hostEnd = close
      isIPv6 = true
    } else if let colon = (hostStart..<authEnd).first(where: { input[$0] == UInt8(ascii: ":") }) {
      hostEnd = colon
    }
    if listEntry && !isIPv6 {
      if hostEnd - hostStart >= 2, input[hostStart] == UInt8(ascii: "*"), input[hostStart + 1] == UInt8(ascii: ".") {
        hostStart += 2
      }
      while hostStart < hostEnd, input[hostStart] == UInt8(ascii: ".") { hostStart += 1 }
    }
    while hostEnd > hostStart, input[hostEnd - 1] == UInt8(ascii: ".") { hostEnd -= 1 }
    guard hostEnd > hostStart else { return nil }
    // www. is not part of the domain ("www.example.com" and "example.com" are one site),
    // unless nothing but a top-level domain would be left ("www.com").
    if !isIPv6, hostEnd - hostStart > 4, (input[hostStart] | 0x20) == 0x77, (input[hostStart + 1] | 0x20) == 0x77,
      (input[hostStart + 2] | 0x20) == 0x77, input[hostStart + 3] == UInt8(ascii: "."),
      (hostStart + 4..<hostEnd).contains(where: { input[$0] == UInt8(ascii: ".") })
    {
      hostStart += 4
    }
    out.reserve(hi - lo + 2, keeping: 0)
    var o = out.base
    var n = 0
    var ascii = true
    for j in hostStart..<hostEnd {
      var b = input[j]
      if b <= 0x20 || b == 0x7F { return nil }
      switch b {
      case UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "\""), UInt8(ascii: "{"), UInt8(ascii: "}"),
        UInt8(ascii: "|"), UInt8(ascii: "^"), UInt8(ascii: "`"), UInt8(ascii: "@"), UInt8(ascii: "["),
        UInt8(ascii: "]"):
        return nil
      default: break
      }
      if b == UInt8(ascii: ":") && !isIPv6 { return nil }
      if b >= 0x41 && b <= 0x5A { b |= 0x20 }
      if b >= 0x80 { ascii = false }
      o[n] = b
      n += 1
    }
    if !ascii {
      // Internationalised hosts: NFKC_Casefold, close to the mapping of UTS #46 (IDNA), so
      // "ПРИМЕР.РФ" and "пример.рф" are one host. Rare, so a temporary array is fine.
      var folded: [UInt8] = []
      var normalizer = TextNormalizer()
      normalizer.normalize(UnsafeBufferPointer(start: o, count: n), form: .nfkcCasefold, into: &folded)
      out.reserve(folded.count + (hi - lo) + 2, keeping: 0)
      o = out.base
      n = folded.count
      folded.withUnsafeBufferPointer { o.update(from: $0.baseAddress!, count: n) }
    }
    var dots = 0
    var digitsAndDots = true
    for j in 0..<n {
      if o[j] == UInt8(ascii: ".") { dots += 1 } else if (o[j] &- 0x30) >= 10 { digitsAndDots = false }
    }
    guard n > 0, dots > 0 || isIPv6 else { return nil }
    let hostLength = n
    // Path and query, without the fragment and a trailing slash.
    var end = authEnd
    while end < hi, input[end] != UInt8(ascii: "#") { end += 1 }
    var pathEnd = end
    while pathEnd > authEnd, input[pathEnd - 1] == UInt8(ascii: "/") { pathEnd -= 1 }
    if pathEnd > authEnd {
      if input[authEnd] != UInt8(ascii: "/") && input[authEnd] != UInt8(ascii: "\\") {
        o[n] = UInt8(ascii: "/")
        n += 1
      }
      for j in authEnd..<pathEnd {
        o[n] = input[j] == UInt8(ascii: "\\") ? UInt8(ascii: "/") : input[j]
        n += 1
      }
    }
    return Parsed(hostLength: hostLength, length: n, isIP: isIPv6 || digitsAndDots)
  }

  @inline(__always) static func isLetter(_ b: UInt8) -> Bool { ((b | 0x20) &- 0x61) < 26 }

  /// `bytes` with everything but ASCII letters and digits removed, lower-cased, into `out`;
  /// returns the length (datatrove's URL `normalize`).
  static func alnumFold(_ bytes: UnsafeBufferPointer<UInt8>, into out: ByteBuffer) -> Int {
    out.reserve(bytes.count + 1, keeping: 0)
    let o = out.base
    var n = 0
    for b in bytes where isAlnum(b) {
      o[n] = b >= 0x41 && b <= 0x5A ? b | 0x20 : b
      n += 1
    }
    return n
  }
}

/// A set of byte strings: open addressing over XXH3 hashes, the bytes in one arena. A slot
/// is 8 bytes: the top 32 bits of the hash (the tag) and where the entry starts in the arena
/// (a 4-byte length, then the bytes). The slot's position comes from the tag alone (Fibonacci
/// hashing), so growing the table moves slots without reading the arena. At most three
/// quarters full: 4.6 million domains take 64 MB of slots plus their bytes. Lookups take a
/// pointer and a length, so nothing is allocated to ask.
final class ByteStringSet {
  private var arena: UnsafeMutablePointer<UInt8>
  private var arenaCount = 0
  private var arenaCapacity = 1 << 12
  /// 0: empty; otherwise tag << 32 | (arena offset + 1).
  private var slots: UnsafeMutablePointer<UInt64>
  private var slotBits = 4
  private(set) var count = 0

  init() {
    arena = .allocate(capacity: arenaCapacity)
    slots = .allocate(capacity: 1 << slotBits)
    slots.initialize(repeating: 0, count: 1 << slotBits)
  }

  deinit {
    arena.deallocate()
    slots.deallocate()
  }

  @inline(__always) private func position(_ tag: UInt64) -> Int {
    Int(truncatingIfNeeded: (tag &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 - slotBits))
  }

  func insert(_ bytes: UnsafeBufferPointer<UInt8>) {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return }
    if contains(base, bytes.count) { return }
    if (count + 1) * 4 > (1 << slotBits) * 3 { grow() }
    let offset = arenaCount
    precondition(offset + 4 + bytes.count < Int(UInt32.max), "block list larger than 4 GB")
    if offset + 4 + bytes.count > arenaCapacity {
      var c = arenaCapacity * 2
      while c < offset + 4 + bytes.count { c *= 2 }
      let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
      bigger.update(from: arena, count: arenaCount)
      arena.deallocate()
      arena = bigger
      arenaCapacity = c
    }
    UnsafeMutableRawPointer(arena + offset).storeBytes(of: UInt32(bytes.count).littleEndian, as: UInt32.self)
    (arena + offset + 4).update(from: base, count: bytes.count)
    arenaCount = offset + 4 + bytes.count
    let tag = XXH3.hash64(bytes) >> 32
    place(tag << 32 | UInt64(offset + 1))
    count += 1
  }

  private func place(_ slot: UInt64) {
    let mask = (1 << slotBits) - 1
    var i = position(slot >> 32)
    while slots[i] != 0 { i = (i + 1) & mask }
    slots[i] = slot
  }

  private func grow() {
    let old = slots
    let oldCount = 1 << slotBits
    slotBits += 1
    slots = .allocate(capacity: 1 << slotBits)
    slots.initialize(repeating: 0, count: 1 << slotBits)
    for k in 0..<oldCount where old[k] != 0 { place(old[k]) }
    old.deallocate()
  }

  func contains(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
    if count == 0 { return false }
    let tag = XXH3.hash64(UnsafeBufferPointer(start: p, count: n)) >> 32
    let mask = (1 << slotBits) - 1
    var i = position(tag)
    while true {
      let slot = slots[i]
      if slot == 0 { return false }
      if slot >> 32 == tag {
        let entry = arena + Int(slot & 0xFFFF_FFFF) - 1
        let length = Int(UInt32(littleEndian: UnsafeRawPointer(entry).loadUnaligned(as: UInt32.self)))
        if length == n && memcmp(entry + 4, p, n) == 0 { return true }
      }
      i = (i + 1) & mask
    }
  }
}
