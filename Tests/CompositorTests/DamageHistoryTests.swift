import Outputs
import SurfaceModel
import Testing

/// A capture target's buffer age: only the damage of the frames it missed, and nothing when
/// a frame in between is unknown (then it is copied whole).
@Suite struct DamageHistoryTests {
    private func rect(_ x: Int32) -> Region { Region(Rect(x: x, y: 0, width: 10, height: 10)) }

    @Test func unionOfTheFramesAfterTheOneHeld() {
        var h = DamageHistory()
        for s in UInt64(1)...5 { h.record(s, rect(Int32(s) * 100)) }
        #expect(h.damage(after: 4, through: 5) == rect(500))
        #expect(h.damage(after: 2, through: 5) == rect(300).union(rect(400)).union(rect(500)))
        #expect(h.damage(after: 0, through: 5)?.rects.count == 5)
    }

    @Test func aGapOrAFutureFrameIsUnknown() {
        var h = DamageHistory()
        h.record(1, rect(0))
        h.record(2, rect(10))
        h.record(4, rect(30))  // 3 was never seen
        #expect(h.damage(after: 1, through: 2) == rect(10))
        #expect(h.damage(after: 1, through: 4) == nil)
        #expect(h.damage(after: 2, through: 4) == nil)
        #expect(h.damage(after: 3, through: 4) == rect(30))
        #expect(h.damage(after: 4, through: 4) == nil, "a target that holds the frame itself is not asked about")
        #expect(h.damage(after: 4, through: 6) == nil, "frames not recorded yet")
    }

    @Test func onlyTheNewestFramesAreKept() {
        var h = DamageHistory()
        let n = UInt64(DamageHistory.capacity) + 4
        for s in UInt64(1)...n { h.record(s, rect(0)) }
        h.record(n, rect(999))  // the newest again: ignored
        #expect(h.damage(after: n - 1, through: n) == rect(0))
        #expect(h.damage(after: 2, through: n) == nil, "frame 3 fell out of the history")
        #expect(h.damage(after: n - UInt64(DamageHistory.capacity), through: n) != nil)
    }
}
