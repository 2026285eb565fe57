/// Scripts written without spaces between words — Han, kana, Bopomofo, Thai, Lao, Khmer,
/// Myanmar, and the ideographic iteration and number marks — where every character counts as
/// a word (the way ICU's word breaker treats ideographs next to Latin letters). The word-list
/// filter and decontamination split words this way.
public enum SpacelessScripts {
  @inline(__always)
  public static func contains(_ v: UInt32) -> Bool {
    switch v {
    case 0x0E00...0x0EFF, 0x1000...0x109F, 0x1780...0x17FF, 0x19E0...0x19FF, 0x2E80...0x2FDF,
      0x3005...0x3007, 0x3021...0x3029, 0x3031...0x3035, 0x3038...0x303C, 0x3040...0x30FF,
      0x3100...0x312F, 0x31A0...0x31BF, 0x31F0...0x31FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
      0xA9E0...0xA9FF, 0xAA60...0xAA7F, 0xF900...0xFAFF, 0xFF66...0xFF9F, 0x16FE0...0x16FFF,
      0x1B000...0x1B16F, 0x20000...0x3FFFF:
      return true
    default:
      return false
    }
  }
}
