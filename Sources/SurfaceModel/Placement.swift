/// Where new toplevels go, deterministically: the window geometry's top-left corner of the n-th
/// toplevel (n = how many views are on the output when it maps) is at (32 + 32·(n mod 16)) on
/// both axes, a cascade from the output's top-left corner.
public enum Placement {
    static let origin: Int32 = 32
    static let step: Int32 = 32

    public static func cascade(index: Int) -> (x: Int32, y: Int32) {
        let k = Int32(index % 16)
        return (origin + step * k, origin + step * k)
    }
}
