/// Enumerates interpretations of the atoms, bounded: thousands joins, decimal choices,
/// date/phone alternatives (segments), then which values are UINs.
struct InterpretationSearch {
    struct Option {
        var values: [Val]
        var penalty: Int
        var notes: [Note]
    }

    /// Why an interpretation cost what it did; worded only for the interpretations kept.
    enum Note {
        case joined(raw: String, value: MeterValue)
        case decimalMark(comma: Bool)
        case twoNumbers(raw: String)
        case thousandsMark(raw: String, value: MeterValue)
        case decimalNotDate(raw: String)
        case numbersNotDate(raw: String)
        case numberNotPhone(raw: String)
        case uinAfterHint(raw: String)
        case anotherUIN(raw: String)
        case readingNotUIN(raw: String)
        case readingsBeforeUIN

        var text: String {
            switch self {
            case .joined(let raw, let value): "joined '\(raw)' as \(value)"
            case .decimalMark(let comma): "'\(comma ? "," : ".")' read as decimal \(comma ? "comma" : "point")"
            case .twoNumbers(let raw): "'\(raw)' read as two numbers"
            case .thousandsMark(let raw, let value): "'\(raw)' read as \(value) (a thousands mark)"
            case .decimalNotDate(let raw): "'\(raw)' read as a decimal reading, not a date"
            case .numbersNotDate(let raw): "'\(raw)' read as two numbers, not a date"
            case .numberNotPhone(let raw): "'\(raw)' read as a number, not a phone"
            case .uinAfterHint(let raw): "'\(raw)' after a reading hint read as a UIN"
            case .anotherUIN(let raw): "'\(raw)' read as another UIN"
            case .readingNotUIN(let raw): "'\(raw)' read as a reading, not a UIN"
            case .readingsBeforeUIN: "readings written before the UIN"
            }
        }
    }

    let shared: SharedGrammar
    let atoms: [Atom]
    var limitReached = false
    var diagnostics: [String] = []

    private var found: [Interpretation] = []
    private var steps = 0

    static let maxSteps = 200_000
    static let maxSegmentPenalty = 8
    static let maxChain = 7

    var grammar: Grammar { shared.grammar }

    init(shared: SharedGrammar, atoms: [Atom]) {
        self.shared = shared
        self.atoms = atoms
    }

    mutating func run() -> [Interpretation] {
        guard !atoms.isEmpty else { return [] }
        if hasNoBranchPoint() {
            // No branch point but the choice of UINs (most texts): each atom is a segment of
            // one option, so this is what `makeSegments` and `combine` would find. A text with
            // a joinable space went through them before: the same step count (one per segment).
            var values: [Val] = []
            values.reserveCapacity(atoms.count)
            for atom in atoms { if let v = integerVal(atom) { values.append(v) } }
            if atoms.contains(where: \.joinableToNext) { steps = atoms.count }
            assignUINs(values, 0, [])
            return found.count < 2 ? found : sorted()
        }
        let segments = makeSegments()
        let maxPenalty = min(Self.maxSegmentPenalty, segments.reduce(0) { $0 + ($1.last?.penalty ?? 0) })
        var chosen: [Int] = []
        chosen.reserveCapacity(segments.count)
        for budget in 0...maxPenalty {
            combine(segments, 0, budget, &chosen)
            if limitReached { break }
        }
        return sorted()
    }

    /// Stable: lowest penalty first, then the order found.
    private func sorted() -> [Interpretation] {
        found.enumerated().sorted { ($0.element.penalty, $0.offset) < ($1.element.penalty, $1.offset) }.map(\.element)
    }

    /// Every atom a plain integer that no thousands join can extend: one option per atom.
    private func hasNoBranchPoint() -> Bool {
        for (a, atom) in atoms.enumerated() {
            guard atom.kind == .plain, atom.fraction == nil, !atom.fractionJoinableToNext else { return false }
            if atom.joinableToNext, a + 1 < atoms.count, canJoin(atoms[a + 1], toChainOf: atom, digits: atom.digits.utf8.count) {
                return false
            }
        }
        return true
    }

