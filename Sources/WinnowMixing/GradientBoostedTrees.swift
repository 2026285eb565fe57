import WinnowCore

/// Settings of `GradientBoostedTrees.fit`. The defaults are LightGBM's for a regression
/// (`num_leaves` 31, `min_data_in_leaf` 20, `min_sum_hessian_in_leaf` 1e-3, `max_bin` 255,
/// `min_data_in_bin` 3, no L2 penalty) with RegMix's iterations, learning rate and early stopping.
public struct BoostingParameters: Sendable, Codable, Equatable {
  /// Boosting rounds at most.
  public var iterations = 1000
  /// The shrinkage applied to every tree's leaf values.
  public var learningRate = 0.01
  /// Leaves per tree at most; the tree grows leaf-wise (the leaf whose split gains most first).
  public var numLeaves = 31
  /// Training rows a leaf must hold at least.
  public var minDataInLeaf = 20
  /// Sum of hessians (rows, for a squared loss) a leaf must hold at least.
  public var minSumHessianInLeaf = 1e-3
  /// Histogram bins per feature at most.
  public var maxBins = 255
  /// Rows a bin holds at least (values are merged into a bin until it does).
  public var minDataInBin = 3
  /// L2 penalty on leaf values.
  public var lambdaL2 = 0.0
  /// Stop when the held-out squared error has not improved for this many rounds (0: never).
  public var earlyStoppingRounds = 3

  /// LightGBM's defaults with RegMix's rounds, learning rate and early stopping.
  public init() {}
}

/// One regression tree: internal nodes test `x[feature] <= threshold` and go left when true.
/// A child below zero is a leaf: `~child` indexes `leafValue`.
public struct RegressionTree: Sendable, Codable, Equatable {
  /// Each internal node's feature (domain) index.
  public var feature: [Int]
  /// Each internal node's threshold: `x[feature] <= threshold` goes left.
  public var threshold: [Double]
  /// Each internal node's left child (a node, or `~leaf` when below zero).
  public var left: [Int]
  /// Each internal node's right child (a node, or `~leaf` when below zero).
  public var right: [Int]
  /// The leaves' values (already scaled by the learning rate).
  public var leafValue: [Double]

  /// The leaf value of the leaf `x` falls into.
  public func predict(_ x: [Double]) -> Double {
    if feature.isEmpty { return leafValue[0] }
    var node = 0
    while true {
      let next = x[feature[node]] <= threshold[node] ? left[node] : right[node]
      if next < 0 { return leafValue[~next] }
      node = next
    }
  }
}

/// Gradient-boosted regression trees on a squared loss, as LightGBM's `gbdt` grows them:
/// features cut into histogram bins once, trees grown leaf-wise to `numLeaves`, each split the
/// one with the largest gain `G_L²/H_L + G_R²/H_R − G²/H` over every feature and bin boundary,
/// the first prediction the mean target (LightGBM's `boost_from_average`), and early stopping
/// on held-out rows. No sampling of rows or features, so a fit is deterministic.
public struct GradientBoostedTrees: Sendable, Codable, Equatable {
  /// The starting prediction (the mean training target).
  public var initialValue: Double
  /// Trees, their leaf values already scaled by the learning rate.
  public var trees: [RegressionTree]
  /// The round whose held-out error was lowest (the trees kept), 1-based; 0 without held-out rows.
  public var bestIteration: Int
  /// Held-out mean squared error after each round.
  public var validationError: [Double]

  /// The predicted target for the weights `x`: the starting value plus every tree's leaf.
  public func predict(_ x: [Double]) -> Double {
    var y = initialValue
    for tree in trees { y += tree.predict(x) }
    return y
  }

