import ClientKit
import Testing

@Suite struct AnonymousFileTests {
    @Test func memfdCarriesShrinkSeal() throws {
        let file = try AnonymousFile(size: 4096, name: "test", strategy: .memfd)
        #expect(file.usedStrategy == .memfd)
        #expect(file.size == 4096)
    }
}