    /// Whether `atom` may be joined (thousands groups) to a chain that starts with `head` and
    /// holds `sofar` digits.
    private func canJoin(_ atom: Atom, toChainOf head: Atom, digits sofar: Int) -> Bool {
        if head.uinLabeled {
            // "УИН 123 456 789": a labeled UIN written in groups of 1-4 digits.
            return head.digits.utf8.count < grammar.uinDigits.lowerBound && atom.kind == .plain
                && (1...4).contains(atom.digits.utf8.count) && !atom.uinLabeled && atom.zone == nil
                && sofar < grammar.uinDigits.upperBound
        }
        return atom.kind == .plain && atom.digits.utf8.count == 3 && !atom.uinLabeled && head.digits.utf8.count <= 3
    }

    // MARK: segments

    private func makeSegments() -> [[Option]] {
        var segments: [[Option]] = []
        var a = 0
        while a < atoms.count {
            let atom = atoms[a]
            switch atom.kind {
            case .dateDecimal:
                var options = [Option(values: [], penalty: 0, notes: [])]
                if let v = decimalVal(atom) {
                    options.append(Option(values: [v], penalty: 1, notes: [.decimalNotDate(raw: atom.raw)]))
                }
                segments.append(options)
                a += 1
            case .datePair:
                var options = [Option(values: [], penalty: 0, notes: [])]
                if let v = integerVal(atom, splitFraction: true), let f = fractionVal(atom) {
                    options.append(Option(values: [v, f], penalty: 1, notes: [.numbersNotDate(raw: atom.raw)]))
                }
                segments.append(options)
                a += 1
            case .phoneNumber:
                var options = [Option(values: [], penalty: 0, notes: [])]
                if let v = integerVal([atom]) {
                    options.append(Option(values: [v], penalty: 2, notes: [.numberNotPhone(raw: atom.raw)]))
                }
                segments.append(options)
                a += 1
            case .plain:
                var chain = [a]
                while chain.count < Self.maxChain, atoms[chain.last!].joinableToNext, atoms[chain.last!].fraction == nil {
                    let next = chain.last! + 1
                    guard next < atoms.count else { break }
                    let atom = atoms[next]
                    let sofar = chain.reduce(0) { $0 + atoms[$1].digits.utf8.count }
                    guard canJoin(atom, toChainOf: atoms[chain[0]], digits: sofar) else { break }
                    chain.append(next)
                }
                var options = chainOptions(chain.map { atoms[$0] })
                var end = chain.last!
                let last = atoms[end]
                // "12345,6 789": a decimal 12345.6 and 789, or 12345 and 6 789 (= 6789) with the
                // comma separating two readings. Both are offered; the accounts decide.
                if last.fractionJoinableToNext, !last.uinLabeled, let fraction = last.fraction, end + 1 < atoms.count {
                    let next = atoms[end + 1]
                    if next.kind == .plain, next.digits.utf8.count == 3, next.fraction == nil, !next.uinLabeled {
                        if options.isEmpty { options = [Option(values: [], penalty: 0, notes: [])] }
                        let tail = chainOptions([next].map { var a = $0; a.joinableToNext = false; return a })
                        var combined: [Option] = []
                        for head in options {
                            for t in tail {
                                combined.append(Option(values: head.values + t.values, penalty: head.penalty + t.penalty,
                                                       notes: head.notes + t.notes))
                            }
                        }
                        if chain.count == 1, let integer = integerVal(last, splitFraction: true) {
                            var fractionAtom = next
                            fractionAtom.digits = fraction
                            fractionAtom.raw = last.fractionRaw
                            fractionAtom.zone = nil
                            if let joined = integerVal([fractionAtom, next]) {
                                combined.append(Option(values: [integer, joined], penalty: 2,
                                                       notes: [.twoNumbers(raw: last.raw), .joined(raw: joined.raw, value: joined.value)]))
                            }
                        }
                        options = combined.sorted { $0.penalty < $1.penalty }
                        end += 1
                    }
                }
                segments.append(options.isEmpty ? [Option(values: [], penalty: 0, notes: [])] : options)
                a = end + 1
            }
        }
        return segments
    }