  /// Fits to rows `x` (all of one width) and targets `y`; `valid` rows decide early stopping.
  public static func fit(x: [[Double]], y: [Double], valid: (x: [[Double]], y: [Double])? = nil,
                         parameters p: BoostingParameters = BoostingParameters()) throws(WinnowError)
    -> GradientBoostedTrees
  {
    let n = x.count
    guard n > 0, n == y.count else { throw .usage("boosting: \(n) rows and \(y.count) targets") }
    let d = x[0].count
    guard d > 0, x.allSatisfy({ $0.count == d }) else { throw .usage("boosting: rows of different widths") }
    if let valid, valid.x.count != valid.y.count || valid.x.contains(where: { $0.count != d }) {
      throw .usage("boosting: the held-out rows do not match the training rows' width")
    }
    guard p.iterations >= 1, p.numLeaves >= 2, p.minDataInLeaf >= 1, p.maxBins >= 2, p.learningRate > 0,
      p.minDataInBin >= 1, p.lambdaL2 >= 0, p.earlyStoppingRounds >= 0
    else { throw .usage("boosting: parameters out of range: \(p)") }

    let binning = FeatureBins(x: x, maxBins: p.maxBins, minDataInBin: p.minDataInBin)
    let initial = y.reduce(0, +) / Double(n)
    var prediction = [Double](repeating: initial, count: n)
    var validPrediction = [Double](repeating: initial, count: valid?.x.count ?? 0)
    var model = GradientBoostedTrees(initialValue: initial, trees: [], bestIteration: 0, validationError: [])
    var best = Double.infinity
    var gradient = [Double](repeating: 0, count: n)
    var grower = TreeGrower(bins: binning, parameters: p)
    for round in 1...p.iterations {
      for i in 0..<n { gradient[i] = prediction[i] - y[i] }
      guard let grown = grower.grow(gradient: gradient) else { break }  // nothing left to split
      let tree = grown.tree
      for i in 0..<n { prediction[i] += tree.leafValue[grown.leafOfRow[i]] }
      model.trees.append(tree)
      guard let valid, !valid.x.isEmpty else { continue }
      var error = 0.0
      for (k, row) in valid.x.enumerated() {
        validPrediction[k] += tree.predict(row)
        let e = validPrediction[k] - valid.y[k]
        error += e * e
      }
      error /= Double(valid.x.count)
      model.validationError.append(error)
      if error < best {
        best = error
        model.bestIteration = round
      } else if p.earlyStoppingRounds > 0 && round - model.bestIteration >= p.earlyStoppingRounds {
        break
      }
    }
    if model.bestIteration > 0 { model.trees.removeSubrange(model.bestIteration...) }
    return model
  }
}

/// Every feature's values cut into at most `maxBins` ranges, as LightGBM's greedy binning does
/// for dense data: the distinct values in order, a bin closed once it holds `minDataInBin` rows
/// (or an even share of the rows when there are more distinct values than bins), its upper
/// bound halfway to the next distinct value.
struct FeatureBins {
  let rows: Int
  let features: Int
  /// `bin[f * rows + i]`: the bin of row `i` in feature `f`.
  var bin: [UInt16]
  /// `upper[f][b]`: the largest value in bin `b` of feature `f` (the split threshold).
  var upper: [[Double]]

  init(x: [[Double]], maxBins: Int, minDataInBin: Int) {
    rows = x.count
    features = x[0].count
    bin = [UInt16](repeating: 0, count: rows * features)
    upper = []
    for f in 0..<features {
      let sorted = x.map { $0[f] }.sorted()
      var distinct: [Double] = []
      var count: [Int] = []
      for v in sorted {
        if let last = distinct.last, last == v { count[count.count - 1] += 1 } else {
          distinct.append(v)
          count.append(1)
        }
      }
      let perBin = distinct.count <= maxBins ? minDataInBin : max(minDataInBin, (rows + maxBins - 1) / maxBins)
      var bounds: [Double] = []
      var held = 0
      for k in 0..<distinct.count {
        held += count[k]
        let isLast = k == distinct.count - 1
        if !isLast && held >= perBin && bounds.count < maxBins - 1 {
          bounds.append((distinct[k] + distinct[k + 1]) / 2)
          held = 0
        }
      }
      bounds.append(.infinity)
      upper.append(bounds)
      for i in 0..<rows {
        // The first bound at or above the value (binary search).
        var lo = 0
        var hi = bounds.count - 1
        let v = x[i][f]
        while lo < hi {
          let mid = (lo + hi) / 2
          if v <= bounds[mid] { hi = mid } else { lo = mid + 1 }
        }
        bin[f * rows + i] = UInt16(lo)
      }
    }
  }
}

/// Grows one tree leaf-wise from the gradients of a squared loss (every hessian is 1).
struct TreeGrower {
  let bins: FeatureBins
  let p: BoostingParameters
  /// Scratch: per feature, per bin, the gradient sum and row count of the leaf being scanned.
  var gradientSum: [Double]
  var rowCount: [Int]
  let binOffset: [Int]

  init(bins: FeatureBins, parameters: BoostingParameters) {
    self.bins = bins
    self.p = parameters
    var offset: [Int] = []
    var total = 0
    for f in 0..<bins.features {
      offset.append(total)
      total += bins.upper[f].count
    }
    binOffset = offset
    gradientSum = [Double](repeating: 0, count: total)
    rowCount = [Int](repeating: 0, count: total)
  }

  struct Split {
    var gain: Double
    var feature: Int
    var bin: Int
  }

