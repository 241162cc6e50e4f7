import Buffers
import CWayland
import Glibc
import SurfaceModel
import SceneGraph
import Outputs
import WaylandCore

/// The linux-dmabuf family's state: the formats compositord imports (and their sealed table),
/// the device it names as `main_device`, and the context its handlers post errors through.
package final class LinuxDmabufState {
    package unowned let context: ProtocolContext
    package let formats: DmabufFormatTable
    package let mainDevice: dev_t

    package init(context: ProtocolContext, formats: DmabufFormatTable, mainDevice: dev_t) {
        self.context = context
        self.formats = formats
        self.mainDevice = mainDevice
    }
}
import Glibc

/// `zwp_linux_dmabuf_v1` up to v4: dma-buf import for a CPU compositor. Old clients (v1–v3) get
/// `format`/`modifier` events; v4 clients get feedback objects with the sealed format table.
package final class LinuxDmabuf: ResourceHandler {
    package static let version: UInt32 = 4
    private let state: LinuxDmabufState

    package init(state: LinuxDmabufState) { self.state = state }

    package static func bind(_ state: LinuxDmabufState, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        guard let r = Resources.create(client: client, interface: cw_zwp_linux_dmabuf_v1_interface(), version: version, id: id, handler: { _ in
            LinuxDmabuf(state: state)
        }) else { return }
        guard version < 4 else { return }  // v4: formats only through feedback
        for e in state.formats.entries {
            if version >= 3 {
                zwp_linux_dmabuf_v1_send_modifier(r, e.format, UInt32(e.modifier >> 32), UInt32(e.modifier & 0xFFFF_FFFF))
            } else {
                zwp_linux_dmabuf_v1_send_format(r, e.format)
            }
        }
    }

    package func handle(_ request: Request) {
        switch ZwpLinuxDmabufV1Request(request) {
        case .destroy?:
            wl_resource_destroy(request.resource)
        case let .createParams(paramsId)?:
            Resources.create(client: request.client, interface: cw_zwp_linux_buffer_params_v1_interface(),
                             version: request.version, id: paramsId) { r in
                LinuxBufferParams(state: state, resource: r)
            }
        case let .getDefaultFeedback(id)?, let .getSurfaceFeedback(id, _)?:
            // One output, one renderer: surface feedback is the default feedback.
            LinuxDmabufFeedback.create(state: state, client: request.client, version: request.version, id: id)
        case nil: break
        }
    }
}

/// `zwp_linux_dmabuf_feedback_v1`: the format table, the main device, and one tranche listing
/// every entry. Sent once, at creation; nothing ever changes it.
package final class LinuxDmabufFeedback: ResourceHandler {
    package static func create(state: LinuxDmabufState, client: OpaquePointer, version: UInt32, id: UInt32) {
        guard let r = Resources.create(client: client, interface: cw_zwp_linux_dmabuf_feedback_v1_interface(),
                                       version: version, id: id, handler: { _ in LinuxDmabufFeedback() }) else { return }
        let table = state.formats
        zwp_linux_dmabuf_feedback_v1_send_format_table(r, table.file.fd.rawValue, table.size)
        var device = state.mainDevice
        withArray(of: &device) { zwp_linux_dmabuf_feedback_v1_send_main_device(r, $0) }
        withArray(of: &device) { zwp_linux_dmabuf_feedback_v1_send_tranche_target_device(r, $0) }
        var indices = (0..<table.entries.count).map { UInt16($0) }
        indices.withUnsafeMutableBytes { bytes in
            var array = wl_array(size: bytes.count, alloc: bytes.count, data: bytes.baseAddress)
            zwp_linux_dmabuf_feedback_v1_send_tranche_formats(r, &array)
        }
        zwp_linux_dmabuf_feedback_v1_send_tranche_flags(r, 0)
        zwp_linux_dmabuf_feedback_v1_send_tranche_done(r)
        zwp_linux_dmabuf_feedback_v1_send_done(r)
    }

    package func handle(_ request: Request) {
        if case .destroy? = ZwpLinuxDmabufFeedbackV1Request(request) { wl_resource_destroy(request.resource) }
    }
}

/// A wl_array over the bytes of one value, for events that carry a dev_t.
private func withArray<T>(of value: inout T, _ body: (UnsafeMutablePointer<wl_array>) -> Void) {
    withUnsafeMutableBytes(of: &value) { bytes in
        var array = wl_array(size: bytes.count, alloc: bytes.count, data: bytes.baseAddress)
        body(&array)
    }
}
