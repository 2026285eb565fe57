/// Errors that end a run. Each carries the exit code the CLI returns for it.
public struct WinnowError: Error, CustomStringConvertible, Sendable {
  /// What went wrong, which decides the exit code.
  public enum Kind: Sendable {
    /// Bad command line, recipe or stage parameters (exit 2).
    case usage
    /// Unreadable, corrupt or truncated input, or an output that cannot be written (exit 1).
    case io
    /// A bad input line while running with `--strict` (exit 3).
    case badInput
  }

  public var kind: Kind
  public var message: String

  public init(_ kind: Kind, _ message: String) {
    self.kind = kind
    self.message = message
  }

  public var description: String { message }

  public var exitCode: Int32 {
    switch kind {
    case .io: return 1
    case .usage: return 2
    case .badInput: return 3
    }
  }

  public static func usage(_ message: String) -> WinnowError { WinnowError(.usage, message) }
  public static func io(_ message: String) -> WinnowError { WinnowError(.io, message) }
}

/// Runs `body`, whose errors are all `WinnowError`s but pass through an untyped `rethrows`
/// function (such as `Array.withUnsafeBytes`), and restores the type.
@inline(__always)
func typed<R>(_ body: () throws -> R) throws(WinnowError) -> R {
  do {
    return try body()
  } catch let e as WinnowError {
    throw e
  } catch {
    throw .io("\(error)")
  }
}
