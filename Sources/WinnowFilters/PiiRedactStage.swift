import Glibc
import WinnowCore

/// `pii_redact`: replaces e-mail addresses and public IP addresses — and, when asked, phone
/// numbers — with placeholders. Never drops a document.
///
/// E-mail and IP handling reproduces datatrove's `PIIFormatter` (0.10.1) with its defaults:
/// the same two regular expressions with Python `re` semantics (leftmost match, then
/// backtracking; `\b` with Unicode word characters), applied one after the other (e-mails,
/// then IPs on the result), the same validation of IPs (Python's `ipaddress`: no leading
/// zeros, and only `is_global` addresses unless `public_ips_only` is false; the network lists
/// of CPython 3.11.7) and the same replacements, taken round-robin — the next e-mail gets the
/// next e-mail replacement, across documents, as datatrove's replacer keeps its counter for
/// its whole run. The regexes are matched by a hand-written scanner over UTF-8 bytes, not a
/// regex engine.
public final class PiiRedactStage: DocumentStage {
  public static let defaultEmailReplacements = ["email@example.com", "firstname.lastname@example.org"]
  public static let defaultIPReplacements = [
    "22.214.171.124", "126.96.36.199", "188.8.131.52", "184.108.40.206", "220.127.116.11", "18.104.22.168",
  ]
  /// A number reserved for fiction (NANP 555-0100 … 555-0199).
  public static let defaultPhoneReplacements = ["+1 202 555 0100"]

  public static let descriptor = StageDescriptor(
    name: "pii_redact",
    summary:
      "Replace e-mail addresses, public IP addresses and (optionally) phone numbers with placeholders, like datatrove's PIIFormatter",
    role: .transform,
    parameters: [
      ParameterSpec("emails", .bool, default: .bool(true), help: "replace e-mail addresses"),
      ParameterSpec("ips", .bool, default: .bool(true), help: "replace IPv4 addresses"),
      ParameterSpec(
        "public_ips_only", .bool, default: .bool(true),
        help:
          "replace only global (public) IPs, as Python's ipaddress is_global decides; false: every valid IPv4 address"),
      ParameterSpec(
        "email_replacement", .scalarList, default: .list(defaultEmailReplacements),
        help: "replacements for e-mail addresses, used in turn"),
      ParameterSpec(
        "ip_replacement", .scalarList, default: .list(defaultIPReplacements), help: "replacements for IPs, used in turn"
      ),
      ParameterSpec(
        "phones", .bool, default: .bool(false),
        help:
          "also replace phone numbers: international (+ and 8-15 digits) and North American ((555) 123-4567, 555-123-4567) forms"
      ),
      ParameterSpec(
        "phone_replacement", .scalarList, default: .list(defaultPhoneReplacements),
        help: "replacements for phone numbers, used in turn"),
      ParameterSpec(
        "cycle", .choice(["stream", "document"]), default: .string("stream"),
        help:
          "stream: replacements are taken in turn across documents (datatrove); document: every document starts with the first"
      ),
    ],
    make: { (p, _) throws(WinnowError) in try PiiRedactStage(p) })

  let emails: Bool
  let ips: Bool
  let publicIPsOnly: Bool
  let phones: Bool
  let perDocument: Bool
  let emailReplacements: [[UInt8]]
  let ipReplacements: [[UInt8]]
  let phoneReplacements: [[UInt8]]
  private var emailNext = 0
  private var ipNext = 0
  private var phoneNext = 0
  /// Each pass writes the redacted text here, which then becomes the document's text (the
  /// document hands back its previous buffer).
  private var buffer = ByteBuffer(capacity: 1 << 16)

  init(_ p: StageParameters) throws(WinnowError) {
    emails = p.bool("emails")!
    ips = p.bool("ips")!
    publicIPsOnly = p.bool("public_ips_only")!
    phones = p.bool("phones")!
    perDocument = p.string("cycle") == "document"
    func replacements(_ name: String) throws(WinnowError) -> [[UInt8]] {
      let list = p.list(name)!
      if list.isEmpty || list.contains(where: \.isEmpty) {
        throw .usage("stage 'pii_redact': \(name) needs at least one replacement, and none may be empty")
      }
      return list.map { Array($0.utf8) }
    }
    emailReplacements = try replacements("email_replacement")
    ipReplacements = try replacements("ip_replacement")
    phoneReplacements = try replacements("phone_replacement")
    if !emails && !ips && !phones {
      throw .usage("stage 'pii_redact': nothing to redact: emails, ips and phones are all false")
    }
  }

