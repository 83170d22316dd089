/// Debug builds: stops the process when a blocking store or network call is made from a task.
///
/// A task runs on Swift's cooperative pool, whose few threads (two on a 2-core machine) every
/// task shares; a blocking SQLite, libpq or libcurl call there holds one of them for as long as
/// it blocks. Such calls run on a thread or serial queue of their own (GRDB's queue, a
/// transfer's thread), where no task is current: that is what this checks.
public func assertNotOnCooperativePool(_ function: StaticString = #function, file: StaticString = #fileID, line: UInt = #line) {
    #if DEBUG
    let inTask = withUnsafeCurrentTask { $0 != nil }
    if inTask {
        fatalError("\(function): a blocking call made from a task, on the cooperative pool; run it on its own thread", file: file, line: line)
    }
    #endif
}
