import Foundation

/// Sorts the files of a Gammu inbox into messages.
///
/// In the `unicode` and `standard` formats SMSD writes one file per part of a long
/// message, all in one go once every part is in (or once `MultipartTimeout`, 600 s by
/// default, has passed; then it writes what it has). The parts of one message share the
/// serial and the sender and are numbered `00`, `01`, … in order; each part's name carries
/// that part's own SMSC time stamp, so the times may differ a little. A part `NN > 00` is
/// joined to the message whose parts `00`…`NN-1` are present, with the same serial and
/// sender, and whose time is nearest (within `partWindow`). A part that finds none stands
/// alone, as SMSD itself does after the timeout.
///
/// Files whose names are not Gammu's (a `.txt` a person dropped in) are messages of their
/// own; so is every `detail`-format file (it holds all parts).
package struct GammuInboxGrouping: Sendable {
    package struct Group: Sendable, Hashable {
        /// The files of the message, part `00` first.
        package var files: [FileEntry]
        /// The Gammu name of the first file; nil for a hand-dropped file.
        package var name: GammuInboxFileName?
        package var primary: FileEntry { files[0] }
    }

    package var partWindow: TimeInterval = 660
    package var timeZone: TimeZone

    package init(timeZone: TimeZone, partWindow: TimeInterval = 660) {
        self.timeZone = timeZone
        self.partWindow = partWindow
    }

    /// Groups `files` (text files only: callers leave out `.bin` and non-`.txt` names).
    package func groups(_ files: [FileEntry]) -> [Group] {
        var result: [Group] = []
        var parts: [(FileEntry, GammuInboxFileName)] = []
        for file in files {
            if let name = GammuInboxFileName(file.name) {
                if name.part == 0 || name.kind == .smsBackup {
                    result.append(Group(files: [file], name: name))
                } else {
                    parts.append((file, name))
                }
            } else {
                result.append(Group(files: [file], name: nil))
            }
        }
        parts.sort { $0.1.part != $1.1.part ? $0.1.part < $1.1.part : $0.0.name < $1.0.name }
        for (file, name) in parts {
            let time = time(of: name, file: file)
            var best: (index: Int, distance: TimeInterval)?
            for (index, group) in result.enumerated() {
                guard let head = group.name, head.kind == name.kind, head.part == 0,
                      head.messageKey == name.messageKey, group.files.count == name.part
                else { continue }
                let distance = abs(self.time(of: head, file: group.primary) - time)
                guard distance <= partWindow else { continue }
                if best == nil || distance < best!.distance { best = (index, distance) }
            }
            if let best {
                result[best.index].files.append(file)
            } else {
                result.append(Group(files: [file], name: name))
            }
        }
        return result
    }

    private func time(of name: GammuInboxFileName, file: FileEntry) -> TimeInterval {
        (name.date(in: timeZone) ?? file.modified).timeIntervalSince1970
    }
}