  public func process(_ doc: Document) -> Verdict {
    if perDocument {
      emailNext = 0
      ipNext = 0
      phoneNext = 0
    }
    if buffer.capacity > max(1 << 24, 4 * doc.text.count) { buffer = ByteBuffer(capacity: 1 << 16) }
    // Each pass reads the document's text and writes the redacted one, which becomes the text
    // at once: a long text is held at most twice (as it was and as it is being redacted).
    var changed = false
    func step(_ pass: (UnsafeBufferPointer<UInt8>, inout Output) -> Bool) {
      let current = doc.text
      buffer.removeAll()
      // Replacements may be longer than what they replace: room to grow, reserved, not used.
      buffer.reserve(current.count + current.count / 4 + 64)
      var w = Output(buffer)
      if pass(current, &w) {
        doc.setText(taking: &buffer)
        changed = true
      }
    }
    if emails && !doc.text.isEmpty && memchr(doc.text.baseAddress!, 0x40, doc.text.count) != nil {
      step { redactEmails($0, &$1) }
    }
    if ips && doc.text.count >= 7 && memchr(doc.text.baseAddress!, 0x2E, doc.text.count) != nil {
      step { redactIPs($0, &$1) }
    }
    if phones && doc.text.count >= 8 {
      step { redactPhones($0, &$1) }
    }
    // Replacements that gave the text back as it was (a replacement equal to what it
    // replaced): the line is written as read.
    if changed && doc.isTextAsRead(doc.text) { doc.restoreTextAsRead() }
    if buffer.capacity > 1 << 24 { buffer = ByteBuffer(capacity: 1 << 16) }
    // Earlier copies of the text key were never redacted: they are not written.
    doc.removeShadowedTextFields()
    return .keep
  }

  /// Writes the redacted copy of a text: the gaps between matches and the replacements.
  struct Output {
    let buffer: ByteBuffer

    init(_ buffer: ByteBuffer) { self.buffer = buffer }

    @inline(__always) mutating func append(_ p: UnsafePointer<UInt8>, _ n: Int) {
      buffer.append(p, count: n)
    }

    mutating func append(_ bytes: [UInt8]) {
      buffer.append(bytes)
    }
  }

  // MARK: - E-mail

  /// datatrove's e-mail pattern:
  ///
  ///     \b[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@
  ///     (?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?
  ///       |\[(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}
  ///          (?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?|[A-Za-z0-9-]*[A-Za-z0-9]:)])
  ///
  /// Every match contains an `@` that neither part can contain, so the scanner goes from `@`
  /// to `@`: the domain after it decides whether there is a match and where it ends; the
  /// local part before it, walked back over its characters, gives the leftmost start where
  /// `\b` holds. Matches are replaced in turn; the scan goes on after each match.
  func redactEmails(_ text: UnsafeBufferPointer<UInt8>, _ out: inout Output) -> Bool {
    let p = text.baseAddress!
    let n = text.count
    var floor = 0  // a match may not start before the end of the previous one
    var copied = 0
    var any = false
    var at = 0
    while at < n, let hit = memchr(p + at, 0x40, n - at) {
      let a = UnsafePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - p
      at = a + 1
      guard a > floor, p[a - 1] != 0x2E, let end = Self.emailDomainEnd(p, n, a + 1) else { continue }
      // The local part: atoms of local characters joined by single dots, ending at `a`.
      var r = a
      while r > floor {
        let b = p[r - 1]
        if Self.localChar[Int(b)] {
          r -= 1
        } else if b == 0x2E && p[r] != 0x2E {
          r -= 1
        } else {
          break
        }
      }
      var start = -1
      var s = r
      while s < a {
        if Self.localChar[Int(p[s])] {
          let before = s > 0 && PythonWordTable.contains(UTF8Scan.scalar(before: s, in: p))
          if before != WordChars.isASCIIWord(p[s]) {
            start = s
            break
          }
        }
        s += 1
      }
      guard start >= 0 else { continue }
      out.append(p + copied, start - copied)
      out.append(emailReplacements[emailNext])
      emailNext = (emailNext + 1) % emailReplacements.count
      copied = end
      floor = end
      at = end
      any = true
    }
    if any { out.append(p + copied, n - copied) }
    return any
  }

  /// `[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]`
  static let localChar: [Bool] = (0..<256).map { b in
    if b < 0x80, WordChars.isASCIIWord(UInt8(b)) { return true }
    return "!#$%&'*+/=?^`{|}~-".utf8.contains(UInt8(truncatingIfNeeded: b))
  }

  @inline(__always) static func isAlnum(_ b: UInt8) -> Bool {
    (b &- 0x30) < 10 || ((b | 0x20) &- 0x61) < 26
  }

