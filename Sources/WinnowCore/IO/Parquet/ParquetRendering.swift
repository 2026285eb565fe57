/// Writes Parquet values as JSON, the way a row would look as a JSON object line: strings as
/// JSON strings (raw UTF-8, as `json.dumps(ensure_ascii=False)` writes them), integers and
/// floats as numbers (floats as Python's `repr` writes them: the shortest decimal that reads
/// back as the same double), dates, times and timestamps as ISO 8601 strings (Python's
/// `isoformat`), and NaN and infinities — which JSON cannot hold — as null.
enum ParquetRendering {
  static let null = Array("null".utf8)
  static let trueBytes = Array("true".utf8)
  static let falseBytes = Array("false".utf8)
  static let utcOffset = Array("+00:00".utf8)

  @inline(__always)
  static func int(_ v: ParquetValues, _ i: Int, physical: Int32) -> Int64 {
    switch v.form {
    case .integers: return v.integers[i]
    case .fixed:
      let p = v.base! + v.fixedStart + i * v.width
      if physical == 1 {
        return Int64(Int32(bitPattern: UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24))
      }
      var x: UInt64 = 0
      for k in 0..<8 { x |= UInt64(p[k]) << (8 * UInt64(k)) }
      return Int64(bitPattern: x)
    case .byteArrays: return 0
    }
  }

  /// The bytes of value `i` of a byte-array or fixed-width column.
  @inline(__always)
  static func bytes(_ v: ParquetValues, _ i: Int) -> UnsafeBufferPointer<UInt8> {
    switch v.form {
    case .byteArrays: return UnsafeBufferPointer(start: v.base! + v.starts[i], count: v.lengths[i])
    case .fixed: return UnsafeBufferPointer(start: v.base! + v.fixedStart + i * v.width, count: v.width)
    case .integers: return UnsafeBufferPointer(start: nil, count: 0)
    }
  }

  /// Appends value `i` as JSON; false when it is a string that is not valid UTF-8 (its bytes are
  /// written all the same: the document's own scan then reports where).
  @discardableResult
  static func append(
    _ v: ParquetValues, _ i: Int, physical: Int32, _ rendering: ParquetSchema.Rendering, to out: ByteBuffer
  ) throws(WinnowError) -> Bool {
    switch rendering {
    case .string:
      var o = out
      let b = bytes(v, i)
      JSONString.appendQuoted(b, to: &o)
      return JSONScanner.isValidUTF8(b)
    case .boolean:
      out.append(int(v, i, physical: physical) != 0 ? trueBytes : falseBytes)
    case .signed:
      appendInteger(int(v, i, physical: physical), to: out)
    case .unsigned:
      let x = int(v, i, physical: physical)
      if physical == 1 {
        appendUnsigned(UInt64(UInt32(truncatingIfNeeded: x)), to: out)
      } else {
        appendUnsigned(UInt64(bitPattern: x), to: out)
      }
    case .floating:
      let d: Double
      if v.form == .fixed {
        let p = v.base! + v.fixedStart + i * v.width
        var x: UInt64 = 0
        for k in 0..<v.width { x |= UInt64(p[k]) << (8 * UInt64(k)) }
        d = physical == 4 ? Double(Float(bitPattern: UInt32(truncatingIfNeeded: x))) : Double(bitPattern: x)
      } else {
        d = 0
      }
      appendDouble(d, to: out)
    case .float16:
      let b = bytes(v, i)
      appendDouble(halfToDouble(UInt16(b[0]) | UInt16(b[1]) << 8), to: out)
    case .date:
      out.append(UInt8(ascii: "\""))
      appendDate(days: int(v, i, physical: physical), to: out)
      out.append(UInt8(ascii: "\""))
    case .timestamp(let units, let utc):
      appendTimestamp(int(v, i, physical: physical), unitsPerSecond: units, utc: utc, to: out)
    case .int96Timestamp:
      let b = bytes(v, i)
      var nanos: UInt64 = 0
      for k in 0..<8 { nanos |= UInt64(b[k]) << (8 * UInt64(k)) }
      var julianBits: UInt32 = 0
      for k in 0..<4 { julianBits |= UInt32(b[8 + k]) << (8 * UInt32(k)) }
      let julian = Int64(julianBits)
      // Julian day 2 440 588 is 1970-01-01. Seconds and nanoseconds apart: the day's start in
      // nanoseconds may lie outside 64 bits where the instant itself does not.
      let days = julian - 2_440_588
      let nanosOfDay = Int64(bitPattern: nanos)
      let (daySeconds, o1) = days.multipliedReportingOverflow(by: 86_400)
      let (seconds, o2) = daySeconds.addingReportingOverflow(nanosOfDay / 1_000_000_000)
      if o1 || o2 || seconds.magnitude > 1 << 40 {
        out.append(null)
      } else {
        appendTimestamp(seconds: seconds, fraction: nanosOfDay % 1_000_000_000, unitsPerSecond: 1_000_000_000, utc: false, to: out)
      }
    case .time(let units):
      let x = int(v, i, physical: physical)
      out.append(UInt8(ascii: "\""))
      appendClock(secondOfDay: x / units, fraction: x % units, unitsPerSecond: units, to: out)
      out.append(UInt8(ascii: "\""))
    case .decimal(let scale):
      var magnitude: [UInt8]
      var negative = false
      switch physical {
      case 1, 2:
        let x = int(v, i, physical: physical)
        negative = x < 0
        magnitude = Array(String(x.magnitude).utf8)
      default:
        (magnitude, negative) = decimalDigits(bigEndian: bytes(v, i))
      }
      appendDecimal(magnitude, negative: negative, scale: Int(scale), to: out)
    case .uuid:
      let b = bytes(v, i)
      let hex = Array("0123456789abcdef".utf8)
      out.append(UInt8(ascii: "\""))
      for k in 0..<16 {
        if k == 4 || k == 6 || k == 8 || k == 10 { out.append(UInt8(ascii: "-")) }
        out.append(hex[Int(b[k] >> 4)])
        out.append(hex[Int(b[k] & 15)])
      }
      out.append(UInt8(ascii: "\""))
    case .null:
      out.append(null)
    }
    return true
  }

