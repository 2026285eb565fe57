// swift-tools-version:6.0
import Foundation
import PackageDescription

// A package that depends on Winnow by version, as a trainer's would: it must resolve and build
// (SwiftPM refuses unsafe build flags in a dependency resolved by version).
// scripts/check-versioned-dependency.sh points WINNOW_PACKAGE_URL at a bare clone of the
// commit under test, tagged 0.1.0.
let winnowURL = ProcessInfo.processInfo.environment["WINNOW_PACKAGE_URL"] ?? "file:///tmp/winnow-versioned/Winnow.git"

let package = Package(
  name: "WinnowConsumer",
  dependencies: [.package(url: winnowURL, from: "0.1.0")],
  targets: [
    .executableTarget(name: "winnow-consumer", dependencies: [.product(name: "Winnow", package: "Winnow")])
  ]
)
