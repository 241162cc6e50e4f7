import ClientKit
import Misbehave
import Testing

/// The expectation table of issue 3, read back through the public API the integration tests use.
@Suite struct MisbehaviorTests {
    typealias E = Misbehavior.Expectation

    static func err(_ interface: String, _ code: UInt32) -> E { .error(interface: interface, code: code) }

    /// mode: (enforce, strict, guard)
    static let table: [String: (E, E, E)] = [
        // enforce seals the first on the client's behalf and guards the second; strict wants the
        // client's own seal; a disk file is not shared memory.
        "unsealed-memfd": (.renders, err("wl_shm", 2), .renders),
        "unsealable-memfd": (.renders, err("wl_shm", 2), .renders),
        "disk-file": (err("wl_buffer", 2), err("wl_shm", 2), .renders),
        // The client's own FUSE file system: not shared memory either; guard's reads of it wait on
        // the client's daemon (2 s), then it renders.
        "fuse-pool": (err("wl_shm", 2), err("wl_shm", 2), .renders),
        "truncate-after-commit": (err("wl_buffer", 2), err("wl_shm", 2), err("wl_buffer", 2)),
        "truncate-capture-target": (err("wl_buffer", 2), err("wl_shm", 2), err("wl_buffer", 2)),
        "pool-larger-than-file": (err("wl_shm", 2), err("wl_shm", 2), err("wl_shm", 2)),
        "resize-beyond-file": (err("wl_shm_pool", 2), err("wl_shm_pool", 2), err("wl_shm_pool", 2)),
        "shrink-pool": (err("wl_shm_pool", 1), err("wl_shm_pool", 1), err("wl_shm_pool", 1)),
        "stride-too-small": (err("wl_shm_pool", 1), err("wl_shm_pool", 1), err("wl_shm_pool", 1)),
        "stride-unaligned": (err("wl_shm_pool", 1), err("wl_shm_pool", 1), err("wl_shm_pool", 1)),
        "offset-out-of-bounds": (err("wl_shm_pool", 1), err("wl_shm_pool", 1), err("wl_shm_pool", 1)),
        "size-overflow": (err("wl_shm_pool", 1), err("wl_shm_pool", 1), err("wl_shm_pool", 1)),
        "unknown-format": (err("wl_shm_pool", 0), err("wl_shm_pool", 0), err("wl_shm_pool", 0)),
        "non-file-fd": (err("wl_shm", 2), err("wl_shm", 2), err("wl_shm", 2)),
        "zero-size-pool": (err("wl_shm", 1), err("wl_shm", 1), err("wl_shm", 1)),
        "buffer-after-pool-destroy": (.renders, .renders, .renders),
        // libwayland-server answers an unknown object *argument* with invalid_method (1).
        "use-after-destroy": (err("wl_display", 1), err("wl_display", 1), err("wl_display", 1)),
        "attach-before-configure": (err("xdg_surface", 3), err("xdg_surface", 3), err("xdg_surface", 3)),
        "destroy-orderings": (.renders, .renders, .renders),
        // dma-bufs are no pool files: the seal policy does not matter.
        "dmabuf-out-of-bounds-plane": (err(params, 6), err(params, 6), err(params, 6)),
        "dmabuf-missing-plane": (err(params, 3), err(params, 3), err(params, 3)),
        "dmabuf-not-a-dmabuf": (err(params, 7), err(params, 7), err(params, 7)),
        "dmabuf-unadvertised-modifier": (err(params, 4), err(params, 4), err(params, 4)),
        "dmabuf-reused-params": (err(params, 0), err(params, 0), err(params, 0)),
        // Slow and greedy clients (docs/robustness/load.md).
        "never-read": (.disconnected, .disconnected, .disconnected),
        "hoard-buffers": (.renders, .renders, .renders),
        // Limits (issue 16): past --max-client-memory; a hugetlb pool where no huge page is free.
        "oversized": (err("wl_display", 2), err("wl_display", 2), err("wl_display", 2)),
        "hugetlb-hole": (err("wl_shm", 2), err("wl_shm", 2), err("wl_shm", 2)),
    ]
    static let params = "zwp_linux_buffer_params_v1"

    @Test func everyModeHasItsRow() {
        #expect(Set(Misbehavior.allCases.map(\.rawValue)) == Set(Self.table.keys))
        for mode in Misbehavior.allCases {
            guard let row = Self.table[mode.rawValue] else { continue }
            #expect(mode.expected(policy: .enforce) == row.0, "\(mode.rawValue) enforce")
            #expect(mode.expected(policy: .strict) == row.1, "\(mode.rawValue) strict")
            #expect(mode.expected(policy: .guardOnly) == row.2, "\(mode.rawValue) guard")
        }
    }

    @Test func policyNamesAreTheCommandLineValues() {
        #expect(SealPolicy.allCases.map(\.rawValue) == ["enforce", "strict", "guard"])
    }

    @Test func derivedProperties() {
        #expect(Misbehavior.strideTooSmall.isForbiddenUnderEveryPolicy)
        #expect(!Misbehavior.unsealedMemfd.isForbiddenUnderEveryPolicy)
        #expect(!Misbehavior.unsealedMemfd.isLegal)
        #expect(Misbehavior.bufferAfterPoolDestroy.isLegal)
        #expect(Misbehavior.destroyOrderings.isLegal)
        #expect(Misbehavior.attachBeforeConfigure.expectedError! == ("xdg_surface", 3))
        #expect(Misbehavior.unsealedMemfd.expectedReaction.contains("guard: no error"))
        #expect(Misbehavior.unsealedMemfd.expectedReaction.contains("strict: wl_shm error 2 (invalid_fd)"))
        #expect(Misbehavior.unsealedMemfd.expectedError == nil)
        #expect(Misbehavior.Expectation.error(interface: "wl_shm", code: 2).description == "wl_shm error 2 (invalid_fd)")
        #expect(Misbehavior.dmabufOutOfBoundsPlane.expectedReaction == "any policy: zwp_linux_buffer_params_v1 error 6 (out_of_bounds)")
        #expect(Misbehavior.dmabufNotADmabuf.expected(policy: .guardOnly).description == "zwp_linux_buffer_params_v1 error 7 (invalid_wl_buffer)")
        #expect(Misbehavior.dmabufReusedParams.expectedError! == ("zwp_linux_buffer_params_v1", 0))
        #expect(Misbehavior.oversized.expectedReaction == "any policy: wl_display error 2 (no_memory)")
        #expect(Misbehavior.oversized.isForbiddenUnderEveryPolicy && Misbehavior.hugetlbHole.isForbiddenUnderEveryPolicy)
    }

    @Test func dmabufModes() {
        let dmabuf = Misbehavior.allCases.filter(\.usesDmabuf).map(\.rawValue)
        #expect(dmabuf == ["dmabuf-out-of-bounds-plane", "dmabuf-missing-plane", "dmabuf-not-a-dmabuf",
                           "dmabuf-unadvertised-modifier", "dmabuf-reused-params"])
        #expect(Misbehavior.allCases.filter { $0.usesDmabuf }.allSatisfy { $0.isForbiddenUnderEveryPolicy })
    }
}
