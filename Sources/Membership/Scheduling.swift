#if canImport(Glibc)
import Glibc

/// How the membership thread asks the kernel for CPU (a heartbeat that waits behind busy work looks like a dead node).
public enum SchedulingRequest: Sendable, Equatable {
    /// SCHED_FIFO at `priority` (1...99) when permitted (root / CAP_SYS_NICE, RLIMIT_RTPRIO), else nice `fallbackNice`.
    case realtime(priority: Int32, fallbackNice: Int32)
    /// Only a nice value for the thread (negative needs CAP_SYS_NICE or RLIMIT_NICE).
    case nice(Int32)
    /// Leave the thread as created.
    case inherit

    /// Low real-time priority: above every normal task, below the kernel's threaded IRQ handlers (50).
    public static let `default` = SchedulingRequest.realtime(priority: 10, fallbackNice: -10)
}

/// What the kernel granted the membership thread.
public enum SchedulingOutcome: Sendable, Equatable, CustomStringConvertible {
    case realtime(priority: Int32)
    case nice(Int32)
    /// Nothing changed, and why.
    case unchanged(String)

    public var description: String {
        switch self {
        case .realtime(let p): return "SCHED_FIFO priority \(p)"
        case .nice(let n): return "SCHED_OTHER nice \(n)"
        case .unchanged(let why): return "default scheduling (\(why))"
        }
    }
}

enum ThreadScheduling {
    /// Applies `request` to the calling thread.
    static func apply(_ request: SchedulingRequest) -> SchedulingOutcome {
        switch request {
        case .inherit:
            return .unchanged("not requested")
        case .nice(let n):
            return nice(n, failure: "")
        case .realtime(let priority, let fallbackNice):
            var param = sched_param()
            param.sched_priority = priority
            let rc = pthread_setschedparam(pthread_self(), Int32(SCHED_FIFO), &param)
            if rc == 0 { return .realtime(priority: priority) }
            return nice(fallbackNice, failure: "SCHED_FIFO: \(String(cString: strerror(rc))); ")
        }
    }

    private static func nice(_ n: Int32, failure: String) -> SchedulingOutcome {
        // Linux keeps the nice value per thread: who = 0 changes only the calling thread (setpriority(2), BUGS).
        if setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, n) == 0 { return .nice(n) }
        return .unchanged(failure + "setpriority(\(n)): \(String(cString: strerror(errno)))")
    }
}
#endif