    /// Every way to join a chain "1 234 567" (penalty = joins), each with the last
    /// atom's decimal choice.
    private func chainOptions(_ chain: [Atom]) -> [Option] {
        if chain.count == 1, chain[0].fraction == nil {
            return integerVal(chain).map { [Option(values: [$0], penalty: 0, notes: [])] } ?? []
        }
        if chain[0].uinLabeled, chain.count > 1 {
            // A labeled UIN in groups is all of them or none: no guessing where it ends.
            var options = chainOptions([chain[0]])
            var rest = chainOptions(Array(chain.dropFirst()).map { var a = $0; a.joinableToNext = false; return a })
            if rest.isEmpty { rest = [Option(values: [], penalty: 0, notes: [])] }
            options = options.flatMap { head in
                rest.filter { $0.penalty == 0 }.map {
                    Option(values: head.values + $0.values, penalty: head.penalty, notes: head.notes + $0.notes)
                }
            }
            if chain.last!.fraction == nil, let v = integerVal(chain) {
                // The label's own number is too short to be a UIN: the groups are the UIN.
                return [Option(values: [v], penalty: 0, notes: [.joined(raw: v.raw, value: v.value)])]
            }
            return options
        }
        var options: [Option] = []
        let gaps = chain.count - 1
        for mask in 0..<(1 << gaps) {
            var groups: [[Atom]] = [[chain[0]]]
            var notes: [Note] = []
            for g in 0..<gaps {
                if mask & (1 << g) != 0 { groups[groups.count - 1].append(chain[g + 1]) } else { groups.append([chain[g + 1]]) }
            }
            var values: [Val] = []
            var ok = true
            for group in groups.dropLast() {
                guard let v = integerVal(group) else { ok = false; break }
                if group.count > 1 { notes.append(.joined(raw: v.raw, value: v.value)) }
                values.append(v)
            }
            guard ok else { continue }
            let joins = mask.nonzeroBitCount
            let last = groups[groups.count - 1]
            let lastAtom = last[last.count - 1]
            if lastAtom.fraction != nil {
                if let v = decimalVal(lastAtom, joinedWith: Array(last.dropLast())) {
                    var n = notes
                    if last.count > 1 { n.append(.joined(raw: v.raw, value: v.value)) }
                    n.append(.decimalMark(comma: lastAtom.raw.contains(",")))
                    options.append(Option(values: values + [v], penalty: joins, notes: n))
                }
                // "17.300": a decimal 17.3 to a careful reader, or 17300 written with a
                // thousands mark; offered too, and the accounts decide (both fitting: ambiguous).
                if last.count == 1, let v = thousandsVal(lastAtom) {
                    options.append(Option(values: values + [v], penalty: joins + 1,
                                          notes: notes + [.thousandsMark(raw: lastAtom.raw, value: v.value)]))
                }
                if let v = integerVal(last, splitFraction: true), let f = fractionVal(lastAtom) {
                    var n = notes
                    if last.count > 1 { n.append(.joined(raw: v.raw, value: v.value)) }
                    n.append(.twoNumbers(raw: lastAtom.raw))
                    options.append(Option(values: values + [v, f], penalty: joins + 1, notes: n))
                }
            } else if let v = integerVal(last) {
                if last.count > 1 { notes.append(.joined(raw: v.raw, value: v.value)) }
                options.append(Option(values: values + [v], penalty: joins, notes: notes))
            }
        }
        options.sort { $0.penalty < $1.penalty }
        return options
    }

    private func integerVal(_ first: Atom, splitFraction: Bool = false) -> Val? {
            let raw = splitFraction ? first.integerRaw : first.raw
            guard let value = MeterValue(first.digits) else { return nil }
            let count = first.digits.utf8.count
            let canUIN = first.uinLabeled
                || (grammar.uinDigits.contains(count) && first.zone == nil && !first.unit && first.kind != .phoneNumber)
                || (first.kind == .phoneNumber && grammar.uinDigits.contains(count))
            // A labeled number of a UIN's length is the UIN; a labeled one of another length
            // ("№17300") may still be a reading: the accounts decide.
            let canReading = (!first.uinLabeled || !grammar.uinDigits.contains(count))
                && value.significantIntegerDigits <= grammar.maxReadingDigits
            return Val(value: value, raw: raw, uinText: first.digits, zone: first.zone, uinLabeled: first.uinLabeled,
                       afterHint: first.afterHint, canUIN: canUIN, canReading: canReading)
    }

