/// Binds labels to numbers: set-aside labels, units, reading hints, UIN labels, meter labels.
extension ParseRun {
    enum Gap {
        /// Between a UIN label and its number: spaces, line breaks, ':', '-', '=', '.', '#', fillers, other UIN labels.
        case uin
        /// Between a meter label or hint and its number: spaces, line breaks, ':', '-', '=', '.'.
        case label
        /// Between a number and a following label (suffix): spaces, ':', '-', '=', '.'.
        case suffix
    }

    func isGap(_ piece: Piece, _ gap: Gap) -> Bool {
        switch piece.kind {
        case .space: return true
        case .newline: return gap != .suffix
        case .punct(let c):
            if c == 0x3A || c == 0x2D || c == 0x3D || c == 0x2E { return true }
            if gap == .suffix && (c == 0x28 || c == 0x29 || c == 0x5B || c == 0x5D) { return true }
            return gap == .uin && (c == 0x23 || c == 0x22 || c == 0xAB)
        case .phrase(let meaning):
            guard gap == .uin else { return false }
            return meaning == .filler || meaning == .uinLabel || meaning == .hint
        default:
            return false
        }
    }

    /// The number piece after `index` reachable over gap pieces, if any.
    func numberAfter(_ index: Int, _ gap: Gap, maxGap: Int = 6) -> Int? {
        var k = index + 1
        var skipped = 0
        while k < pieces.count, skipped <= maxGap {
            if pieces[k].isNumber { return k }
            guard isGap(pieces[k], gap) else { return nil }
            k += 1
            skipped += 1
        }
        return nil
    }

    /// The number piece before `index` reachable over suffix gaps (no line breaks).
    func numberBefore(_ index: Int, maxGap: Int = 3) -> Int? {
        var k = index - 1
        var skipped = 0
        while k >= 0, skipped <= maxGap {
            if pieces[k].isNumber { return k }
            guard isGap(pieces[k], .suffix) else { return nil }
            k -= 1
            skipped += 1
        }
        return nil
    }

    /// The integer part when `index` is the fraction of "123,45" / "123.45".
    func integerPart(ofFraction index: Int) -> Int? {
        guard index >= 2, case .punct(let c) = pieces[index - 1].kind, c == 0x2C || c == 0x2E,
              pieces[index - 2].isNumber else { return nil }
        return index - 2
    }

    /// The fraction of "123,45" when `index` is the integer part.
    func fractionPart(ofInteger index: Int) -> Int? {
        guard index + 2 < pieces.count, case .punct(let c) = pieces[index + 1].kind, c == 0x2C || c == 0x2E,
              pieces[index + 2].isNumber, raw[pieces[index + 2].first].length <= grammar.fractionDigits.upperBound
        else { return nil }
        return index + 2
    }

    mutating func bindLabels() {
        var zoneLabels: [Int] = []
        for index in pieces.indices {
            guard case .phrase(let meaning) = pieces[index].kind else { continue }
            switch meaning {
            case .aside(let kind):
                bindAside(index, kind)
            case .asideAfter(let kind):
                if var target = numberBefore(index), pieces[target].aside == nil {
                    if let integer = integerPart(ofFraction: target) { setAside(integer, kind); target = integer }
                    setAside(target, kind)
                    if let fraction = fractionPart(ofInteger: target) { setAside(fraction, kind) }
                }
            case .unit:
                if let target = numberBefore(index) {
                    pieces[target].unit = true
                    if let integer = integerPart(ofFraction: target) { pieces[integer].unit = true }
                    note(piece: index, "unit \(string(of: pieces[index]))")
                }
            case .hint:
                if let target = numberAfter(index, .label) { pieces[target].afterHint = true }
            case .uinLabel:
                if let target = numberAfter(index, .uin), pieces[target].aside == nil {
                    let token = raw[pieces[target].first]
                    if token.gluedToPhrase, target == index + 1, !grammar.uinDigits.contains(token.length) {
                        // "ЛС123": glued to a UIN label it can only be a UIN, and it is too short for one.
                        setAside(target, "code")
                    } else {
                        pieces[target].uinLabeled = true
                    }
                }
            case .zone:
                if let kind = nearbyAsideKind(index) {
                    pieces[index].kind = .phrase(.aside(kind))
                    note(piece: index, "'\(string(of: pieces[index]))' read as part of an \(kind)")
                    bindAside(index, kind)
                } else {
                    zoneLabels.append(index)
                }
            case .noise:
                note(piece: index, "noise")
            default:
                break
            }
        }
        bindZones(zoneLabels)
        setAsideBracketedAddresses()
    }

