import Foundation

/// SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 in the commands that stream (detect,
/// flows), through plain sigaction handlers: a handler is in place when `install` returns, so no
/// signal arrives while it is neither handled nor fatal (a dispatch source, armed asynchronously
/// after SIG_IGN, could lose one and leave a command waiting on its input forever). The handler
/// makes only async-signal-safe calls (unlink, write, _exit) on memory allocated before it is
/// installed.
/// - a run that stops at once: remove the temporary output (if any), say so, exit 128 + signal;
/// - a graceful run (detect --follow, --pcap, --interface; a live capture in flows): the first
///   signal asks the run to stop (the command finishes its output and prints its summary); a second
///   one removes the temporary output, if any, and exits at once.
enum StopSignals {
    /// [0]: the signal that asked a graceful run to stop (0: none); [1]: 1 for a graceful run.
    fileprivate static let flags: UnsafeMutablePointer<Int32> = {
        let p = UnsafeMutablePointer<Int32>.allocate(capacity: 2)
        p.initialize(repeating: 0, count: 2)
        return p
    }()
    /// The temporary output to remove on a signal (a C string), or nil.
    fileprivate static let temporary: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let p = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: 1)
        p.initialize(to: nil)
        return p
    }()
    /// The handler's messages, made by `install` (C strings, never freed).
    fileprivate nonisolated(unsafe) static var interrupted: UnsafeMutablePointer<CChar>?
    fileprivate nonisolated(unsafe) static var secondSignal: UnsafeMutablePointer<CChar>?
    fileprivate nonisolated(unsafe) static var secondSignalRemoved: UnsafeMutablePointer<CChar>?

    /// Every signal whose default action would end a command with a temporary output left behind
    /// (SIGQUIT too: the Swift runtime's crash handler would otherwise report a crash).
    static let handled: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2]

    /// The signal that stopped a graceful run, 0 when none did.
    static var received: Int32 { flags[0] }

    /// Installs the handlers for `command` (its name in the messages, "gpu-train detect").
    static func install(command: String, graceful: Bool) {
        // Everything the handler reads exists before it is installed.
        flags[1] = graceful ? 1 : 0
        _ = temporary.pointee
        if interrupted == nil {
            interrupted = strdup("\(command): interrupted; no output written\n")
            secondSignal = strdup("\(command): second signal, stopping at once\n")
            secondSignalRemoved = strdup("\(command): second signal, stopping at once; no output written\n")
        }
        var action = sigaction()
        action.__sigaction_handler.sa_handler = stopSignalHandler
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        for signal in handled { sigaction(signal, &action, nil) }
    }

    /// The signal's name as `kill -l` prints it, with the SIG prefix.
    static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        case SIGHUP: "SIGHUP"
        case SIGQUIT: "SIGQUIT"
        case SIGUSR1: "SIGUSR1"
        case SIGUSR2: "SIGUSR2"
        default: "signal \(signal)"
        }
    }

    /// Sets (or with nil clears) the temporary output a signal removes; called before the file is
    /// created, so it never exists unguarded.
    static func removeOnSignal(_ path: String?) {
        let old = temporary.pointee
        temporary.pointee = path.map { strdup($0) } ?? nil
        free(old)
    }
}

private func stopSignalHandler(_ signal: Int32) {
    func say(_ text: UnsafeMutablePointer<CChar>?) {
        guard let text else { return }
        _ = Glibc.write(2, text, strlen(text))
    }
    let graceful = StopSignals.flags[1] == 1
    if graceful && StopSignals.flags[0] == 0 {
        StopSignals.flags[0] = signal
        return
    }
    if let path = StopSignals.temporary.pointee {
        unlink(path)
        say(graceful ? StopSignals.secondSignalRemoved : StopSignals.interrupted)
    } else {
        say(graceful ? StopSignals.secondSignal : StopSignals.interrupted)
    }
    _exit(128 + signal)
}
