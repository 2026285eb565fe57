import Glibc

/// Quad's cluster bandit (Zhang et al. 2025, "Harnessing Diversity for Important Data
/// Selection"; `Quad/Quad-data_selection.py` `step1`/`step3`, `Quad_util.py`): clusters are
/// the arms of an upper-confidence-bound bandit. Each round takes the `arms` clusters of
/// highest cluster score (CS; clusters 0, 1, 2, … in the first round) that still hold another
/// block of `blockSize` documents, has the caller measure each one's reward on `probeSize`
/// probe documents (the mean influence minus an offset), and then, for each arm i with reward
/// r: the cluster is sampled once more; when r > 0 it wins a block (its documents are
/// selected); every neighbour c of i (centroid distance below `radius`, i included) gets
/// score_c += r·(1 − dist(i, c)/radius), n_c += 1, N += 1; finally every cluster's
/// CS_c = score_c/n_c + α·√(2 ln N / (n_c + 1)) (score_c/n_c read as 0 while n_c is 0).
///
/// The reference's details are kept, as its replay must match: the ranking is a stable sort
/// by CS (ties in cluster order) taken once per round; a cluster found exhausted gets score and
/// CS −9,999,999 and the next in the ranking is tried; the CS update of every round recomputes
/// all clusters (an exhausted cluster never reached by a neighbour update returns to
/// α·√(2 ln N)). A trainer can use it online: `chooseArms`, measure, `update`.
public struct QuadBandit: Sendable {
  /// The reference's settings (`Quad-data_selection.py`).
  public struct Options: Sendable {
    /// Clusters per round.
    public var arms = 50
    /// Exploration weight α.
    public var alpha = 1e-4
    /// Neighbour radius in centroid distance.
    public var radius = 0.2
    /// Documents a winning arm adds (the block).
    public var blockSize = 20_000
    /// Probe documents measured per arm.
    public var probeSize = 10
    /// The reference's settings.
    public init() {}
  }

  /// An arm of a round: a cluster and how many times it had been sampled before (its block and
  /// probe window number).
  public struct Arm: Sendable, Equatable {
    /// The cluster.
    public var cluster: Int
    /// Times it had been an arm before this round: its block and probe window number.
    public var sampled: Int
    /// An arm of `cluster`, sampled `sampled` times before.
    public init(cluster: Int, sampled: Int) {
      self.cluster = cluster
      self.sampled = sampled
    }
  }

  /// The bandit's settings.
  public let options: Options
  /// Documents per cluster.
  public let sizes: [Int]
  /// Each cluster's neighbours within the radius, with their distances.
  public let neighbours: [[(cluster: Int, distance: Double)]]
  /// score_c: the sum of each cluster's weighted rewards.
  public private(set) var score: [Double]
  /// n_c: neighbour updates each cluster received.
  public private(set) var chosen: [Int]
  /// CS_c: each cluster's upper-confidence score.
  public private(set) var clusterScore: [Double]
  /// Times each cluster was an arm.
  public private(set) var sampled: [Int]
  /// Blocks won by each cluster.
  public private(set) var won: [Int]
  /// N: neighbour updates of all clusters.
  public private(set) var totalChosen = 0
  /// Blocks won by all clusters.
  public private(set) var totalWon = 0
  /// Rounds completed.
  public private(set) var round = 0
  /// The value the reference gives exhausted clusters.
  public static let exhausted = -9_999_999.0

  /// A bandit over clusters of `sizes` documents, with neighbours by `distance(i, j)` (pairs
  /// closer than the radius; nil: each cluster is its own only neighbour).
  public init(sizes: [Int], distance: ((Int, Int) -> Double)?, options: Options = Options()) {
    self.options = options
    self.sizes = sizes
    let n = sizes.count
    var nb: [[(cluster: Int, distance: Double)]] = []
    for i in 0..<n {
      if let distance {
        nb.append((0..<n).compactMap { j in
          let d = distance(i, j)
          return d < options.radius ? (j, d) : nil
        })
      } else {
        nb.append([(i, 0)])
      }
    }
    neighbours = nb
    score = [Double](repeating: 0, count: n)
    chosen = [Int](repeating: 0, count: n)
    clusterScore = [Double](repeating: 0, count: n)
    sampled = [Int](repeating: 0, count: n)
    won = [Int](repeating: 0, count: n)
  }

  /// Whether cluster `c` holds another block (`get_sample_index`).
  func hasBlock(_ c: Int) -> Bool { (sampled[c] + 1) * options.blockSize <= sizes[c] }

  /// The next round's arms (`step1`); fewer than `arms` when the clusters run out.
  public mutating func chooseArms() -> [Arm] {
    let n = sizes.count
    let ranking = (0..<n).sorted { a, b in clusterScore[a] > clusterScore[b] || (clusterScore[a] == clusterScore[b] && a < b) }
    var arms: [Arm] = []
    var next = 0
    for _ in 0..<options.arms {
      var found = false
      while !found && next < n {
        let c = round == 0 ? next : ranking[next]
        next += 1
        if hasBlock(c) {
          arms.append(Arm(cluster: c, sampled: sampled[c]))
          found = true
        } else {
          score[c] = Self.exhausted
          clusterScore[c] = Self.exhausted
        }
      }
      if !found { break }
    }
    return arms
  }

  /// Records a round's rewards, one per arm, in order (`step3`).
  public mutating func update(arms: [Arm], rewards: [Double]) {
    precondition(arms.count == rewards.count)
    guard !arms.isEmpty else { return }
    for (arm, r) in zip(arms, rewards) {
      let i = arm.cluster
      sampled[i] += 1
      if r > 0 {
        won[i] += 1
        totalWon += 1
      }
      for (c, d) in neighbours[i] {
        totalChosen += 1
        score[c] += r * (1 - d / options.radius)
        chosen[c] += 1
      }
    }
    let logN = log(Double(totalChosen))
    for c in 0..<sizes.count {
      let average = chosen[c] != 0 ? score[c] / Double(chosen[c]) : 0
      clusterScore[c] = average + options.alpha * (2 * logN / Double(chosen[c] + 1)).squareRoot()
    }
    round += 1
  }
}
