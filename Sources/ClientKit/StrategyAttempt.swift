/// One strategy of a fallback chain that was tried and failed, with why: shared by the
/// anonymous-file chain (AnonymousFile) and the dma-buf allocators (DmaBuf).
public struct StrategyAttempt<Strategy, Failure>: Sendable, Equatable, CustomStringConvertible
where Strategy: Sendable & Equatable & CustomStringConvertible, Failure: Sendable & Equatable & CustomStringConvertible {
    public var strategy: Strategy
    public var failure: Failure

    public init(strategy: Strategy, failure: Failure) {
        self.strategy = strategy
        self.failure = failure
    }

    public var description: String { "\(strategy): \(failure)" }
}
