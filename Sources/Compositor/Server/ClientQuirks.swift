import Buffers
import Glibc
import Syscalls
import SurfaceModel
import SceneGraph
import Render
import Outputs
import WaylandCore
import Protocols
import Input
import WindowManagement
import CWayland

/// Stock clients that are broken against the current protocol versions, and the older version
/// of a global they are shown instead (through a wl_display global filter, per client).
///
/// Kept to a list of exact executables, each with the reason: every other client sees the
/// versions compositord speaks. Embedded clients (wlcs, same process) never match.
package enum ClientQuirks {
    /// Debian 12's weston 10 `weston-presentation-shm` binds xdg_wm_base at whatever version is
    /// advertised, but its xdg_toplevel listener has no `wm_capabilities` slot (v5), which the
    /// spec makes mandatory before the first configure: libwayland aborts it ("listener function
    /// for opcode 3 of xdg_toplevel is NULL"). It is shown xdg_wm_base v4 instead (where neither
    /// wm_capabilities nor configure_bounds, which it lacks too, is sent).
    package static let xdgWmBaseAtMostV4: Set<String> = ["/usr/bin/weston-presentation-shm"]

    /// The client's executable, from /proc (nil when it cannot be read: then no quirk applies).
    package static func executable(pid: pid_t) -> String? {
        guard pid > 0 else { return nil }
        guard let path = try? Syscall.readlink("/proc/\(pid)/exe"), !path.isEmpty else { return nil }
        return path
    }
}
