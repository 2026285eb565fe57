// The Unicode facts the pre-tokenization patterns ask about each scalar: its general category
// (`\p{L}`, `\p{Lu}`, `\p{N}`, `\p{M}` …) and whether it is White_Space (`\s`), looked up in a
// two-stage table built once from the standard library's Unicode data.

/// A scalar's general category and White_Space flag as one bit set: bit `c` for category `c`
/// (`ScalarProperties.Category`), bit 30 for White_Space. A class of scalars tests its mask
/// against these bits with one AND.
enum ScalarProperties {
  /// General categories in a fixed order; the raw value is the bit index.
  enum Category: Int, CaseIterable, Sendable {
    case Lu, Ll, Lt, Lm, Lo, Mn, Mc, Me, Nd, Nl, No, Pc, Pd, Ps, Pe, Pi, Pf, Po, Sm, Sc, Sk, So, Zs, Zl, Zp, Cc, Cf,
      Cs, Co, Cn
  }

  static let whiteSpaceBit: UInt64 = 1 << 30

  /// The mask of a category name as `\p{…}` writes it: one- or two-letter general category
  /// names, their long forms (`Letter`, `Uppercase_Letter`, …) and `L&`/`LC` (cased letters).
  static func mask(named name: String) -> UInt64? {
    func bits(_ cs: [Category]) -> UInt64 { cs.reduce(0) { $0 | 1 << UInt64($1.rawValue) } }
    let key = String(name.filter { $0 != "_" && $0 != " " && $0 != "-" }).lowercased()
    switch key {
    case "l", "letter": return bits([.Lu, .Ll, .Lt, .Lm, .Lo])
    case "l&", "lc", "casedletter": return bits([.Lu, .Ll, .Lt])
    case "m", "mark", "combiningmark": return bits([.Mn, .Mc, .Me])
    case "n", "number": return bits([.Nd, .Nl, .No])
    case "p", "punctuation", "punct": return bits([.Pc, .Pd, .Ps, .Pe, .Pi, .Pf, .Po])
    case "s", "symbol": return bits([.Sm, .Sc, .Sk, .So])
    case "z", "separator": return bits([.Zs, .Zl, .Zp])
    case "c", "other": return bits([.Cc, .Cf, .Cs, .Co, .Cn])
    case "lu", "uppercaseletter": return bits([.Lu])
    case "ll", "lowercaseletter": return bits([.Ll])
    case "lt", "titlecaseletter": return bits([.Lt])
    case "lm", "modifierletter": return bits([.Lm])
    case "lo", "otherletter": return bits([.Lo])
    case "mn", "nonspacingmark": return bits([.Mn])
    case "mc", "spacingmark": return bits([.Mc])
    case "me", "enclosingmark": return bits([.Me])
    case "nd", "decimalnumber", "digit": return bits([.Nd])
    case "nl", "letternumber": return bits([.Nl])
    case "no", "othernumber": return bits([.No])
    case "pc", "connectorpunctuation": return bits([.Pc])
    case "pd", "dashpunctuation": return bits([.Pd])
    case "ps", "openpunctuation": return bits([.Ps])
    case "pe", "closepunctuation": return bits([.Pe])
    case "pi", "initialpunctuation": return bits([.Pi])
    case "pf", "finalpunctuation": return bits([.Pf])
    case "po", "otherpunctuation": return bits([.Po])
    case "sm", "mathsymbol": return bits([.Sm])
    case "sc", "currencysymbol": return bits([.Sc])
    case "sk", "modifiersymbol": return bits([.Sk])
    case "so", "othersymbol": return bits([.So])
    case "zs", "spaceseparator": return bits([.Zs])
    case "zl", "lineseparator": return bits([.Zl])
    case "zp", "paragraphseparator": return bits([.Zp])
    case "cc", "control", "cntrl": return bits([.Cc])
    case "cf", "format": return bits([.Cf])
    case "co", "privateuse": return bits([.Co])
    case "cn", "unassigned": return bits([.Cn])
    case "whitespace", "space": return whiteSpaceBit
    default: return nil
    }
  }

  /// The bits of scalar `v` (a valid scalar value).
  @inline(__always)
  static func bits(_ v: UInt32) -> UInt64 {
    let t = table
    let block = Int(t.blockIndex[Int(v >> 8)])
    let code = t.blocks[block << 8 | Int(v & 0xFF)]
    var b: UInt64 = 1 << UInt64(code & 0x1F)
    if code & 0x40 != 0 { b |= whiteSpaceBit }
    return b
  }

  private struct Table: Sendable {
    var blockIndex: [UInt16]
    var blocks: [UInt8]
  }

  /// Built on first use (about 1.1 million property lookups, deduplicated into 256-scalar blocks).
  private static let table: Table = {
    var index = [UInt16](repeating: 0, count: 0x110000 >> 8)
    var blocks: [UInt8] = []
    var seen: [[UInt8]: UInt16] = [:]
    var block = [UInt8](repeating: 0, count: 256)
    for hi in 0..<(0x110000 >> 8) {
      let plane = hi >> 8
      for lo in 0..<256 {
        let v = UInt32(hi << 8 | lo)
        // Planes 4–13 hold no assigned character; planes 15–16 are private use apart from
        // their last two code points (noncharacters). Looking them up would triple the time
        // this table takes to build, for nothing.
        if plane >= 4 && plane <= 13 {
          block[lo] = UInt8(Category.Cn.rawValue)
          continue
        }
        if plane >= 15 {
          block[lo] = UInt8((v & 0xFFFE) == 0xFFFE ? Category.Cn.rawValue : Category.Co.rawValue)
          continue
        }
        guard let s = Unicode.Scalar(v) else {
          block[lo] = UInt8(Category.Cs.rawValue)
          continue
        }
        let p = s.properties
        var code = UInt8(category(of: p.generalCategory).rawValue)
        if p.isWhitespace { code |= 0x40 }
        block[lo] = code
      }
      if let k = seen[block] {
        index[hi] = k
      } else {
        let k = UInt16(blocks.count >> 8)
        seen[block] = k
        blocks += block
        index[hi] = k
      }
    }
    return Table(blockIndex: index, blocks: blocks)
  }()

  private static func category(of c: Unicode.GeneralCategory) -> Category {
    switch c {
    case .uppercaseLetter: return .Lu
    case .lowercaseLetter: return .Ll
    case .titlecaseLetter: return .Lt
    case .modifierLetter: return .Lm
    case .otherLetter: return .Lo
    case .nonspacingMark: return .Mn
    case .spacingMark: return .Mc
    case .enclosingMark: return .Me
    case .decimalNumber: return .Nd
    case .letterNumber: return .Nl
    case .otherNumber: return .No
    case .connectorPunctuation: return .Pc
    case .dashPunctuation: return .Pd
    case .openPunctuation: return .Ps
    case .closePunctuation: return .Pe
    case .initialPunctuation: return .Pi
    case .finalPunctuation: return .Pf
    case .otherPunctuation: return .Po
    case .mathSymbol: return .Sm
    case .currencySymbol: return .Sc
    case .modifierSymbol: return .Sk
    case .otherSymbol: return .So
    case .spaceSeparator: return .Zs
    case .lineSeparator: return .Zl
    case .paragraphSeparator: return .Zp
    case .control: return .Cc
    case .format: return .Cf
    case .surrogate: return .Cs
    case .privateUse: return .Co
    case .unassigned: return .Cn
    @unknown default: return .Cn
    }
  }
}
