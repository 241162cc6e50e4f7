// swift-tools-version: 6.1
// compositord: a headless Wayland compositor that enforces sealed, SIGBUS-proof buffer sharing.
import PackageDescription

let package = Package(
    name: "compositord",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "compositord", targets: ["compositord"]),
        .executable(name: "demo-client", targets: ["demo-client"]),
        // Benchmark load (scripts/bench, docs/PERFORMANCE.md).
        .executable(name: "load-client", targets: ["load-client"]),
        .executable(name: "bench-pixman", targets: ["bench-pixman"]),
        // Benchmark consumer: screencopy of every frame into one wl_shm buffer (scripts/bench --watched).
        .executable(name: "watch-client", targets: ["watch-client"]),
        // Robustness load: many rendering, idle and short-lived connections (docs/robustness/load.md).
        .executable(name: "stress-client", targets: ["stress-client"]),
        // Protocol fuzzer against a real compositord (docs/robustness/fuzzing.md).
        .executable(name: "protocol-fuzz", targets: ["protocol-fuzz"]),
        .library(name: "Compositor", targets: ["Compositor"]),
        .library(name: "ClientKit", targets: ["ClientKit"]),
        // The wlcs conformance-suite integration module (scripts/wlcs, docs/CONFORMANCE.md).
        .library(name: "compositord-wlcs", type: .dynamic, targets: ["WlcsIntegration"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    ],
    targets: [
        // C libraries found through pkg-config (Debian: libpixman-1-dev, libdrm-dev, zlib1g-dev).
        .systemLibrary(name: "CPixman", pkgConfig: "pixman-1"),
        .systemLibrary(name: "CLibDRM", path: "Sources/CDRM/system", pkgConfig: "libdrm"),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib"),
        // Umbrella over libwayland server + client, the generated protocol code, and tiny C shims.
        .target(
            name: "CWayland",
            linkerSettings: [.linkedLibrary("wayland-server"), .linkedLibrary("wayland-client")]
        ),
        // libdrm and the kernel's DRM / dma-buf / udmabuf uapi, with small ioctl helpers.
        .target(name: "CDRM", dependencies: ["CLibDRM"], exclude: ["system"]),
        // PNG encoding and decoding (screenshots, captures, and tests that read them back).
        .target(name: "PNG", dependencies: ["CZlib"]),
        // The bottom layer: every syscall the compositor makes, wrapped to throw a typed Errno.
        .target(name: "Syscalls", dependencies: ["CWayland", .product(name: "SystemPackage", package: "swift-system")]),
        // The surface model: rectangles and regions, buffer transforms, the double-buffered
        // surface state and its commit rules, window placement. Value types that know nothing of
        // protocols, resources or the server (a layer the compiler enforces: it imports none of them).
        .target(name: "SurfaceModel", dependencies: ["CPixman"]),
        // What clients' memory is to the compositor: pool files, the seal policy's decision,
        // shm pools and buffers with guarded reads, dma-buf import and fence readiness, explicit-sync
        // timelines, per-client limits, received fds. No protocol objects, no scene, no server.
        .target(name: "Buffers", dependencies: ["Syscalls", "CWayland", "CDRM", "CPixman", "Policies",
                                                .product(name: "Logging", package: "swift-log"),
                                                .product(name: "SystemPackage", package: "swift-system")]),
        // The seal-policy names, shared by the compositor (which decides) and Misbehave (which checks).
        .target(name: "Policies"),
        // The layers of the compositor, each a target so that a wrong-way import does not build
        // (docs/ARCHITECTURE.md): WaylandCore → SceneGraph → Render → Outputs → Protocols →
        // Input → WindowManagement → Compositor (the assembly).
        // Resources and typed dispatch, globals, the protocol context, generated errors.
        .target(name: "WaylandCore", dependencies: ["CWayland", "Buffers", .product(name: "Logging", package: "swift-log")]),
        // The scene: surfaces, sub-surface trees, views, damage, picking. Protocol-free.
        .target(name: "SceneGraph", dependencies: ["SurfaceModel", "Buffers"]),
        // The pixman renderer: reads the scene, writes an image.
        .target(name: "Render", dependencies: ["SceneGraph", "SurfaceModel", "Buffers", "CPixman"]),
        // Output backends (drm-dumb, udmabuf, dma-heap, memfd), the swapchain, capture consumers.
        .target(name: "Outputs", dependencies: ["Render", "SceneGraph", "SurfaceModel", "Buffers", "Syscalls", "CDRM", "CPixman", "CWayland",
                                                .product(name: "SystemPackage", package: "swift-system")]),
        // One handler per interface, per-family state and delegates; no policy, no server.
        .target(name: "Protocols", dependencies: ["WaylandCore", "Outputs", "Render", "SceneGraph", "SurfaceModel", "Buffers", "Syscalls", "CWayland", "CPixman",
                                                  .product(name: "SystemPackage", package: "swift-system")]),
        // The seat, split per device, and the data device (selection).
        .target(name: "Input", dependencies: ["Protocols", "WaylandCore", "SceneGraph", "SurfaceModel", "Buffers", "Syscalls", "CWayland"]),
        // Window-management policy: the Shell (placement, focus, popup grabs, move/resize).
        .target(name: "WindowManagement", dependencies: ["Input", "Protocols", "SceneGraph", "SurfaceModel", "CWayland"]),
        // The assembly: configuration, the display and its socket, globals, the frame loop.
        .target(
            name: "Compositor",
            dependencies: [
                "CWayland", "CPixman", "CDRM", "PNG", "Policies", "Syscalls", "SurfaceModel", "Buffers",
                "WaylandCore", "SceneGraph", "Render", "Outputs", "Protocols", "Input", "WindowManagement",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .target(
            name: "ClientKit",
            dependencies: [
                "CWayland", "CDRM", "PNG",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // demo-client's --misbehave modes and the reaction each should get under each policy.
        .target(name: "Misbehave", dependencies: ["ClientKit", "CWayland", "CDRM", "Policies",
                                                  .product(name: "SystemPackage", package: "swift-system")]),
        // wlcs's integration ABI (Debian package `wlcs`, headers in /usr/include/wlcs) and the one
        // exported data symbol the runner looks up; the rest of the module is Swift.
        .target(name: "CWlcs"),
        .target(
            name: "WlcsIntegration",
            dependencies: [
                "Compositor", "CWayland", "CWlcs",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // compositord's own close(2), which defers closes that could wait on a FUSE or network
        // file system's server (libwayland closes some client fds itself); the executable only.
        .target(name: "CDeferredClose"),
        .executableTarget(
            name: "compositord",
            dependencies: [
                "Compositor", "CWayland", "CDeferredClose",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "demo-client",
            dependencies: [
                "ClientKit", "Misbehave",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // A weston-simple-shm-like load client with per-frame timing (scripts/bench).
        .executableTarget(
            name: "load-client",
            dependencies: [
                "ClientKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // A wayvnc-like screencopy consumer with per-frame timing (scripts/bench --watched).
        .executableTarget(
            name: "watch-client",
            dependencies: [
                "ClientKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Many connections in one process, and a frame-rate observer (docs/robustness/load.md).
        .executableTarget(
            name: "stress-client",
            dependencies: [
                "ClientKit", "CWayland", "WaylandTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // pixman's raw full-frame copy time, the floor for full-screen damage (scripts/bench).
        .executableTarget(
            name: "bench-pixman",
            dependencies: [
                "CPixman",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // What tests, the fuzzer and the load tools share: the raw wire codec and connection,
        // spawning processes with a clean signal state, private directories, /proc inspection, a monotonic clock.
        .target(name: "WaylandTestSupport"),
        // Attacks a real compositord over its socket: random well-typed requests and raw bytes.
        .executableTarget(
            name: "protocol-fuzz",
            dependencies: [
                "CWayland", "WaylandTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "CompositorTests",
            dependencies: ["Compositor", "Syscalls", "SurfaceModel", "Buffers", "WaylandCore", "SceneGraph", "Render", "Outputs", "Protocols", "Input",
                           "WindowManagement", "CPixman", "CWayland", .product(name: "Logging", package: "swift-log"),
                           .product(name: "SystemPackage", package: "swift-system")]
        ),
        .testTarget(name: "ClientKitTests", dependencies: ["ClientKit", "CWayland", "WaylandTestSupport", "Misbehave"]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["compositord", "demo-client", "load-client", "stress-client", "protocol-fuzz", "PNG", "ClientKit", "CWayland",
                           "WaylandTestSupport", "Misbehave", .product(name: "SystemPackage", package: "swift-system")],
            exclude: ["Fixtures"]  // scripts and pages the tests run, read from the source tree
        ),
    ],
    swiftLanguageModes: [.v6]
)
