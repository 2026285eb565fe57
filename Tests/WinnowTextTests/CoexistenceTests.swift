import Foundation
import Testing
import WinnowText

/// Foundation carries its own ICU (`_FoundationICU`, ICU 76, symbols prefixed
/// `swift_`), WinnowText links the system ICU 72 (symbols suffixed `_72`).
/// Both must work in one process, in either order.
@Suite struct CoexistenceTests {
  @Test func foundationAndSystemICUInOneProcess() throws {
    // Foundation first, including calls that go through its ICU copy.
    #expect("ÉCOLE".lowercased() == "école")
    #expect("istanbul".uppercased(with: Locale(identifier: "tr_TR")) == "İSTANBUL")
    let formatter = NumberFormatter()
    formatter.locale = Locale(identifier: "de_DE")
    formatter.numberStyle = .decimal
    formatter.minimumFractionDigits = 1
    #expect(formatter.string(from: 1234.5) == "1.234,5")
    let json = try JSONSerialization.data(withJSONObject: ["text": "Ｆｕｌｌ ﬁ ΣΟΦΟΣ"])
    let decoded = try JSONSerialization.jsonObject(with: json) as? [String: String]
    let text = try #require(decoded?["text"])

    // Then the shim, on text that came through Foundation.
    #expect(nfc(text, .nfkc) == "Full fi ΣΟΦΟΣ")
    #expect(lower(nfc(text, .nfkc)) == "full fi σοφος")
    #expect(dedupKey(text) == "full fi σοφος")
    #expect(words("我爱北京天安门") == ["我", "爱", "北京", "天安门"])

    // And Foundation again afterwards.
    #expect("ΣΟΦΟΣ".lowercased(with: Locale(identifier: "el_GR")) == "σοφος")
    #expect(formatter.string(from: 0.5) == "0,5")

    // Both ICU copies really are loaded in this process. (RTLD_NOLOAD only
    // finds libraries that are already there.)
    #if os(Linux)
      #expect(dlopen("libicuuc.so.72", RTLD_LAZY | RTLD_NOLOAD) != nil)
      #expect(dlopen("lib_FoundationICU.so", RTLD_LAZY | RTLD_NOLOAD) != nil)
      #expect(dlopen("libicuio.so.72", RTLD_LAZY | RTLD_NOLOAD) == nil)  // control: not linked
    #endif
  }
}