    private func integerVal(_ group: [Atom], splitFraction: Bool = false) -> Val? {
        guard let first = group.first else { return nil }
        if group.count == 1 { return integerVal(first, splitFraction: splitFraction) }
        let digits = group.map(\.digits).joined()
        let raw = group.enumerated().map { $0.offset == group.count - 1 && splitFraction ? $0.element.integerRaw : $0.element.raw }
            .joined(separator: " ")
        guard let value = MeterValue(digits) else { return nil }
        // A UIN written in groups ("8 986 432") may be one when the groups make a UIN's length.
        let canUIN = grammar.uinDigits.contains(digits.utf8.count)
            && group.allSatisfy { $0.zone == nil && !$0.unit && $0.kind != .phoneNumber }
        // The groups after a UIN label are the labeled UIN, never a reading.
        let labeled = first.uinLabeled
        if labeled, !canUIN { return nil }
        let canReading = !labeled && value.significantIntegerDigits <= grammar.maxReadingDigits
        guard canUIN || canReading else { return nil }
        return Val(value: value, raw: raw, uinText: digits, zone: group.lazy.compactMap(\.zone).first,
                   uinLabeled: labeled, afterHint: first.afterHint, canUIN: canUIN, canReading: canReading)
    }

    private func decimalVal(_ atom: Atom, joinedWith head: [Atom] = []) -> Val? {
        guard let fraction = atom.fraction else { return nil }
        let digits = head.map(\.digits).joined() + atom.digits
        guard let value = MeterValue(digits + "." + fraction), value.significantIntegerDigits <= grammar.maxReadingDigits else { return nil }
        let raw = (head.map(\.raw) + [atom.raw]).joined(separator: " ")
        return Val(value: value, raw: raw, uinText: digits, zone: head.lazy.compactMap(\.zone).first ?? atom.zone,
                   uinLabeled: false, afterHint: (head.first ?? atom).afterHint, canUIN: false, canReading: true)
    }

    /// "17.300", "1,250": one to three digits, a mark, exactly three digits.
    private func thousandsVal(_ atom: Atom) -> Val? {
        guard let fraction = atom.fraction, fraction.utf8.count == 3, (1...3).contains(atom.digits.utf8.count),
              atom.digits.utf8.first != UInt8(ascii: "0"),
              let value = MeterValue(atom.digits + fraction) else { return nil }
        return Val(value: value, raw: atom.raw, uinText: atom.digits + fraction, zone: atom.zone, uinLabeled: false,
                   afterHint: atom.afterHint, canUIN: false, canReading: true)
    }

    private func fractionVal(_ atom: Atom) -> Val? {
        guard let fraction = atom.fraction, let value = MeterValue(fraction) else { return nil }
        let count = fraction.utf8.count
        return Val(value: value, raw: atom.fractionRaw, uinText: fraction, zone: nil, uinLabeled: false, afterHint: false,
                   canUIN: grammar.uinDigits.contains(count), canReading: value.significantIntegerDigits <= grammar.maxReadingDigits)
    }

    // MARK: combining segments

    private mutating func combine(_ segments: [[Option]], _ s: Int, _ budget: Int, _ chosen: inout [Int]) {
        if limitReached { return }
        if s == segments.count {
            guard budget == 0 else { return }
            var values: [Val] = []
            var notes: [Note] = []
            var penalty = 0
            for (k, o) in chosen.enumerated() {
                let option = segments[k][o]
                values.append(contentsOf: option.values)
                notes.append(contentsOf: option.notes)
                penalty += option.penalty
            }
            assignUINs(values, penalty, notes)
            return
        }
        for (o, option) in segments[s].enumerated() where option.penalty <= budget {
            steps += 1
            if steps > Self.maxSteps { stop("search step limit reached"); return }
            chosen.append(o)
            combine(segments, s + 1, budget - option.penalty, &chosen)
            chosen.removeLast()
            if limitReached { return }
        }
    }

