import Foundation
import Glibc

/// Runs commands inside a throw-away qemu VM with real DRM and dma-buf devices, through this
/// checkout's `scripts/vm/run` (see docs/vm.md): the guest sees the host's files read-only (plus
/// the `rw` directories, writable), runs the command as root in the test's current directory with
/// its environment, and reports the command's exit code, stdout and stderr.
///
/// A missing runner or host tool is a test failure, with a message that says to run
/// `scripts/setup --vm`; `COMPOSITORD_SKIP_VM=1` skips the VM tests instead (see `skipRequested`).
enum VM {
    enum Device: String, Sendable {
        case vgem = "--vgem"              // /dev/dri/card* from vgem (dumb buffers, PRIME)
        case virtioGPU = "--virtio-gpu"   // /dev/dri/card* from virtio-gpu (KMS, one connector)
    }

    struct Failure: Error, CustomStringConvertible { let description: String }

    /// `scripts/vm/run` of the checkout this file is in (<repo>/Tests/IntegrationTests/Support/VM.swift).
    static let runner: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("scripts/vm/run").path
    }()

    /// Set `COMPOSITORD_SKIP_VM=1` to skip the tests that boot a VM: use as
    /// `.enabled(if: !VM.skipRequested, "COMPOSITORD_SKIP_VM=1")`.
    static var skipRequested: Bool { ProcessInfo.processInfo.environment["COMPOSITORD_SKIP_VM"] == "1" }

    /// Why a VM cannot boot on this machine, or nil if it can (the runner still fetches the kernel
    /// on first use, into its cache).
    static let unavailableReason: String? = {
        guard access(runner, X_OK) == 0 else { return "\(runner) is missing or not executable" }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for tool in ["qemu-system-x86_64", "zstd", "xz"] {
            let found = path.split(separator: ":").contains { access("\($0)/\(tool)", X_OK) == 0 }
            if !found { return "\(tool) is not installed: run scripts/setup --vm" }
        }
        guard access("/bin/busybox", X_OK) == 0 else { return "/bin/busybox is not installed: run scripts/setup --vm" }
        return nil
    }()

    static var isAvailable: Bool { unavailableReason == nil }

    /// Boots a VM, runs `command` in it and returns its result. Throws if the VM is unavailable or
    /// failed to boot (runner exit 125, its stderr carries the console log) or did not finish
    /// within `timeout` seconds. Each call is one boot: several seconds under TCG, so put many
    /// checks into one command.
    static func run(devices: [Device] = [], rw: [String] = [], memoryMB: Int? = nil,
                    environment: [String: String] = [:], timeout: Double = 300,
                    command: [String]) throws -> ProcessResult {
        if let reason = unavailableReason {
            throw Failure(description: "cannot boot a VM: \(reason) (or set COMPOSITORD_SKIP_VM=1 to skip VM tests)")
        }
        var args = devices.map(\.rawValue)
        for dir in rw { args += ["--rw", dir] }
        if let memoryMB { args += ["--mem", String(memoryMB)] }
        args += ["--timeout", String(Int(timeout.rounded(.up))), "--"] + command
        let logs = RuntimeDir()
        // The runner enforces `timeout` itself (exit 124); the margin covers a cold setup, which
        // fetches the kernel. Should it hang anyway, SIGKILL takes qemu down too (pdeathsig).
        let result = try Child(runner, args, environment: environment, dir: logs.path, tag: "vm")
            .wait(timeout: timeout + 300)
        if result.timedOut || (result.status == 124 && result.stderr.contains("vm: timed out")) {
            throw Failure(description: "VM command \(command) timed out after \(timeout) s; stderr:\n\(result.stderr)")
        }
        if result.status == 125 {
            throw Failure(description: "the VM failed (scripts/vm/run exit 125); stderr:\n\(result.stderr)")
        }
        return result
    }
}
