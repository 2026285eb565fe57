// Decoding and encoding of JSON string contents on UTF-8 bytes.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// JSON string contents on UTF-8 bytes: decoding escapes and encoding text as a JSON string.
public enum JSONString {
  /// Appends the decoded contents of a string that `JSONScanner` already validated
  /// (`bytes` is the part between the quotes): `unescape(_:to:)` into room made at the end
  /// of `out` (unescaping never lengthens).
  public static func unescape<Out: ByteAppendable>(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout Out) {
    guard !bytes.isEmpty else { return }
    out.append(upTo: bytes.count) { unescape(bytes, to: $0) }
  }

  /// The decoded contents of a string that `JSONScanner` already validated (`bytes` is the
  /// part between the quotes), written into memory with room for `bytes.count` bytes
  /// (unescaping never lengthens); returns how many bytes it wrote. Runs without escapes are copied eight bytes
  /// at a time as the backslash is looked for in them, one pass over the string: a document's
  /// text is decoded this way, where a line break is an escape every few dozen bytes.
  public static func unescape(_ bytes: UnsafeBufferPointer<UInt8>, to out: UnsafeMutablePointer<UInt8>) -> Int {
    guard let p = bytes.baseAddress else { return 0 }
    let n = bytes.count
    let src = UnsafeRawPointer(p)
    let dst = UnsafeMutableRawPointer(out)
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highs: UInt64 = 0x8080_8080_8080_8080
    var i = 0
    var j = 0  // never past i: eight bytes stored at j stay within the n bytes of room
    while true {
      // Eight bytes at a time, stored before they are looked at: the lowest flagged byte of
      // the mask is exactly the first backslash (the bit trick only misfires above a hit).
      while i &+ 8 <= n {
        let v = src.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        dst.storeBytes(of: v, toByteOffset: j, as: UInt64.self)
        let b = v ^ 0x5C5C_5C5C_5C5C_5C5C
        let m = (b &- ones) & ~b & highs
        if m == 0 {
          i &+= 8
          j &+= 8
          continue
        }
        let k = m.trailingZeroBitCount >> 3
        i &+= k
        j &+= k
        break
      }
      // The tail, byte by byte, up to a backslash.
      while i < n && p[i] != 0x5C {
        out[j] = p[i]
        i &+= 1
        j &+= 1
      }
      guard i < n else { return j }
      // One escape (the scanner checked it is whole and valid).
      let e = p[i &+ 1]
      switch e {
      case UInt8(ascii: "b"): out[j] = 0x08; j &+= 1; i &+= 2
      case UInt8(ascii: "f"): out[j] = 0x0C; j &+= 1; i &+= 2
      case UInt8(ascii: "n"): out[j] = 0x0A; j &+= 1; i &+= 2
      case UInt8(ascii: "r"): out[j] = 0x0D; j &+= 1; i &+= 2
      case UInt8(ascii: "t"): out[j] = 0x09; j &+= 1; i &+= 2
      case UInt8(ascii: "u"):
        var u = hex4(p + (i &+ 2))
        i &+= 6
        if u >= 0xD800 && u <= 0xDBFF && i &+ 6 <= n && p[i] == UInt8(ascii: "\\") {
          let low = hex4(p + (i &+ 2))
          u = 0x10000 &+ ((u &- 0xD800) << 10) &+ (low &- 0xDC00)
          i &+= 6
        }
        j &+= storeUTF8(u, at: out + j)
      default:
        // \" \\ \/
        out[j] = e
        j &+= 1
        i &+= 2
      }
    }
  }

  @inline(__always) static func hex4(_ p: UnsafePointer<UInt8>) -> UInt32 {
    var v: UInt32 = 0
    for j in 0..<4 { v = v << 4 | (hexValue(p[j]) ?? 0) }
    return v
  }

  @inline(__always) public static func appendUTF8<Out: ByteAppendable>(_ u: UInt32, to out: inout Out) {
    out.append(upTo: 4) { storeUTF8(u, at: $0) }
  }

  /// Writes the UTF-8 encoding of scalar value `u` (1 to 4 bytes) at `out`; returns its length.
  @inline(__always) static func storeUTF8(_ u: UInt32, at out: UnsafeMutablePointer<UInt8>) -> Int {
    if u < 0x80 {
      out[0] = UInt8(truncatingIfNeeded: u)
      return 1
    } else if u < 0x800 {
      out[0] = UInt8(truncatingIfNeeded: 0xC0 | (u >> 6))
      out[1] = UInt8(truncatingIfNeeded: 0x80 | (u & 0x3F))
      return 2
    } else if u < 0x10000 {
      out[0] = UInt8(truncatingIfNeeded: 0xE0 | (u >> 12))
      out[1] = UInt8(truncatingIfNeeded: 0x80 | ((u >> 6) & 0x3F))
      out[2] = UInt8(truncatingIfNeeded: 0x80 | (u & 0x3F))
      return 3
    } else {
      out[0] = UInt8(truncatingIfNeeded: 0xF0 | (u >> 18))
      out[1] = UInt8(truncatingIfNeeded: 0x80 | ((u >> 12) & 0x3F))
      out[2] = UInt8(truncatingIfNeeded: 0x80 | ((u >> 6) & 0x3F))
      out[3] = UInt8(truncatingIfNeeded: 0x80 | (u & 0x3F))
      return 4
    }
  }