    /// "(Ленина 5-12)", "[пр. Мира 7, 45]": words and short numbers in brackets, with no label
    /// of ours, are an address; their numbers are set aside.
    private mutating func setAsideBracketedAddresses() {
        var index = 0
        while index < pieces.count {
            guard case .punct(let open) = pieces[index].kind, open == 0x28 || open == 0x5B else { index += 1; continue }
            let close: UInt32 = open == 0x28 ? 0x29 : 0x5D
            var k = index + 1
            var words = 0
            var numbers: [Int] = []
            var clean = true
            while k < pieces.count, k - index <= 24 {
                let piece = pieces[k]
                if piece.kind == .punct(close) { break }
                switch piece.kind {
                case .word: words += 1
                case .number:
                    if piece.aside == nil {
                        if piece.zone != nil || piece.uinLabeled || piece.unit || raw[piece.first].length > 4 { clean = false }
                        numbers.append(k)
                    }
                case .phrase(let meaning):
                    switch meaning {
                    case .aside, .noise, .asideAfter: break
                    default: clean = false
                    }
                case .newline, .quoted: clean = false
                default: break
                }
                if !clean { break }
                k += 1
            }
            if clean, k < pieces.count, pieces[k].kind == .punct(close), words > 0, !numbers.isEmpty {
                for number in numbers { setAside(number, "address") }
            }
            index = k > index ? k : index + 1
        }
    }

    /// For an `aside_near` phrase: its kind when a phrase of that kind stands before it on the
    /// same line (`ул. Ленина, д. 5`) or right after its number (`д. 5, кв. 12`).
    private func nearbyAsideKind(_ index: Int) -> String? {
        guard !grammar.asideNear.isEmpty else { return nil }
        let scalars = raw[pieces[index].first].start..<raw[pieces[index].end - 1].end
        guard scalars.count <= grammar.asideNearLongest * 2,
              let kind = grammar.asideNear[PhraseTable.key(of: scalars.lazy.compactMap { Unicode.Scalar(self.text.scalars[$0]) })]
        else { return nil }
        func isKind(_ piece: Piece) -> Bool {
            if case .phrase(.aside(let other)) = piece.kind { return other == kind }
            return false
        }
        // Back over the street's words and the address's own numbers; any other number or
        // label (a UIN, a reading) ends the address.
        var k = index - 1
        while k >= 0, index - k <= 12, pieces[k].kind != .newline {
            if isKind(pieces[k]) { return kind }
            if pieces[k].isNumber, pieces[k].aside != kind { break }
            if case .phrase(let meaning) = pieces[k].kind, meaning != .noise { break }
            k -= 1
        }
        guard let number = numberAfter(index, .label, maxGap: 3) else { return nil }
        k = number + 1
        while k < pieces.count, k - number <= 5 {
            if isKind(pieces[k]) { return kind }
            switch pieces[k].kind {
            case .space, .punct: k += 1
            case .word where raw[pieces[k].first].length == 1 && pieces[k].end - pieces[k].first == 1: k += 1  // "5а"
            default: return nil
            }
        }
        return nil
    }

    private mutating func setAside(_ index: Int, _ kind: String) {
        guard pieces[index].aside == nil else { return }
        pieces[index].aside = kind
        note(piece: index, "\(kind) set aside")
    }