    private mutating func stop(_ why: String) {
        if !limitReached { diagnostics.append(why) }
        limitReached = true
    }

    // MARK: which values are UINs

    private mutating func assignUINs(_ values: [Val], _ basePenalty: Int, _ notes: [Note]) {
        guard !values.isEmpty else { return }
        var isUIN = [Bool](repeating: false, count: values.count)
        assign(values, 0, &isUIN, uinCount: 0, readingsSinceUIN: 0, leading: 0, basePenalty, notes)
    }

    private mutating func assign(_ values: [Val], _ i: Int, _ isUIN: inout [Bool], uinCount: Int, readingsSinceUIN: Int,
                                 leading: Int, _ basePenalty: Int, _ notes: [Note]) {
        if limitReached { return }
        steps += 1
        if steps > Self.maxSteps { stop("search step limit reached"); return }
        if i == values.count {
            // Every UIN needs readings; readings written before the first UIN count as its own.
            guard uinCount > 0, readingsSinceUIN > 0 || (uinCount == 1 && (leading > 0 || (values.count == 1 && values[0].uinLabeled))) else {
                return
            }
            emit(values, isUIN, basePenalty, notes)
            return
        }
        let v = values[i]
        // UIN first: the plain reading of a text starts with its UIN.
        if v.canUIN, uinCount == 0 || readingsSinceUIN > 0 {
            isUIN[i] = true
            assign(values, i + 1, &isUIN, uinCount: uinCount + 1, readingsSinceUIN: 0, leading: leading, basePenalty, notes)
            isUIN[i] = false
        }
        if v.canReading {
            assign(values, i + 1, &isUIN, uinCount: uinCount, readingsSinceUIN: uinCount == 0 ? 0 : readingsSinceUIN + 1,
                   leading: uinCount == 0 ? leading + 1 : leading, basePenalty, notes)
        }
    }

    private mutating func emit(_ values: [Val], _ isUIN: [Bool], _ basePenalty: Int, _ baseNotes: [Note]) {
        var penalty = basePenalty
        var submissions: [Submission] = []
        var leading: [Reading] = []
        for (k, v) in values.enumerated() {
            if isUIN[k] {
                if v.afterHint && !v.uinLabeled { penalty += 2 }
                submissions.append(Submission(uin: v.uinText, uinLabeled: v.uinLabeled, readings: []))
            } else {
                if v.canUIN { penalty += 1 }
                let reading = Reading(value: v.value, zone: v.zone, raw: v.raw)
                if submissions.isEmpty { leading.append(reading) } else { submissions[submissions.count - 1].readings.append(reading) }
            }
        }
        if !leading.isEmpty {
            penalty += 2
            submissions[0].readings.insert(contentsOf: leading, at: 0)
        }
        let existing = found.firstIndex(where: { $0.submissions == submissions })
        if let existing, found[existing].penalty <= penalty { return }
        if existing == nil, found.count >= grammar.maxInterpretations {
            stop("more than \(grammar.maxInterpretations) interpretations")
            return
        }
        let interpretation = Interpretation(
            submissions: submissions, penalty: penalty, notes: notes(values, isUIN, baseNotes, leading: !leading.isEmpty))
        if let existing { found[existing] = interpretation } else { found.append(interpretation) }
    }

    /// The notes of an interpretation `emit` keeps, in the order the values came.
    private func notes(_ values: [Val], _ isUIN: [Bool], _ baseNotes: [Note], leading: Bool) -> [String] {
        var notes = baseNotes
        var uins = 0
        for (k, v) in values.enumerated() {
            if isUIN[k] {
                if v.afterHint && !v.uinLabeled { notes.append(.uinAfterHint(raw: v.raw)) }
                if uins > 0 && !v.uinLabeled { notes.append(.anotherUIN(raw: v.raw)) }
                uins += 1
            } else if v.canUIN {
                notes.append(.readingNotUIN(raw: v.raw))
            }
        }
        if leading { notes.append(.readingsBeforeUIN) }
        return notes.map(\.text)
    }
}