  private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

  private static let shortEscapes: [UInt8] = {
    var t = [UInt8](repeating: 0, count: 128)
    for c in 0..<0x20 { t[c] = UInt8(ascii: "u") }
    t[0x08] = UInt8(ascii: "b")
    t[0x09] = UInt8(ascii: "t")
    t[0x0A] = UInt8(ascii: "n")
    t[0x0C] = UInt8(ascii: "f")
    t[0x0D] = UInt8(ascii: "r")
    t[0x22] = UInt8(ascii: "\"")
    t[0x5C] = UInt8(ascii: "\\")
    return t
  }()

  /// Appends `text` (valid UTF-8) as a quoted JSON string. Non-ASCII stays raw UTF-8, as
  /// Python's `json.dumps(ensure_ascii=False)` writes it; only `"`, `\` and control
  /// characters are escaped.
  public static func appendQuoted<Out: ByteAppendable>(_ text: UnsafeBufferPointer<UInt8>, to out: inout Out) {
    out.append(UInt8(ascii: "\""))
    if let p = text.baseAddress {
      let table = shortEscapes
      let n = text.count
      var runStart = 0
      var i = 0
      while i < n {
        // Eight bytes at a time while none needs an escape (no quote, backslash or control
        // character; bytes of 0x80 and above never do).
        if i + 8 <= n {
          let x = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
          let ones: UInt64 = 0x0101_0101_0101_0101
          let highs: UInt64 = 0x8080_8080_8080_8080
          let control = (x &- 0x2020_2020_2020_2020) & ~x & highs
          let q = x ^ 0x2222_2222_2222_2222
          let b = x ^ 0x5C5C_5C5C_5C5C_5C5C
          let special = control | ((q &- ones) & ~q & highs) | ((b &- ones) & ~b & highs)
          if special == 0 {
            i += 8
            continue
          }
        }
        let c = p[i]
        i += 1
        guard c < 0x80, table[Int(c)] != 0 else { continue }
        let at = i - 1
        if at > runStart { out.append(bytes: UnsafeBufferPointer(start: p + runStart, count: at - runStart)) }
        out.append(UInt8(ascii: "\\"))
        let e = table[Int(c)]
        out.append(e)
        if e == UInt8(ascii: "u") {
          out.append(UInt8(ascii: "0"))
          out.append(UInt8(ascii: "0"))
          out.append(hexDigits[Int(c >> 4)])
          out.append(hexDigits[Int(c & 0xF)])
        }
        runStart = at + 1
      }
      if n > runStart { out.append(bytes: UnsafeBufferPointer(start: p + runStart, count: n - runStart)) }
    }
    out.append(UInt8(ascii: "\""))
  }

  public static func appendQuoted<Out: ByteAppendable>(_ text: String, to out: inout Out) {
    var s = text
    s.withUTF8 { appendQuoted($0, to: &out) }
  }

  /// `text` as a quoted JSON string.
  public static func quoted(_ text: String) -> String {
    var out: [UInt8] = []
    appendQuoted(text, to: &out)
    return String(decoding: out, as: UTF8.self)
  }

  /// Decodes a quoted, validated JSON string value (`bytes` includes the quotes).
  public static func decode(quoted bytes: UnsafeBufferPointer<UInt8>) -> String {
    var out: [UInt8] = []
    unescape(UnsafeBufferPointer(rebasing: bytes[1..<(bytes.count - 1)]), into: &out)
    return String(decoding: out, as: UTF8.self)
  }
}

/// Something bytes can be appended to: an array, or a `ByteBuffer`.
public protocol ByteAppendable {
  /// Appends one byte.
  mutating func append(_ byte: UInt8)
  /// Appends every byte of `bytes`.
  mutating func append(bytes: UnsafeBufferPointer<UInt8>)
  /// Appends what `write` writes into room for `n` bytes at the end; `write` returns how many
  /// it wrote (at most n).
  mutating func append(upTo n: Int, _ write: (UnsafeMutablePointer<UInt8>) -> Int)
}

extension ByteAppendable {
  /// Through a scratch buffer, for other conforming types.
  public mutating func append(upTo n: Int, _ write: (UnsafeMutablePointer<UInt8>) -> Int) {
    guard n > 0 else { return }
    let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: n)
    defer { scratch.deallocate() }
    let written = write(scratch)
    append(bytes: UnsafeBufferPointer(start: scratch, count: written))
  }
}

extension Array: ByteAppendable where Element == UInt8 {
  @inline(__always) public mutating func append(bytes: UnsafeBufferPointer<UInt8>) { append(contentsOf: bytes) }

  public mutating func append(upTo n: Int, _ write: (UnsafeMutablePointer<UInt8>) -> Int) {
    guard n > 0 else { return }
    let start = count
    append(contentsOf: repeatElement(0, count: n))
    let written = withUnsafeMutableBufferPointer { write($0.baseAddress! + start) }
    removeLast(n - written)
  }
}

extension ByteBuffer: ByteAppendable {
  @inline(__always) public func append(bytes: UnsafeBufferPointer<UInt8>) { append(bytes) }

  public func append(upTo n: Int, _ write: (UnsafeMutablePointer<UInt8>) -> Int) {
    guard n > 0 else { return }
    reserve(count + n)
    count += write(base + count)
  }
}
