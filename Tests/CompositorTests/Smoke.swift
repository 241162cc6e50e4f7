import Testing
@testable import Compositor
@Test func smoke() { #expect(compositordVersion == "0.1.0") }
