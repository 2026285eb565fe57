import Foundation
import Testing

@testable import WinnowCore
@testable import WinnowFilters

@Suite("pii_redact stage")
struct PiiRedactStageTests {
  let d = PiiRedactStage.descriptor
  let email0 = "email@example.com"
  let email1 = "firstname.lastname@example.org"
  let ip0 = "22.214.171.124"
  let ip1 = "126.96.36.199"

  func pii(_ params: [String: RawParameter] = [:]) throws -> NamedStage { try build(d, params) }

  /// Each text through a fresh stage (so every document starts with the first replacement).
  func redact(_ params: [String: RawParameter] = [:], _ text: String) throws -> String {
    let (verdict, doc) = try processOne(try pii(params), text)
    #expect(verdict == .keep)
    return doc.textString
  }

  @Test("replacements are used in turn across documents (datatrove), or from the first in each document")
  func cycling() throws {
    let docs: [(String, String)] = [
      ("d1", "Write to john.doe@gmail.com."), ("d2", "Support: help@x.io and sales@x.io"), ("d3", "no pii here"),
      ("d4", "DNS 8.8.8.8, gateway 192.168.1.1, and 1.1.1.1"), ("d5", "again 9.9.9.9"),
    ]
    let stream = try runTexts(try pii(), docs).keptTexts
    #expect(stream["d1"] == "Write to \(email0).")
    #expect(stream["d2"] == "Support: \(email1) and \(email0)")
    #expect(stream["d3"] == "no pii here")
    #expect(stream["d4"] == "DNS \(ip0), gateway 192.168.1.1, and \(ip1)")
    #expect(stream["d5"] == "again 188.8.131.52")
    let perDoc = try runTexts(try pii(["cycle": v("document")]), docs).keptTexts
    #expect(perDoc["d2"] == "Support: \(email0) and \(email1)")
    #expect(perDoc["d5"] == "again \(ip0)")
    // Custom replacements, one of them: every match gets it.
    let custom = try runTexts(
      try pii(["email_replacement": list(["<EMAIL>"]), "ip_replacement": list(["<IP>"])]), docs)
    #expect(custom.keptTexts["d2"] == "Support: <EMAIL> and <EMAIL>")
    #expect(custom.keptTexts["d4"] == "DNS <IP>, gateway 192.168.1.1, and <IP>")
    #expect(custom.stats.stages[0].modified == 4)
  }

  @Test("e-mail addresses: datatrove's pattern, hand-checked")
  func emails() throws {
    let cases: [(String, String)] = [
      ("a@b.com.", "\(email0)."),  // the final dot is not part of the domain
      ("x@localhost.", "x@localhost."),  // a domain needs a dot inside
      ("a@b.com-", "\(email0)-"),
      ("a@b.c-.com", "\(email0)-.com"),
      ("x@a--b.com", email0),
      ("test@exa_mple.com", "test@exa_mple.com"),
      ("a..b@x.com", "a..\(email0)"),
      ("a.@b.com", "a.@b.com"),
      (" -foo@bar.com", " -\(email0)"),  // \b: '-' after a space is no boundary, 'f' after '-' is
      ("ab@cd.ef@gh.ij", "\(email0)@gh.ij"),
      ("user@[192.168.1.1]", email0),
      ("user@[1.2.3.IPv6:]", email0),
      ("user@[1.2.3.999]", "user@[\(ip0)9]"),  // no e-mail; then the IP pattern takes 1.2.3.99
      ("1.2.3.4@example.com", email0),  // an e-mail first, so no IP is left
      ("!#$%&'*+/=?^_`{|}~-@x.org", "!#$%&'*+/=?^\(email0)"),  // the first \b is before the '_'
      ("a!#$%&'*+/=?^_`{|}~-@x.org", email0),
      ("", ""),
    ]
    for (input, expected) in cases {
      #expect(try redact([:], input) == expected, "\(input.debugDescription)")
    }
  }