  @inline(__always) static func isDigit(_ b: UInt8) -> Bool { (b &- 0x30) < 10 }

  /// Where the domain part starting at `i` ends, or nil when it does not match.
  static func emailDomainEnd(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: Int) -> Int? {
    guard i < n else { return nil }
    if isAlnum(p[i]) {
      // Labels: runs of [A-Za-z0-9-] that start and end with a letter or digit. Greedily,
      // every label followed by a dot is one more repetition of `(label\.)+`; then the final
      // label. If the segment after the last dot cannot start a label, the regex backtracks
      // one repetition and the last label before that dot is the final one.
      var j = i
      var repetitions = 0
      var lastRepetitionEnd = -1
      while j < n, isAlnum(p[j]) {
        var k = j
        var lastAlnum = j
        while k < n {
          let b = p[k]
          if isAlnum(b) {
            lastAlnum = k
          } else if b != 0x2D {
            break
          }
          k += 1
        }
        if lastAlnum == k - 1 && k < n && p[k] == 0x2E {
          repetitions += 1
          lastRepetitionEnd = k
          j = k + 1
          continue
        }
        return repetitions >= 1 ? lastAlnum + 1 : nil
      }
      return repetitions >= 2 ? lastRepetitionEnd : nil
    }
    if p[i] == 0x5B {  // [
      var j = i + 1
      for _ in 0..<3 {
        guard let q = octetRun(p, n, j), q < n, p[q] == 0x2E else { return nil }
        j = q + 1
      }
      // Fourth part: an octet then `]`, or `[A-Za-z0-9-]*[A-Za-z0-9]:` then `]`.
      if let q = octetRun(p, n, j), q < n, p[q] == 0x5D { return q + 1 }
      var k = j
      while k < n, isAlnum(p[k]) || p[k] == 0x2D { k += 1 }
      if k > j, isAlnum(p[k - 1]), k + 1 < n, p[k] == 0x3A, p[k + 1] == 0x5D { return k + 2 }
      return nil
    }
    return nil
  }

  /// The end of the digit run at `i` when it is an octet the pattern
  /// `25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?` matches whole: one or two digits, or three
  /// digits from 000 to 199 or 200 to 255. Nil otherwise.
  @inline(__always)
  static func octetRun(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: Int) -> Int? {
    var k = i
    while k < n, k - i < 4, isDigit(p[k]) { k += 1 }
    switch k - i {
    case 1, 2: return k
    case 3: return isThreeDigitOctet(p + i) ? k : nil
    default: return nil
    }
  }

  @inline(__always) static func isThreeDigitOctet(_ d: UnsafePointer<UInt8>) -> Bool {
    switch d[0] {
    case 0x30, 0x31: return true
    case 0x32: return d[1] < 0x35 || (d[1] == 0x35 && d[2] <= 0x35)
    default: return false
    }
  }

  // MARK: - IP

  /// datatrove's IP pattern, with no boundaries at either end:
  ///
  ///     (?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)
  ///
  /// The first three octets must each run up to their dot; the last takes the first
  /// alternative that matches (so "1.2.3.256" matches "1.2.3.25"). The scanner goes from dot
  /// to dot: each dot is tried as the first dot of a match, whose start is the leftmost digit
  /// before it that makes a valid octet. A match that fails validation (a leading zero, or
  /// not public) stays as it is, and the scan still goes on after it, as in `re.sub`.
  func redactIPs(_ text: UnsafeBufferPointer<UInt8>, _ out: inout Output) -> Bool {
    let p = text.baseAddress!
    let n = text.count
    var floor = 0
    var copied = 0
    var any = false
    var at = 0
    while at < n, let hit = memchr(p + at, 0x2E, n - at) {
      let d = UnsafePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - p
      at = d + 1
      var r = d
      while r > floor, d - r < 3, Self.isDigit(p[r - 1]) { r -= 1 }
      guard r < d, let end = Self.ipRest(p, n, d + 1) else { continue }
      let start = d - r == 3 && !Self.isThreeDigitOctet(p + r) ? r + 1 : r
      floor = end
      at = end
      guard Self.ipIsReplaced(p + start, end - start, publicOnly: publicIPsOnly) else { continue }
      out.append(p + copied, start - copied)
      out.append(ipReplacements[ipNext])
      ipNext = (ipNext + 1) % ipReplacements.count
      copied = end
      any = true
    }
    if any { out.append(p + copied, n - copied) }
    return any
  }