    private mutating func bindAside(_ index: Int, _ kind: String) {
        // A phone label may be followed by an already recognised phone.
        var k = index + 1
        var skipped = 0
        while k < pieces.count, skipped <= 4 {
            if case .phone = pieces[k].kind {
                pieces[k].kind = .phone(maybeNumber: false)
                return
            }
            if pieces[k].isNumber { break }
            if kind == "address", pieces[k].kind == .word { break }
            guard isGap(pieces[k], .uin) || pieces[k].kind == .symbol else { return }
            k += 1
            skipped += 1
        }
        var words = 0
        if kind == "address", k < pieces.count, pieces[k].kind == .word {
            // A street's name between the street word and the house: "ул. Ленина 5-12",
            // "проспект Мира, 5". At most three words, and a house number of at most 4 digits.
            while k < pieces.count, words <= 3 {
                if pieces[k].kind == .word { words += 1 } else if !isGap(pieces[k], .uin), pieces[k].kind != .punct(0x2C) { break }
                k += 1
            }
            guard words <= 3, k < pieces.count, pieces[k].isNumber, raw[pieces[k].first].length <= 4 else { return }
        }
        guard k < pieces.count, pieces[k].isNumber, pieces[k].aside == nil else { return }
        setAside(k, kind)
        if kind == "address", words == 0 { setAsideHouseNumber(before: index) }
        if kind == "address" {
            // "5-12", "5/2", "5а": the flat or building written straight after the house.
            var j = k + 1
            if j < pieces.count, pieces[j].kind == .word, raw[pieces[j].first].length == 1 { j += 1 }
            if j + 1 < pieces.count, pieces[j].kind == .punct(0x2D) || pieces[j].kind == .punct(0x2F),
               pieces[j + 1].isNumber, raw[pieces[j + 1].first].length <= 4 {
                setAside(j + 1, kind)
            }
        }
        if kind == "phone" {
            // Absorb the rest of a grouped phone number: "123-45-67", "8 903 123 45 67".
            var total = raw[pieces[k].first].length
            var j = k + 1
            while total < 11 {
                var g = j
                var gap = 0
                while g < pieces.count, gap < 3 {
                    if case .space(let joinable) = pieces[g].kind, joinable || raw[pieces[g].first].length == 1 {
                    } else if case .punct(let c) = pieces[g].kind, c == 0x2D || c == 0x28 || c == 0x29 {
                    } else { break }
                    g += 1
                    gap += 1
                }
                guard gap > 0, g < pieces.count, pieces[g].isNumber else { break }
                let length = raw[pieces[g].first].length
                guard length <= 4, total + length <= 11 else { break }
                setAside(g, kind)
                total += length
                j = g + 1
            }
        } else if let fraction = fractionPart(ofInteger: k) {
            setAside(fraction, kind)
        }
    }

    /// "Ленина 5 кв 12", "Мира 7а, кв. 45": a short number right before a flat label (spaces,
    /// a comma or a point between, a letter glued on), itself right after a word the grammar
    /// does not know (a street's name), is the house number. A number after a label or after
    /// another number ("показания 12345 кв 12") is not taken.
    private mutating func setAsideHouseNumber(before label: Int) {
        func isSeparator(_ piece: Piece) -> Bool {
            if piece.isSpace { return true }
            if case .punct(let c) = piece.kind { return c == 0x2C || c == 0x2E }
            return false
        }
        var k = label - 1
        while k >= 0, isSeparator(pieces[k]) { k -= 1 }
        if k >= 1, pieces[k].kind == .word, raw[pieces[k].first].length == 1, pieces[k - 1].isNumber { k -= 1 }  // "5а"
        guard k >= 0, pieces[k].isNumber, pieces[k].aside == nil, pieces[k].zone == nil, !pieces[k].uinLabeled,
              !pieces[k].unit, pieces[k].end - pieces[k].first == 1, raw[pieces[k].first].length <= 4 else { return }
        var w = k - 1
        while w >= 0, pieces[w].isSpace { w -= 1 }
        guard w >= 0, pieces[w].kind == .word, raw[pieces[w].first].length >= 3 else { return }
        setAside(k, "address")
    }

    /// The first number of the text, shaped like a UIN: never taken by a label written after it.
    private func isLoneUINCandidate(_ index: Int) -> Bool {
        guard grammar.uinDigits.contains(raw[pieces[index].first].length) else { return false }
        return !pieces[..<index].contains { $0.isNumber && $0.aside == nil }
    }

    /// Meter labels bind to the next number ("день 21911"); when the text writes them after
    /// the numbers ("21911 день 7779 ночь") they bind to the number before.
    private mutating func bindZones(_ allLabels: [Int]) {
        let grouped = bindLabelGroups(allLabels)
        let labels = allLabels.filter { !grouped.contains($0) }
        guard !labels.isEmpty else { return }
        func free(_ k: Int?) -> Int? {
            guard let k, pieces[k].zone == nil, pieces[k].aside == nil, !pieces[k].uinLabeled else { return nil }
            return k
        }
        let after = labels.map { numberAfter($0, .label, maxGap: 4) }
        let before = labels.map { numberBefore($0) }
        /// The numbers each label takes when labels precede their numbers (falling back to the
        /// number before) or follow them; a number is taken once.
        func targets(suffix: Bool) -> [Int?] {
            var taken = Set<Int>()
            return labels.indices.map { n in
                func usable(_ k: Int?) -> Int? {
                    guard let k = free(k), !taken.contains(k), !isLoneUINCandidate(k) else { return nil }
                    return k
                }
                let target = suffix ? usable(before[n]) : usable(after[n]) ?? usable(before[n])
                if let target { taken.insert(target) }
                return target
            }
        }
        // Labels after their numbers ("21911 день 7779 ночь") only when the last label has no
        // number after it and that reading binds more labels: a trailing empty label
        // ("Т1 12345 Т2 2345 Т3") must not shift every reading to the label after it.
        let prefix = targets(suffix: false)
        var chosen = prefix
        if after.last! == nil, before.allSatisfy({ $0.map { !pieces[$0].uinLabeled } ?? false }) {
            let suffix = targets(suffix: true)
            if suffix.compactMap({ $0 }).count > prefix.compactMap({ $0 }).count { chosen = suffix }
        }
        for (n, label) in labels.enumerated() {
            guard case .phrase(.zone(let zone)) = pieces[label].kind else { continue }
            if let target = chosen[n] {
                pieces[target].zone = zone
                if let fraction = fractionPart(ofInteger: target) { pieces[fraction].zone = zone }
                note(piece: label, "label '\(string(of: pieces[label]))' → \(zone)")
            } else {
                note(piece: label, "label '\(string(of: pieces[label]))' (\(zone)) has no number")
            }
        }
    }

