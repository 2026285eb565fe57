import ArgumentParser
import Glibc
import Winnow

/// `winnow kmeans`: the cluster stage's k-means on a `.npy` array of vectors, outside a recipe:
/// to cluster vectors computed elsewhere, to choose k, or to time k-means against its peers.
struct KMeansCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kmeans",
    abstract: "k-means on the rows of a .npy array (the cluster stage's k-means, one thread, bounded memory).",
    discussion: """
      The vectors are streamed from the file (float32 or float64, C order) in blocks at every pass, so memory
      holds one block, the centroids and a label per row. Prints a JSON summary (iterations, inertia, seconds,
      peak memory) on standard output.

        winnow kmeans vectors.npy --k 1000 --iterations 10 --save centroids.npy
        winnow kmeans vectors.npy --k 1000 --init start.npy --tolerance 0 --iterations 10

      \(exitCodeHelp)
      """)

  @Argument(help: "Vectors: a 2-D .npy array (rows × dims).")
  var input: String

  @Option(help: "Number of clusters.")
  var k: Int

  @Option(help: "Lloyd iterations at most.")
  var iterations: Int = 20

  @Option(help: "Stop when the centroids move less than this × the vectors' mean variance (scikit-learn's tol).")
  var tolerance: Double = 1e-4

  @Option(help: "euclidean, or cosine (spherical k-means on unit vectors).")
  var metric: String = "euclidean"

  @Option(help: "Start from these centroids (.npy, k × dims) instead of k-means++.")
  var initCentroids: String?

  @Option(help: "Vectors k-means++ draws from (default max(10000, 40·k)).")
  var initSample: Int?

  @Option(help: "k-means++ starts tried on the sample (default 25, 10 or 3 by sample size × k).")
  var initRuns: Int?

  @Option(help: "Mini-batch k-means: move the centroids after every batch of this many vectors (default: Lloyd).")
  var minibatch: Int?

  @Option(help: "Seed of the initialisation.")
  var seed: UInt64 = 0

  @Option(help: "Write the final centroids here (.npy, float32).")
  var save: String?

  func validate() throws {
    guard k >= 1 else { throw ValidationError("--k must be at least 1") }
    guard iterations >= 0 else { throw ValidationError("--iterations must not be negative") }
    if let minibatch, minibatch < 1 { throw ValidationError("--minibatch must be at least 1") }
    guard ["euclidean", "cosine"].contains(metric) else { throw ValidationError("--metric must be euclidean or cosine") }
  }

  func run() throws {
    do throws(WinnowError) {
      var guardian = OutputGuard()
      guardian.inputs.append(OutputGuard.Input(role: "input", path: input, isDirectory: false))
      if let initCentroids { guardian.inputs.append(OutputGuard.Input(role: "--init-centroids", path: initCentroids, isDirectory: false)) }
      if let save { guardian.addOutput(save, role: "--save", isDirectory: false) }
      try guardian.check()
      let started = monotonicNow()
      var source = try NumpyVectorSource(path: input)
      source.normalize = metric == "cosine"
      var o = KMeans.Options(k: k)
      o.iterations = iterations
      o.tolerance = tolerance
      o.spherical = metric == "cosine"
      o.seed = seed
      o.initSample = initSample
      o.initRuns = initRuns
      o.miniBatch = minibatch
      let initial: [Double]
      let tol: Double
      if let initCentroids {
        let a = try NumpyArrayFile.read(initCentroids)
        guard a.rows == k, a.columns == source.dims else {
          throw WinnowError.usage("\(initCentroids) holds \(a.rows) × \(a.columns) centroids; k is \(k) and the vectors have \(source.dims) values")
        }
        initial = a.values
        tol = try KMeans.tolerance(source, relative: tolerance)
      } else {
        (initial, _, tol) = try KMeans.initialise(source, o)
      }
      let initialised = monotonicNow()
      let r = try KMeans.lloyd(source, initial: initial, o, tolerance: tol)
      let finished = monotonicNow()
      if let save { _ = try writeFileAtomically(save, NumpyArrayFile.float32(rows: k, columns: source.dims, values: r.centroids)) }
      var usage = rusage()
      getrusage(RUSAGE_SELF.rawValue, &usage)
      print(
        "{\"vectors\":\(r.count),\"dims\":\(source.dims),\"k\":\(k),\"iterations\":\(r.iterations),\"inertia\":\(r.inertia),"
          + "\"init_seconds\":\(initialised - started),\"lloyd_seconds\":\(finished - initialised),"
          + "\"peak_rss_mb\":\(Double(usage.ru_maxrss) / 1024)}")
    } catch {
      throw report(error)
    }
  }

  func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
  }
}
