import Compositor
import CWlcs
import Glibc

/// The WlcsIntegrationDescriptor: every global compositord advertises, so wlcs skips (rather
/// than fails) tests of protocols it lacks. C storage owned by one display server.
final class Descriptor {
    let raw: UnsafeMutablePointer<WlcsIntegrationDescriptor>
    private let extensions: UnsafeMutableBufferPointer<WlcsExtensionDescriptor>

    init(_ globals: [AdvertisedGlobal] = Server.advertisedGlobals) {
        extensions = .allocate(capacity: globals.count)
        for (i, g) in globals.enumerated() {
            extensions[i] = WlcsExtensionDescriptor(name: UnsafePointer(strdup(g.interface)), version: g.version)
        }
        raw = .allocate(capacity: 1)
        raw.initialize(to: WlcsIntegrationDescriptor(
            version: UInt32(WLCS_INTEGRATION_DESCRIPTOR_VERSION),
            num_extensions: globals.count,
            supported_extensions: UnsafePointer(extensions.baseAddress)))
    }

    deinit {
        for e in extensions { free(UnsafeMutablePointer(mutating: e.name)) }
        extensions.deallocate()
        raw.deallocate()
    }
}