  /// Octets two to four from `i` (after the first dot); the end of the match or nil.
  @inline(__always)
  static func ipRest(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: Int) -> Int? {
    var j = i
    for _ in 0..<2 {
      guard let q = octetRun(p, n, j), q < n, p[q] == 0x2E else { return nil }
      j = q + 1
    }
    guard j < n, isDigit(p[j]) else { return nil }
    // 25[0-5] | 2[0-4][0-9] | [01]?[0-9][0-9]?, first alternative that matches.
    let c1: UInt8? = j + 1 < n && isDigit(p[j + 1]) ? p[j + 1] : nil
    let c2: UInt8? = j + 2 < n && isDigit(p[j + 2]) ? p[j + 2] : nil
    if p[j] == 0x32, let c1, let c2 {
      if c1 == 0x35 && c2 <= 0x35 { return j + 3 }
      if c1 < 0x35 { return j + 3 }
    }
    if p[j] == 0x30 || p[j] == 0x31 {
      guard c1 != nil else { return j + 1 }
      return c2 != nil ? j + 3 : j + 2
    }
    return c1 != nil ? j + 2 : j + 1
  }

  /// datatrove's validator: Python's `ipaddress.ip_address` must accept the text (no octet
  /// with a leading zero; the pattern already keeps octets ≤ 255), and with `publicOnly` the
  /// address must be global.
  static func ipIsReplaced(_ p: UnsafePointer<UInt8>, _ n: Int, publicOnly: Bool) -> Bool {
    var octets: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
    var value: UInt32 = 0
    var k = 0
    var i = 0
    while i <= n {
      let start = i
      var v: UInt32 = 0
      while i < n, p[i] != 0x2E {
        v = v * 10 + UInt32(p[i] - 0x30)
        i += 1
      }
      if i - start > 1 && p[start] == 0x30 { return false }
      switch k {
      case 0: octets.0 = v
      case 1: octets.1 = v
      case 2: octets.2 = v
      default: octets.3 = v
      }
      k += 1
      i += 1
    }
    value = octets.0 << 24 | octets.1 << 16 | octets.2 << 8 | octets.3
    return !publicOnly || isGlobal(value)
  }

  /// CPython 3.11.7's `IPv4Address.is_global`: not in 100.64.0.0/10 and not private.
  static func isGlobal(_ ip: UInt32) -> Bool {
    @inline(__always) func inNet(_ net: UInt32, _ bits: UInt32) -> Bool {
      bits == 0 ? true : (ip >> (32 - bits)) == (net >> (32 - bits))
    }
    if inNet(0x6440_0000, 10) { return false }  // 100.64.0.0/10 (shared address space)
    for (net, bits) in privateNetworks where inNet(net, bits) { return false }
    return true
  }

  /// `_IPv4Constants._private_networks` of CPython 3.11.7.
  static let privateNetworks: [(UInt32, UInt32)] = [
    (0x0000_0000, 8),  // 0.0.0.0/8
    (0x0A00_0000, 8),  // 10.0.0.0/8
    (0x7F00_0000, 8),  // 127.0.0.0/8
    (0xA9FE_0000, 16),  // 169.254.0.0/16
    (0xAC10_0000, 12),  // 172.16.0.0/12
    (0xC000_0000, 29),  // 192.0.0.0/29
    (0xC000_00AA, 31),  // 192.0.0.170/31
    (0xC000_0200, 24),  // 192.0.2.0/24
    (0xC0A8_0000, 16),  // 192.168.0.0/16
    (0xC612_0000, 15),  // 198.18.0.0/15
    (0xC633_6400, 24),  // 198.51.100.0/24
    (0xCB00_7100, 24),  // 203.0.113.0/24
    (0xF000_0000, 4),  // 240.0.0.0/4
    (0xFFFF_FFFF, 32),  // 255.255.255.255/32
  ]

  // MARK: - Phone numbers