  struct Leaf {
    var rows: [Int]
    var gradient: Double
    var split: Split?
    /// Where the leaf hangs: (internal node, is the left child), nil for the root.
    var parent: (node: Int, left: Bool)?
  }

  func leafOutput(_ g: Double, _ count: Int) -> Double {
    -g / (Double(count) + p.lambdaL2) * p.learningRate
  }

  func score(_ g: Double, _ h: Double) -> Double { g * g / (h + p.lambdaL2) }

  mutating func bestSplit(rows: [Int], gradient total: Double, g: [Double]) -> Split? {
    if rows.count < 2 * p.minDataInLeaf { return nil }
    for k in gradientSum.indices {
      gradientSum[k] = 0
      rowCount[k] = 0
    }
    for f in 0..<bins.features {
      let base = f * bins.rows
      let offset = binOffset[f]
      for i in rows {
        let b = offset + Int(bins.bin[base + i])
        gradientSum[b] += g[i]
        rowCount[b] += 1
      }
    }
    let n = rows.count
    let parentScore = score(total, Double(n))
    var best: Split?
    for f in 0..<bins.features {
      let offset = binOffset[f]
      var gl = 0.0
      var nl = 0
      for b in 0..<(bins.upper[f].count - 1) {
        gl += gradientSum[offset + b]
        nl += rowCount[offset + b]
        let nr = n - nl
        if nl < p.minDataInLeaf { continue }
        if nr < p.minDataInLeaf { break }
        if Double(nl) < p.minSumHessianInLeaf || Double(nr) < p.minSumHessianInLeaf { continue }
        let gain = score(gl, Double(nl)) + score(total - gl, Double(nr)) - parentScore
        if gain > (best?.gain ?? 0) { best = Split(gain: gain, feature: f, bin: b) }
      }
    }
    return best
  }

  /// The tree and the leaf of every training row, or nil when the root cannot be split.
  mutating func grow(gradient g: [Double]) -> (tree: RegressionTree, leafOfRow: [Int])? {
    let all = Array(0..<bins.rows)
    let rootGradient = g.reduce(0, +)
    var leaves = [Leaf(rows: all, gradient: rootGradient, split: nil, parent: nil)]
    leaves[0].split = bestSplit(rows: all, gradient: rootGradient, g: g)
    if leaves[0].split == nil { return nil }
    var tree = RegressionTree(feature: [], threshold: [], left: [], right: [], leafValue: [])
    while leaves.count < p.numLeaves {
      // The leaf whose split gains most (the first such leaf on a tie).
      var pick = -1
      for (k, leaf) in leaves.enumerated() {
        if let s = leaf.split, pick < 0 || s.gain > leaves[pick].split!.gain { pick = k }
      }
      if pick < 0 { break }
      let leaf = leaves[pick]
      let split = leaf.split!
      let node = tree.feature.count
      tree.feature.append(split.feature)
      tree.threshold.append(bins.upper[split.feature][split.bin])
      tree.left.append(0)
      tree.right.append(0)
      if let parent = leaf.parent {
        if parent.left { tree.left[parent.node] = node } else { tree.right[parent.node] = node }
      }
      let base = split.feature * bins.rows
      var leftRows: [Int] = []
      var rightRows: [Int] = []
      var leftGradient = 0.0
      for i in leaf.rows {
        if Int(bins.bin[base + i]) <= split.bin {
          leftRows.append(i)
          leftGradient += g[i]
        } else {
          rightRows.append(i)
        }
      }
      let rightGradient = leaf.rows.reduce(0.0) { $0 + (Int(bins.bin[base + $1]) > split.bin ? g[$1] : 0) }
      var left = Leaf(rows: leftRows, gradient: leftGradient, split: nil, parent: (node, true))
      var right = Leaf(rows: rightRows, gradient: rightGradient, split: nil, parent: (node, false))
      left.split = bestSplit(rows: leftRows, gradient: leftGradient, g: g)
      right.split = bestSplit(rows: rightRows, gradient: rightGradient, g: g)
      leaves[pick] = left
      leaves.insert(right, at: pick + 1)
    }
    // Leaves become the tree's leaf values; each internal node's open child points at its leaf.
    var leafOfRow = [Int](repeating: 0, count: bins.rows)
    for (k, leaf) in leaves.enumerated() {
      tree.leafValue.append(leafOutput(leaf.gradient, leaf.rows.count))
      if let parent = leaf.parent {
        if parent.left { tree.left[parent.node] = ~k } else { tree.right[parent.node] = ~k }
      }
      for i in leaf.rows { leafOfRow[i] = k }
    }
    return (tree, leafOfRow)
  }
}
