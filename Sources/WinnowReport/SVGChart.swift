import Foundation

/// Colours of the report, one meaning each.
enum Palette {
  static let kept = "#2a9d8f"
  static let dropped = "#e76f51"
  static let quarantined = "#8e6cc4"
  static let neutral = "#aab4c0"
  static let bar = "#4c78a8"
  static let overflow = "#9fb3c8"
  static let failed = "#e76f51"
  static let unfinished = "#f4a261"
  static let grid = "#e6e9ee"
  static let axis = "#8a94a3"
  static let text = "#2d3540"
  static let muted = "#66707d"
}

/// A part of a bar.
struct BarSegment {
  var value: Double
  var color: String
  /// Tooltip (the browser shows it on hover; no script involved).
  var title: String
}

/// One row of a horizontal bar chart.
struct BarRow {
  var label: String
  var segments: [BarSegment]
  /// Text right of the bar.
  var note: String
  var emphasis = false
}

/// One column of a column chart (histogram bin, task).
struct Column {
  var segments: [BarSegment]
}

/// Inline SVG charts: plain shapes and text, sized in pixels, no script and no external
/// resources. Every bar is a `<rect class="bar">`.
enum SVGChart {
  static let font = "font-family=\"inherit\""

  static func open(_ width: Int, _ height: Int, label: String) -> String {
    "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(Fmt.esc(label))\">"
  }

  static func text(
    _ s: String, x: Double, y: Double, anchor: String = "start", size: Int = 12, color: String = Palette.text,
    weight: String? = nil, title: String? = nil
  ) -> String {
    let w = weight.map { " font-weight=\"\($0)\"" } ?? ""
    let t = title.map { "<title>\(Fmt.esc($0))</title>" } ?? ""
    return
      "<text x=\"\(Fmt.px(x))\" y=\"\(Fmt.px(y))\" text-anchor=\"\(anchor)\" font-size=\"\(size)\" fill=\"\(color)\"\(w)>\(t)\(Fmt.esc(s))</text>"
  }