  static func appendInteger(_ x: Int64, to out: ByteBuffer) {
    if x < 0 {
      out.append(UInt8(ascii: "-"))
      appendUnsigned(x.magnitude, to: out)
    } else {
      appendUnsigned(UInt64(x), to: out)
    }
  }

  static func appendUnsigned(_ x: UInt64, to out: ByteBuffer) {
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buf in
      var n = 0
      var y = x
      repeat {
        buf[19 - n] = UInt8(ascii: "0") + UInt8(y % 10)
        y /= 10
        n += 1
      } while y > 0
      out.append(UnsafeBufferPointer(rebasing: buf[(20 - n)...]))
    }
  }

  /// Python's `repr` of a float: the shortest round-trip digits, fixed notation for exponents
  /// from -4 to 15 and `d.ddde±XX` otherwise. NaN and the infinities are written as null.
  static func appendDouble(_ d: Double, to out: ByteBuffer) {
    guard d.isFinite else {
      out.append(null)
      return
    }
    out.append(Array(pythonRepr(d).utf8))
  }

  static func pythonRepr(_ d: Double) -> String {
    // Swift's description gives the shortest round-trip digits; only the layout differs.
    var s = Substring(d.description)
    var sign = ""
    if s.hasPrefix("-") {
      sign = "-"
      s = s.dropFirst()
    }
    var exponent = 0
    if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
      exponent = Int(s[s.index(after: e)...]) ?? 0
      s = s[..<e]
    }
    var digits = ""
    var point = 0
    if let dot = s.firstIndex(of: ".") {
      digits = String(s[..<dot]) + String(s[s.index(after: dot)...])
      point = s.distance(from: s.startIndex, to: dot)
    } else {
      digits = String(s)
      point = digits.count
    }
    point += exponent
    while digits.hasPrefix("0") {
      digits.removeFirst()
      point -= 1
    }
    while digits.hasSuffix("0") { digits.removeLast() }
    if digits.isEmpty { return sign + "0.0" }
    let e10 = point - 1
    if e10 >= -4 && e10 < 16 {
      if point <= 0 { return sign + "0." + String(repeating: "0", count: -point) + digits }
      if point >= digits.count { return sign + digits + String(repeating: "0", count: point - digits.count) + ".0" }
      let k = digits.index(digits.startIndex, offsetBy: point)
      return sign + digits[..<k] + "." + digits[k...]
    }
    let first = digits.prefix(1)
    let rest = digits.dropFirst()
    let exp = e10 < 0 ? "-" + (abs(e10) < 10 ? "0" : "") + String(abs(e10)) : "+" + (e10 < 10 ? "0" : "") + String(e10)
    return sign + first + (rest.isEmpty ? "" : "." + rest) + "e" + exp
  }

  static func halfToDouble(_ h: UInt16) -> Double {
    let sign: Double = h & 0x8000 != 0 ? -1 : 1
    let exponent = Int(h >> 10 & 0x1F)
    let mantissa = Double(h & 0x3FF)
    if exponent == 0 { return sign * mantissa * 0x1p-24 }
    if exponent == 31 { return mantissa == 0 ? sign * .infinity : .nan }
    return sign * (1 + mantissa / 1024) * Double(sign: .plus, exponent: exponent - 15, significand: 1)
  }

  static func appendTwo(_ x: Int, to out: ByteBuffer) {
    out.append(UInt8(ascii: "0") + UInt8(x / 10 % 10))
    out.append(UInt8(ascii: "0") + UInt8(x % 10))
  }

  /// `YYYY-MM-DD` (proleptic Gregorian) of a day count from 1970-01-01.
  static func appendDate(days: Int64, to out: ByteBuffer) {
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    var y = yoe + era * 400
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    if m <= 2 { y += 1 }
    if y < 0 {
      out.append(UInt8(ascii: "-"))
      y = -y
    }
    let ys = String(y)
    if ys.count < 4 { out.append(Array(String(repeating: "0", count: 4 - ys.count).utf8)) }
    out.append(Array(ys.utf8))
    out.append(UInt8(ascii: "-"))
    appendTwo(Int(m), to: out)
    out.append(UInt8(ascii: "-"))
    appendTwo(Int(d), to: out)
  }

  /// `.ffffff` (microseconds, as Python writes them) or `.fffffffff` when nanoseconds are
  /// left; nothing for a whole second.
  static func appendFraction(_ fraction: Int64, unitsPerSecond: Int64, to out: ByteBuffer) {
    guard fraction != 0 else { return }
    let nanos = fraction * (1_000_000_000 / unitsPerSecond)
    out.append(UInt8(ascii: "."))
    let digits = nanos % 1000 == 0 ? 6 : 9
    let value = digits == 6 ? nanos / 1000 : nanos
    let s = String(value)
    out.append(Array((String(repeating: "0", count: digits - s.count) + s).utf8))
  }

  static func appendTimestamp(_ t: Int64, unitsPerSecond: Int64, utc: Bool, to out: ByteBuffer) {
    appendTimestamp(seconds: t / unitsPerSecond, fraction: t % unitsPerSecond, unitsPerSecond: unitsPerSecond, utc: utc, to: out)
  }

  static func appendTimestamp(seconds s: Int64, fraction f: Int64, unitsPerSecond: Int64, utc: Bool, to out: ByteBuffer) {
    var seconds = s
    var fraction = f
    if fraction < 0 {
      fraction += unitsPerSecond
      seconds -= 1
    }
    var days = seconds / 86_400
    var secondOfDay = seconds % 86_400
    if secondOfDay < 0 {
      secondOfDay += 86_400
      days -= 1
    }
    out.append(UInt8(ascii: "\""))
    appendDate(days: days, to: out)
    out.append(UInt8(ascii: "T"))
    appendClock(secondOfDay: secondOfDay, fraction: fraction, unitsPerSecond: unitsPerSecond, to: out)
    if utc { out.append(utcOffset) }
    out.append(UInt8(ascii: "\""))
  }

  /// `HH:MM:SS[.fraction]` of a second of the day (Python's `time.isoformat`).
  static func appendClock(secondOfDay: Int64, fraction: Int64, unitsPerSecond: Int64, to out: ByteBuffer) {
    appendTwo(Int(secondOfDay / 3600), to: out)
    out.append(UInt8(ascii: ":"))
    appendTwo(Int(secondOfDay / 60 % 60), to: out)
    out.append(UInt8(ascii: ":"))
    appendTwo(Int(secondOfDay % 60), to: out)
    appendFraction(fraction, unitsPerSecond: unitsPerSecond, to: out)
  }

  /// The decimal digits of a big-endian two's-complement integer, and its sign.
  static func decimalDigits(bigEndian b: UnsafeBufferPointer<UInt8>) -> ([UInt8], Bool) {
    guard !b.isEmpty else { return ([UInt8(ascii: "0")], false) }
    let negative = b[0] & 0x80 != 0
    var magnitude = Array(b)
    if negative {
      // Two's complement: invert and add one.
      for k in magnitude.indices { magnitude[k] = ~magnitude[k] }
      var k = magnitude.count - 1
      while k >= 0 {
        let (s, o) = magnitude[k].addingReportingOverflow(1)
        magnitude[k] = s
        if !o { break }
        k -= 1
      }
    }
    var digits: [UInt8] = []
    // Repeated division by 10 of the big-endian magnitude.
    while magnitude.contains(where: { $0 != 0 }) {
      var remainder = 0
      for k in magnitude.indices {
        let cur = remainder << 8 | Int(magnitude[k])
        magnitude[k] = UInt8(cur / 10)
        remainder = cur % 10
      }
      digits.append(UInt8(ascii: "0") + UInt8(remainder))
    }
    if digits.isEmpty { digits = [UInt8(ascii: "0")] }
    return (digits.reversed(), negative)
  }

  /// A JSON number of `digits` with `scale` of them after the point.
  static func appendDecimal(_ digits: [UInt8], negative: Bool, scale: Int, to out: ByteBuffer) {
    if negative && digits != [UInt8(ascii: "0")] { out.append(UInt8(ascii: "-")) }
    if scale <= 0 {
      out.append(digits)
      if scale < 0 && digits != [UInt8(ascii: "0")] { out.append(Array(String(repeating: "0", count: -scale).utf8)) }
      return
    }
    if digits.count > scale {
      out.append(Array(digits[..<(digits.count - scale)]))
      out.append(UInt8(ascii: "."))
      out.append(Array(digits[(digits.count - scale)...]))
    } else {
      out.append(Array("0.".utf8))
      out.append(Array(String(repeating: "0", count: scale - digits.count).utf8))
      out.append(digits)
    }
  }
}
