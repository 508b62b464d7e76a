// swift-tools-version:6.0
import PackageDescription

// Arrows point one way: YAML → RuleModel (strict loader) ← CEL; Survey (CSV reading);
// Engine (pure: classification, deprivation, eligibility, aggregates, explanations) → Output
// (writers) → povrules (thin command line).
/// On Linux, the Swift runtime and Foundation are linked into povrules: a dynamically linked
/// povrules spent about 10 ms of every run's start in the dynamic loader (relocating
/// libswiftCore, Foundation and ICU, looking up their symbols). Foundation's static libraries
/// name what they need only when the importing module is itself compiled with -static-stdlib,
/// so they are listed here, in the order the compiler would list them. (Linking at a fixed
/// address, -no-pie, saved about 1.5 ms more; left out, to keep address randomisation.)
let povrulesLinking: [LinkerSetting] = {
    #if os(Linux)
    let staticFoundation = [
        "-lFoundation", "-lCoreFoundation", "-l_FoundationICU", "-lswiftSynchronization", "-lswiftCore",
        "-lswift_StringProcessing", "-lswift_RegexParser", "-lswift_Concurrency", "-lswiftGlibc", "-lm",
        "-lpthread", "-lutil", "-ldl", "-lFoundationInternationalization", "-l_FoundationCShims",
        "-lFoundationEssentials", "-l_FoundationCollections", "-lswiftDispatch", "-ldispatch", "-lBlocksRuntime",
    ]
    return [.unsafeFlags(["-static-stdlib"] + staticFoundation)]
    #else
    return []
    #endif
}()

let package = Package(
    name: "povrules",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "povrules", targets: ["povrules"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1",
                       providers: [.apt(["libyaml-dev"])]),
        .target(name: "Diagnostics"),
        // The CSV splitter's kernel, in C for its AVX2 variant (see Sources/CSplit/CSplit.c).
        // Its debug info is DWARF 4, as Swift's: valgrind 3.19 (Debian 12), with which the
        // instruction counts in docs/performance.md are taken, cannot read clang's DWARF 5.
        .target(name: "CSplit", cSettings: [.unsafeFlags(["-gdwarf-4"])]),
        // Column rows into bit masks for the CEL mask evaluator, in C for its AVX2 variant
        // (see Sources/CMask/CMask.c); DWARF 4 as CSplit.
        .target(name: "CMask", cSettings: [.unsafeFlags(["-gdwarf-4"])]),
        .target(name: "YAML", dependencies: ["CYAML", "Diagnostics"]),
        .target(name: "CEL", dependencies: ["CMask", "Diagnostics"]),
        .target(name: "Survey", dependencies: ["CSplit", "Diagnostics", "YAML"]),
        .target(name: "RuleModel", dependencies: ["Diagnostics", "YAML", "CEL", "Survey"]),
        .target(name: "Engine", dependencies: ["Diagnostics", "RuleModel", "CEL", "Survey"]),
        .target(name: "Output", dependencies: ["Diagnostics", "Engine", "RuleModel", "Survey"]),
        .target(name: "Audit", dependencies: ["Diagnostics", "RuleModel", "CEL", "Engine", "Output", "Survey"]),
        .executableTarget(name: "povrules", dependencies: [
            "Diagnostics", "YAML", "CEL", "Survey", "RuleModel", "Engine", "Output", "Audit",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], linkerSettings: povrulesLinking),
        .executableTarget(name: "survey-gen", dependencies: ["Survey"], path: "Sources/survey-gen"),
        .executableTarget(name: "survey-bench", dependencies: ["Survey"], path: "bench/survey"),
        .executableTarget(name: "cel-bench", dependencies: ["CEL"], path: "bench/cel"),
        .testTarget(name: "YAMLTests", dependencies: ["YAML", "Diagnostics"]),
        .testTarget(name: "CELTests", dependencies: ["CEL", "CMask", "Diagnostics"]),
        .testTarget(name: "SurveyTests", dependencies: ["Survey", "CSplit", "Diagnostics"],
                    resources: []),
        .testTarget(name: "RuleModelTests", dependencies: ["RuleModel", "Diagnostics"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "RuleModel", "Survey", "Output", "Audit"]),
        .testTarget(name: "AuditTests", dependencies: ["Audit", "Engine", "RuleModel", "Survey", "Output"]),
        .testTarget(name: "CLITests", dependencies: ["Diagnostics"]),
    ]
)