  static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, color: String, width: Double = 1) -> String {
    "<line x1=\"\(Fmt.px(x1))\" y1=\"\(Fmt.px(y1))\" x2=\"\(Fmt.px(x2))\" y2=\"\(Fmt.px(y2))\" stroke=\"\(color)\" stroke-width=\"\(Fmt.px(width))\"/>"
  }

  static func bar(x: Double, y: Double, w: Double, h: Double, color: String, title: String) -> String {
    "<rect class=\"bar\" x=\"\(Fmt.px(x))\" y=\"\(Fmt.px(y))\" width=\"\(Fmt.px(w))\" height=\"\(Fmt.px(h))\" fill=\"\(color)\"><title>\(Fmt.esc(title))</title></rect>"
  }

  /// A row of coloured squares with names, at the top of a chart.
  static func legend(_ items: [(color: String, name: String)], x: Double, y: Double) -> String {
    var out = ""
    var cx = x
    for item in items {
      out +=
        "<rect class=\"key\" x=\"\(Fmt.px(cx))\" y=\"\(Fmt.px(y - 10))\" width=\"12\" height=\"12\" rx=\"2\" fill=\"\(item.color)\"/>"
      out += text(item.name, x: cx + 17, y: y, color: Palette.muted)
      cx += 17 + Double(item.name.count) * 6.8 + 22
    }
    return out
  }

  /// Round tick values from 0 (or `lo`) past `hi`.
  static func ticks(_ lo: Double, _ hi: Double, count: Int = 5, integer: Bool = false) -> [Double] {
    let top = hi > lo ? hi : lo + 1
    var step = Histogram.niceStep((top - lo) / Double(count))
    if integer { step = max(1, step.rounded(.up)) }
    let start = (lo / step).rounded(.down) * step
    var t: [Double] = [start]
    while t[t.count - 1] < top - step * 1e-9 { t.append(start + Double(t.count) * step) }
    return t
  }

  /// Horizontal bars, one row each, segments stacked left to right, all on one scale.
  static func horizontal(
    _ rows: [BarRow], width: Int = 1040, labelWidth: Int = 170, noteWidth: Int = 300, scaleMax: Double? = nil,
    legend items: [(color: String, name: String)] = [], axis: (Double) -> String = Fmt.compact, label: String
  ) -> String {
    let legendH = items.isEmpty ? 0.0 : 24
    let top = legendH + 8
    let rowH = 28.0
    let barH = 18.0
    let axisH = 22.0
    let height = Int(top + Double(rows.count) * rowH + axisH)
    let plotX = Double(labelWidth) + 12
    let plotW = Double(width) - plotX - Double(noteWidth) - 12
    let maxV = scaleMax ?? rows.map { $0.segments.reduce(0) { $0 + $1.value } }.max() ?? 0
    let t = ticks(0, maxV)
    let axisMax = t[t.count - 1]
    let scale = plotW / axisMax

    var out = open(width, height, label: label)
    if !items.isEmpty { out += legend(items, x: plotX, y: 14) }
    let bottom = top + Double(rows.count) * rowH
    for v in t {
      let x = plotX + v * scale
      out += line(x, top, x, bottom, color: Palette.grid)
      out += text(axis(v), x: x, y: bottom + 15, anchor: "middle", size: 11, color: Palette.muted)
    }
    out += line(plotX, top, plotX, bottom, color: Palette.axis)
    let maxChars = max(4, Int(Double(labelWidth) / 6.9))
    for (k, row) in rows.enumerated() {
      let y = top + Double(k) * rowH + (rowH - barH) / 2
      let mid = y + barH / 2 + 4
      let shown = Fmt.truncate(row.label, maxChars)
      out += text(
        shown, x: Double(labelWidth), y: mid, anchor: "end", weight: row.emphasis ? "600" : nil,
        title: shown == row.label ? nil : row.label)
      var x = plotX
      for s in row.segments where s.value > 0 {
        let w = max(1, s.value * scale)
        out += bar(x: x, y: y, w: w, h: barH, color: s.color, title: s.title)
        x += w
      }
      out += text(row.note, x: plotX + plotW + 10, y: mid, size: 12, color: Palette.muted)
    }
    return out + "</svg>"
  }

  /// Vertical columns (a histogram, or one column per task), stacked segments, with a y axis
  /// on round numbers and x tick labels where the caller puts them (`pos` in column units:
  /// 0 is the left edge of the first column).
  static func columns(
    _ cols: [Column], width: Int = 510, height: Int = 230, xTicks: [(pos: Double, label: String)], xLabel: String,
    yLabel: String, integerY: Bool = true, legend items: [(color: String, name: String)] = [], label: String
  ) -> String {
    let legendH = items.isEmpty ? 0.0 : 22
    let left = 52.0
    let right = 14.0
    let top = legendH + 12
    let bottom = 46.0
    let plotW = Double(width) - left - right
    let plotH = Double(height) - top - bottom
    let maxV = cols.map { $0.segments.reduce(0) { $0 + $1.value } }.max() ?? 0
    let t = ticks(0, maxV, count: 4, integer: integerY)
    let axisMax = t[t.count - 1]
    let n = max(cols.count, 1)
    let colW = plotW / Double(n)
    let gap = colW >= 5 ? min(colW * 0.14, 6) : 0
    let base = top + plotH

    var out = open(width, height, label: label)
    if !items.isEmpty { out += legend(items, x: left, y: 12) }
    for v in t {
      let y = base - v / axisMax * plotH
      out += line(left, y, left + plotW, y, color: Palette.grid)
      out += text(Fmt.compact(v), x: left - 6, y: y + 4, anchor: "end", size: 11, color: Palette.muted)
    }
    for (k, c) in cols.enumerated() {
      var y = base
      let x = left + Double(k) * colW + gap / 2
      for s in c.segments where s.value > 0 {
        let h = max(1, s.value / axisMax * plotH)
        y -= h
        out += bar(x: x, y: y, w: max(colW - gap, 0.8), h: h, color: s.color, title: s.title)
      }
    }
    out += line(left, base, left + plotW, base, color: Palette.axis)
    for tick in xTicks {
      let x = left + tick.pos * colW
      out += line(x, base, x, base + 4, color: Palette.axis)
      out += text(tick.label, x: x, y: base + 16, anchor: "middle", size: 11, color: Palette.muted)
    }
    out += text(xLabel, x: left + plotW / 2, y: Double(height) - 8, anchor: "middle", size: 12, color: Palette.muted)
    // The y axis title, turned to run up the axis.
    out +=
      "<text x=\"0\" y=\"0\" transform=\"translate(13 \(Fmt.px(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\" font-size=\"12\" fill=\"\(Palette.muted)\">\(Fmt.esc(yLabel))</text>"
    return out + "</svg>"
  }

  /// A histogram as columns, with x ticks on round values of its scale.
  static func histogram(
    _ h: Histogram, width: Int = 510, height: Int = 230, xLabel: String, yLabel: String = "documents", label: String
  ) -> String {
    var cols = zip(h.edges, h.edges.dropFirst()).enumerated().map { k, e in
      Column(segments: [
        BarSegment(
          value: Double(h.counts[k]), color: Palette.bar, title: "\(binName(h, k, e.0, e.1)): \(Fmt.int(h.counts[k]))")
      ])
    }
    let n = Double(h.counts.count)
    var ticks: [(pos: Double, label: String)] = []
    switch h.scale {
    case .integer:
      let stride = max(1, Int((n / 10).rounded(.up)))
      for k in Swift.stride(from: 0, to: h.counts.count, by: stride) {
        ticks.append((Double(k) + 0.5, Fmt.compact(h.edges[k] + 0.5)))
      }
    case .log:
      let l0 = log10(h.edges[0])
      let l1 = log10(h.edges[h.edges.count - 1])
      var decades = Array(Int(l0.rounded(.up))...Int(l1.rounded(.down)))
      if decades.count > 8 { decades = decades.enumerated().filter { $0.offset % 2 == 0 }.map(\.element) }
      for d in decades { ticks.append(((Double(d) - l0) / (l1 - l0) * n, Fmt.compact(pow(10, Double(d))))) }
    case .linear:
      let lo = h.edges[0]
      let hi = h.edges[h.edges.count - 1]
      for v in SVGChart.ticks(lo, hi, count: 5) where v >= lo - 1e-9 && v <= hi + 1e-9 {
        ticks.append(((v - lo) / (hi - lo) * n, Fmt.compact(v)))
      }
    }
    if h.overflow > 0 {
      let last = h.edges[h.edges.count - 1]
      cols.append(
        Column(segments: [
          BarSegment(
            value: Double(h.overflow), color: Palette.overflow,
            title: "> \(Fmt.sig(last, 4)) (tail): \(Fmt.int(h.overflow))")
        ]))
      ticks.append((n + 0.5, "more"))
    }
    return columns(cols, width: width, height: height, xTicks: ticks, xLabel: xLabel, yLabel: yLabel, label: label)
  }

  static func binName(_ h: Histogram, _ k: Int, _ lo: Double, _ hi: Double) -> String {
    switch h.scale {
    case .integer: return Fmt.sig(lo + 0.5, 6)
    case .log, .linear:
      let closing = k == h.counts.count - 1 ? "]" : ")"
      return "[\(Fmt.sig(lo, 4)), \(Fmt.sig(hi, 4))\(closing)"
    }
  }
}
