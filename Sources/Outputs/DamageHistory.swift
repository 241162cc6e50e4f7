import SurfaceModel

/// The damage of consecutive output frames (`FrameInfo.sequence`), newest last, a bounded
/// number of them: what a capture target that holds frame N needs to become frame M (its buffer
/// age, as EGL_EXT_buffer_age gives a renderer). A gap (a frame not recorded) makes every age
/// across it unknown.
package struct DamageHistory {
    private var frames: [(sequence: UInt64, damage: Region)] = []
    /// Enough for consumers that rotate buffers (wf-recorder 0.3 cycles through 16, so each of
    /// its buffers is 16 frames old when it comes back) and skip a few frames; older targets are
    /// copied whole.
    package static let capacity = 32

    package init() {}

    /// Frame `sequence` changed `damage` since the frame before it. Recording the newest frame
    /// again changes nothing.
    package mutating func record(_ sequence: UInt64, _ damage: Region) {
        if let last = frames.last?.sequence, sequence <= last { return }
        frames.append((sequence, damage))
        if frames.count > Self.capacity { frames.removeFirst() }
    }

    /// The union of the damage of frames `after` + 1 … `through`, or nil when one of them was not
    /// recorded (or `after` is not older than `through`).
    package func damage(after: UInt64, through: UInt64) -> Region? {
        guard after < through else { return nil }
        var damage = Region()
        var next = after + 1
        for frame in frames where frame.sequence >= next && frame.sequence <= through {
            guard frame.sequence == next else { return nil }
            damage.formUnion(frame.damage)
            next += 1
        }
        return next == through + 1 ? damage : nil
    }
}
