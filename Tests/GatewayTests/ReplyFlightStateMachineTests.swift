import Foundation
import Ledger
import Testing
@testable import Gateway

/// The reply flight's bookkeeping alone: events in, actions out, no ledger, no transport.
@Suite struct ReplyFlightStateMachineTests {
    func stored(_ id: Int64, _ recipient: String) -> StoredReply {
        StoredReply(id: id, channel: "email", recipient: recipient, subject: nil, inReplyTo: nil, references: [], body: "b",
                    attempts: 0, createdAt: Date(timeIntervalSince1970: 0))
    }

    @Test func fetchesAPageThenHandsOutOneReplyPerRecipient() {
        var machine = ReplyFlightStateMachine(pageSize: 3)
        #expect(machine.next() == .fetch(afterID: 0))
        // A second connection waits for the page being fetched, not a second fetch.
        #expect(machine.next() == .wait(generation: 0))
        machine.fetched([stored(1, "a"), stored(2, "a"), stored(3, "b")])
        #expect(machine.next() == .take(stored(1, "a")))
        #expect(machine.next() == .take(stored(3, "b")))
        // A full page: the next one is fetched after the last id seen while reply 2 waits for "a".
        #expect(machine.next() == .fetch(afterID: 3))
        machine.fetched([])
        let generation = machine.generation
        #expect(machine.next() == .wait(generation: generation), "reply 2's recipient is busy")
        // "a"'s reply accepted: still busy until its `sent` is committed.
        machine.accepted(stored(1, "a"))
        #expect(machine.next() == .wait(generation: generation))
        let commit = machine.takeAccepted()
        #expect(commit == [stored(1, "a")])
        machine.committed(commit)
        #expect(machine.generation > generation, "a commit wakes the waiting connections")
        #expect(machine.next() == .take(stored(2, "a")))
        machine.released("a")
        machine.released("b")
        #expect(machine.next() == .done)
    }

    @Test func aFailedCommitKeepsTheRepliesForTheNextOneAndTheirRecipientsBusy() {
        var machine = ReplyFlightStateMachine(pageSize: 10)
        _ = machine.next()
        machine.fetched([stored(1, "a"), stored(2, "a")])
        #expect(machine.next() == .take(stored(1, "a")))
        machine.accepted(stored(1, "a"))
        let first = machine.takeAccepted()
        machine.commitFailed(first)
        #expect(machine.next() == .wait(generation: machine.generation))
        #expect(machine.takeAccepted() == [stored(1, "a")], "the failed commit's replies go into the next")
    }

    @Test func aFailedFetchLetsTheNextConnectionFetchAgain() {
        var machine = ReplyFlightStateMachine(pageSize: 2)
        #expect(machine.next() == .fetch(afterID: 0))
        machine.fetchFailed()
        #expect(machine.next() == .fetch(afterID: 0))
    }

    @Test func holdsAboutFourPagesInMemory() {
        var machine = ReplyFlightStateMachine(pageSize: 2)
        var fetches = 0
        var nextID: Int64 = 1
        while case .fetch(let after) = machine.next() {
            #expect(after == nextID - 1)
            fetches += 1
            machine.fetched([stored(nextID, "same"), stored(nextID + 1, "same")])
            nextID += 2
            if fetches == 1 { #expect(machine.next() == .take(stored(1, "same"))) }
            if fetches > 10 { break }
        }
        // Replies to one busy recipient wait; no page is fetched once four pages' worth wait.
        #expect(fetches == 5 && machine.page.count == 9)
        #expect(machine.next() == .wait(generation: machine.generation))
    }
}