    /// Labels written as one group (`день/ночь 12345/2345`, `Т1 Т2: 100 200`,
    /// `12345/2345 (день/ночь)`, `12345 2345 день ночь`), pair in order with a group of as many numbers right after
    /// them (or, failing that, right before them). A group that matches no such numbers binds
    /// none of its labels: the numbers are then read in the account's order, never paired
    /// crosswise. Returns the labels of every group.
    private mutating func bindLabelGroups(_ labels: [Int]) -> Set<Int> {
        var grouped = Set<Int>()
        var i = 0
        while i < labels.count {
            var group = [labels[i]]
            var j = i + 1
            while j < labels.count, joinedLabels(group.last!, labels[j]) {
                group.append(labels[j])
                j += 1
            }
            i = j
            guard group.count >= 2 else { continue }
            grouped.formUnion(group)
            let names = group.map { string(of: pieces[$0]) }.joined(separator: "/")
            let after = numberGroup(from: numberAfter(group.last!, .label, maxGap: 4), forward: true)
            let before = numberGroup(from: numberBefore(group.first!), forward: false)
            let numbers = after.count == group.count ? after : before.count == group.count ? before.reversed() : []
            guard !numbers.isEmpty else {
                note(piece: group[0], "labels '\(names)' match no group of \(group.count) numbers: not used")
                continue
            }
            for (label, number) in zip(group, numbers) {
                guard case .phrase(.zone(let zone)) = pieces[label].kind else { continue }
                pieces[number].zone = zone
                if let fraction = fractionPart(ofInteger: number) { pieces[fraction].zone = zone }
            }
            note(piece: group[0], "labels '\(names)' → the \(group.count) numbers in order")
        }
        return grouped
    }

    /// Two labels of one group: nothing but spaces and at most one '/', ',' or ';' between.
    private func joinedLabels(_ a: Int, _ b: Int) -> Bool {
        var marks = 0
        for k in (a + 1)..<b {
            switch pieces[k].kind {
            case .space: continue
            case .punct(let c) where c == 0x2F || c == 0x2C || c == 0x3B: marks += 1
            default: return false
            }
        }
        return marks <= 1
    }

    /// Free numbers joined by '/', ';' or ',' (or else by spaces alone: every join of a group is
    /// of the same kind), starting at `start` and going forward or backward, each with its
    /// decimal fraction. The text's first UIN-shaped number never joins a group.
    private func numberGroup(from start: Int?, forward: Bool) -> [Int] {
        func free(_ k: Int) -> Bool {
            pieces[k].isNumber && pieces[k].zone == nil && pieces[k].aside == nil && !pieces[k].uinLabeled
                && !isLoneUINCandidate(k)
        }
        guard let start, free(start) else { return [] }
        var group = [forward ? start : integerPart(ofFraction: start) ?? start]
        var byMark: Bool?
        while group.count < 16 {
            let last = group.last!
            var k = forward ? (fractionPart(ofInteger: last) ?? last) + 1 : last - 1
            var spaces = 0
            var marks = 0
            while k >= 0, k < pieces.count {
                if pieces[k].isSpace {
                    spaces += 1
                } else if case .punct(let c) = pieces[k].kind, c == 0x2F || c == 0x3B || c == 0x2C {
                    marks += 1
                } else {
                    break
                }
                k += forward ? 1 : -1
            }
            guard marks <= 1, spaces + marks > 0, byMark == nil || byMark == (marks == 1),
                  k >= 0, k < pieces.count, free(k) else { break }
            byMark = marks == 1
            if !forward, let integer = integerPart(ofFraction: k) {
                group.append(integer)
            } else {
                group.append(k)
            }
        }
        return group
    }
}