  /// Phone numbers (not in datatrove), in two families chosen for few false positives:
  ///
  /// - international: `+`, then groups of digits separated by single spaces, hyphens or
  ///   dots, a group may be in parentheses (`+49 (0)30 1234567`), 8 to 15 digits in all;
  /// - North American: `(555) 123-4567`, `(555)123-4567`, `555-123-4567`, `555.123.4567`,
  ///   optionally after `1-`, `1.`, `1 ` or `+1 `; the area code starts with 2-9.
  ///
  /// A number must not touch a letter, digit or `_` on either side, nor be glued to more
  /// digits by `-`, `.`, `/` or `+`. National formats without `+` (`030 1234567`,
  /// `01 23 45 67 89`) are not recognised: they cannot be told from other numbers reliably.
  func redactPhones(_ text: UnsafeBufferPointer<UInt8>, _ out: inout Output) -> Bool {
    let p = text.baseAddress!
    let n = text.count
    var copied = 0
    var any = false
    var i = 0
    while i < n {
      let b = p[i]
      guard b == 0x2B || b == 0x28 || Self.isDigit(b) else {
        i += 1
        continue
      }
      if i > 0 {
        let prev = p[i - 1]
        if prev == 0x2B || prev == 0x2D || prev == 0x2E || prev == 0x2F || prev == 0x28
          || PythonWordTable.contains(UTF8Scan.scalar(before: i, in: p))
        {
          i += 1
          continue
        }
      }
      if let end = Self.phoneEnd(p, n, i), Self.phoneBoundaryAfter(p, n, end) {
        out.append(p + copied, i - copied)
        out.append(phoneReplacements[phoneNext])
        phoneNext = (phoneNext + 1) % phoneReplacements.count
        copied = end
        i = end
        any = true
        continue
      }
      // Skip the rest of this run of digits: a number cannot start inside it.
      i += 1
      while i < n, Self.isDigit(p[i]) { i += 1 }
    }
    if any { out.append(p + copied, n - copied) }
    return any
  }

  static func phoneBoundaryAfter(_ p: UnsafePointer<UInt8>, _ n: Int, _ e: Int) -> Bool {
    guard e < n else { return true }
    let c = p[e]
    if c == 0x2D || c == 0x2E || c == 0x2F || c == 0x2B {
      return !(e + 1 < n && isDigit(p[e + 1]))
    }
    return !PythonWordTable.contains(UTF8Scan.scalar(at: e, in: p, count: n))
  }

  /// The end of a phone number starting at `i`, or nil.
  static func phoneEnd(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: Int) -> Int? {
    @inline(__always) func digits(_ j: Int, _ count: Int) -> Bool {
      guard j + count <= n else { return false }
      for k in j..<(j + count) where !isDigit(p[k]) { return false }
      return j + count == n || !isDigit(p[j + count])
    }
    @inline(__always) func isSep(_ b: UInt8) -> Bool { b == 0x20 || b == 0x2D || b == 0x2E }

    // North American: [1 sep | +1 sep] then (ddd) sep? ddd sep dddd | ddd s ddd s dddd.
    func northAmerican(_ j0: Int) -> Int? {
      var j = j0
      if j < n, p[j] == 0x28 {
        guard digits(j + 1, 3), j + 4 < n, p[j + 4] == 0x29, p[j + 1] >= 0x32 else { return nil }
        j += 5
        if j < n, isSep(p[j]) { j += 1 }
        guard digits(j, 3), j + 3 < n, isSep(p[j + 3]), digits(j + 4, 4) else { return nil }
        return j + 8
      }
      guard digits(j, 3), p[j] >= 0x32, j + 3 < n else { return nil }
      let sep = p[j + 3]
      guard sep == 0x2D || sep == 0x2E, digits(j + 4, 3), j + 7 < n, p[j + 7] == sep,
        digits(j + 8, 4)
      else { return nil }
      return j + 12
    }

    if p[i] == 0x2B {
      if i + 2 < n, p[i + 1] == 0x31, isSep(p[i + 2]), let e = northAmerican(i + 3) { return e }
      // International: digit groups, single separators, parenthesised groups.
      var j = i + 1
      var total = 0
      var end = -1
      var first = true
      while j < n {
        var k = j
        if p[k] == 0x28 && !first {
          var m = k + 1
          while m < n, isDigit(p[m]) { m += 1 }
          guard m > k + 1, m - k - 1 <= 4, m < n, p[m] == 0x29 else { break }
          total += m - k - 1
          k = m + 1
        } else {
          var m = k
          while m < n, isDigit(p[m]) { m += 1 }
          guard m > k else { break }
          total += m - k
          k = m
        }
        if total > 15 { return nil }
        end = k
        first = false
        // One separator, then the next group; a closing parenthesis may be followed directly.
        if k < n, isSep(p[k]), k + 1 < n, isDigit(p[k + 1]) || p[k + 1] == 0x28 {
          j = k + 1
        } else if k < n, p[k] == 0x28 || (k > 0 && p[k - 1] == 0x29 && isDigit(p[k])) {
          j = k
        } else {
          break
        }
      }
      return end > 0 && total >= 8 ? end : nil
    }
    if p[i] == 0x31, i + 1 < n, isSep(p[i + 1]), let e = northAmerican(i + 2) { return e }
    return northAmerican(i)
  }
}