  @Test("\\b is Unicode: a letter of any script before the local part prevents the match")
  func unicodeBoundary() throws {
    let cases: [(String, String)] = [
      ("éfoo@bar.com", "éfoo@bar.com"),
      ("é-foo@bar.com", "é\(email0)"),
      ("Mail: hans.müller@web.de", "Mail: hans.müller@web.de"),  // "ller" follows ü, a word character
      ("Mail: mueller@web.de", "Mail: \(email0)"),
      ("почта:ivan@mail.ru", "почта:\(email0)"),
      ("почтаivan@mail.ru", "почтаivan@mail.ru"),
      ("联系我foo@bar.com", "联系我foo@bar.com"),
      ("联系：foo@bar.com。", "联系：\(email0)。"),  // full-width colon and full stop are not word characters
      ("メールはtaro@example.jpまで", "メールはtaro@example.jpまで"),
      ("メール：taro@example.jp まで", "メール：\(email0) まで"),
      ("²foo@bar.com", "²foo@bar.com"),  // superscript two is numeric, hence \w in Python
      ("\u{301}foo@bar.com", "\u{301}\(email0)"),  // a combining mark is not \w
    ]
    for (input, expected) in cases {
      #expect(try redact([:], input) == expected, "\(input.debugDescription)")
    }
  }

  @Test("IP addresses: no boundaries, first alternative wins, leading zeros and non-global addresses stay")
  func ips() throws {
    let nonGlobal =
      "10.0.0.1 172.16.5.4 127.0.0.1 169.254.1.1 100.64.0.1 192.0.2.1 0.1.2.3 255.255.255.255 240.0.0.1 198.18.0.1"
    #expect(try redact([:], nonGlobal) == nonGlobal)
    #expect(try redact([:], "100.63.255.255 and 100.128.0.0") == "\(ip0) and \(ip1)")
    #expect(try redact([:], "224.0.0.1") == ip0)  // multicast is "global" for CPython 3.11.7
    #expect(try redact([:], "8.8.8.08 then 8.8.4.4") == "8.8.8.08 then \(ip0)")  // a rejected match uses no replacement
    #expect(try redact([:], "1.2.3.256") == "\(ip0)6")
    #expect(try redact([:], "v1.2.3.4.5") == "v\(ip0).5")
    #expect(try redact([:], "1234.5.6.7") == "1\(ip0)")
    #expect(try redact([:], "999.1.2.3.4") == "9\(ip0).4")
    #expect(try redact([:], "1.2.3") == "1.2.3")
    let all = ["public_ips_only": v("false")]
    #expect(try redact(all, "192.168.1.1 and 010.1.1.1 and 0.0.0.0") == "\(ip0) and 010.1.1.1 and \(ip1)")
    // Turned off one by one.
    #expect(try redact(["ips": v("false")], "a@b.co 8.8.8.8") == "\(email0) 8.8.8.8")
    #expect(try redact(["emails": v("false")], "a@b.co 8.8.8.8") == "a@b.co \(ip0)")
  }

  @Test("phone numbers: off by default; international and North American forms when on")
  func phones() throws {
    let on = ["phones": v("true")]
    let phone = PiiRedactStage.defaultPhoneReplacements[0]
    #expect(try redact([:], "Call (555) 123-4567 now") == "Call (555) 123-4567 now")
    let cases: [(String, String)] = [
      ("Call (555) 123-4567 now", "Call \(phone) now"),
      ("Call 555-123-4567.", "Call \(phone)."),
      ("or 555.123.4567!", "or \(phone)!"),
      ("tel +49 30 1234567", "tel \(phone)"),
      ("tel +49 (0)30 1234567,", "tel \(phone),"),
      ("+44 20 7946 0958", phone),
      ("+4915112345678", phone),
      ("1-800-555-0199", phone),
      ("+1 (202) 555-0143", phone),
      ("ISBN 978-3-16-148410-0", "ISBN 978-3-16-148410-0"),
      ("on 2021-03-04", "on 2021-03-04"),
      ("id 123-456-7890", "id 123-456-7890"),  // a North American area code does not start with 1
      ("555-123-45678", "555-123-45678"),
      ("a555-123-4567", "a555-123-4567"),
      ("+1 2", "+1 2"),
      ("+12 345", "+12 345"),  // 5 digits: too few
      ("+1234567890123456", "+1234567890123456"),  // 16 digits: too many
      ("Телефон: +7 495 123-45-67", "Телефон: \(phone)"),
      ("電話：+81 3-1234-5678", "電話：\(phone)"),
    ]
    for (input, expected) in cases {
      #expect(try redact(on, input) == expected, "\(input.debugDescription)")
    }
    // IPs are replaced before phones are looked for.
    #expect(try redact(on, "8.8.8.8") == ip0)
  }

  @Test("text without @ or dots is not touched; empty text; several-MB single line")
  func untouchedEmptyHuge() throws {
    let lines = [docLine(id: "a", text: "plain words only", asciiOnly: true), docLine(id: "e", text: "")]
    let r = try runPipeline([try pii()], lines: lines)
    #expect(r.outputLines == lines)
    #expect(r.stats.stages[0].modified == 0)
    // 6600 units of 999 bytes, each with one e-mail and one public IP: 6.6 MB on one line.
    let unit = String(repeating: "lorem ipsum ", count: 80) + "mail someone@example.net from 8.8.4.4. "
    let text = String(repeating: unit, count: 6600)
    #expect(text.utf8.count == 999 * 6600)
    let out = try redact([:], text)
    func occurrences(_ s: String) -> Int { out.components(separatedBy: s).count - 1 }
    #expect(occurrences(email0) == 3300 && occurrences(email1) == 3300)
    for ip in PiiRedactStage.defaultIPReplacements { #expect(occurrences(ip) == 1100) }
    #expect(occurrences("@example.net") == 0 && occurrences("8.8.4.4") == 0)
  }

  @Test(
    "random text full of near misses: the same output as Python's re and ipaddress with datatrove's patterns",
    .enabled(if: Python.available))
  func matchesPythonRe() throws {
    var rng = SplitMix(seed: 2024)
    let pieces: [String] = [
      "@", "@", ".", ".", ".", "..", "a", "Z", "x1", "_", "-", "+", "!", "'", "é", "ü", "中", "は", "²", "ж", " ", " ",
      "\n", "[", "]", ":", "1", "2", "5", "9", "0", "25", "255", "256", "01", "192.168.", "8.8.", "100.64.", "224.",
      "com", "org", "mail", "user.name", "IPv6:", "(", ")", "\u{301}", "。", "：",
    ]
    let texts = (0..<3000).map { _ in
      (0..<(1 + Int(rng.next() % 30))).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined()
    }
    let script = #"""
      import ipaddress, json, re, sys
      EMAIL = (r"\b[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:(?:[A-Za-z0-9](?:["
          r"A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?|\[(?:(?:25[0-5]|2[0-4][0-9]|["
          r"01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?|[A-Za-z0-9-]*[A-Za-z0-9]:)])")
      IP = r"(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)"
      class Replacer:
          def __init__(self, regex, repl, validator=None):
              self.regex, self.repl, self.validator, self.i = re.compile(regex), repl, validator, 0
          def replace(self, text):
              def sub(m):
                  if self.validator and not self.validator(m.group(0)):
                      return m.group(0)
                  r = self.repl[self.i]
                  self.i = (self.i + 1) % len(self.repl)
                  return r
              return self.regex.sub(sub, text)
      def public(ip):
          try:
              return ipaddress.ip_address(ip).is_global
          except ValueError:
              return False
      emails = Replacer(EMAIL, ("email@example.com", "firstname.lastname@example.org"))
      ips = Replacer(IP, ("22.214.171.124", "126.96.36.199", "188.8.131.52", "184.108.40.206", "220.127.116.11", "18.104.22.168"), public)
      print(json.dumps([ips.replace(emails.replace(t)) for t in json.load(sys.stdin)]))
      """#
    let expected = try Python.run(script, input: texts) as! [String]
    let r = try runTexts(try pii(), texts.enumerated().map { ("t\($0.offset)", $0.element) })
    let got = r.keptTexts
    var mismatches = 0
    for (k, want) in expected.enumerated() where got["t\(k)"] != want {
      mismatches += 1
      if mismatches <= 5 {
        Issue.record(
          "\(texts[k].debugDescription): python \(want.debugDescription), winnow \(got["t\(k)"]?.debugDescription ?? "nil")"
        )
      }
    }
    #expect(mismatches == 0)
    // The random texts do exercise both rules.
    #expect(expected.filter { $0.contains("example.") }.count >= 50)
    #expect(expected.filter { $0.contains("22.214.171.124") }.count >= 10)
  }

  @Test("invalid parameters")
  func validation() throws {
    expectUsageError(["email_replacement", "at least one"]) { _ = try build(d, ["email_replacement": list([])]) }
    expectUsageError(["ip_replacement", "none may be empty"]) {
      _ = try build(d, ["ip_replacement": list(["1.2.3.4", ""])])
    }
    expectUsageError(["nothing to redact"]) { _ = try build(d, ["emails": v("false"), "ips": v("false")]) }
    expectUsageError(["cycle", "stream|document", "'random'"]) { _ = try build(d, ["cycle": v("random")]) }
    expectUsageError(["phones", "boolean"]) { _ = try build(d, ["phones": v("maybe")]) }
  }
}
