/// Pieces → atoms: value numbers with their decimal and thousands options.
extension ParseRun {
    static let maxAtoms = 64

    mutating func buildAtoms() -> [Atom] {
        var atoms: [Atom] = []
        var atomPiece: [Int] = []
        // Room for the usual few numbers at once (growing 1, 2, 4, 8 cost more than the parse).
        atoms.reserveCapacity(8)
        atomPiece.reserveCapacity(8)
        var fractionPiece: [Int: Int] = [:]
        var index = 0
        let longest = max(grammar.uinDigits.upperBound, grammar.maxReadingDigits)
        while index < pieces.count {
            let piece = pieces[index]
            switch piece.kind {
            case .date(maybeDecimal: true):
                let a = piece.first, b = piece.first + 2
                let whole = string(of: piece)
                atoms.append(Atom(kind: .dateDecimal, digits: digits(ofRaw: a), fraction: digits(ofRaw: b), raw: whole,
                                  integerRaw: string(raw[a].start, raw[a].end), fractionRaw: string(raw[b].start, raw[b].end)))
                atomPiece.append(index)
            case .dateOrPair:
                let a = piece.first, b = piece.first + 2
                atoms.append(Atom(kind: .datePair, digits: digits(ofRaw: a), fraction: digits(ofRaw: b), raw: string(of: piece),
                                  integerRaw: string(raw[a].start, raw[a].end), fractionRaw: string(raw[b].start, raw[b].end)))
                atomPiece.append(index)
            case .phone(maybeNumber: true):
                let whole = string(of: piece)
                atoms.append(Atom(kind: .phoneNumber, digits: digits(ofRaw: piece.first), raw: whole, integerRaw: whole, fractionRaw: ""))
                atomPiece.append(index)
            case .number where piece.aside == nil:
                let digits = digits(ofRaw: piece.first)
                if digits.utf8.count > longest && !piece.uinLabeled {
                    note(piece: index, "number too long for a UIN or a reading, set aside")
                    pieces[index].aside = "long number"
                    break
                }
                let integerRaw = string(of: piece)
                var atom = Atom(kind: .plain, digits: digits, raw: integerRaw, integerRaw: integerRaw, fractionRaw: "",
                                zone: piece.zone, unit: piece.unit, uinLabeled: piece.uinLabeled, afterHint: piece.afterHint)
                if let f = fractionPart(ofInteger: index), pieces[f].aside == nil, !piece.uinLabeled,
                   grammar.fractionDigits.contains(raw[pieces[f].first].length), !isListSeparator(index) {
                    atom.fraction = self.digits(ofRaw: pieces[f].first)
                    atom.fractionRaw = string(of: pieces[f])
                    atom.raw = string(pieces: index, f)
                    atom.zone = atom.zone ?? pieces[f].zone
                    atom.unit = atom.unit || pieces[f].unit
                    fractionPiece[atoms.count] = f
                    atoms.append(atom)
                    atomPiece.append(index)
                    index = f
                } else {
                    atoms.append(atom)
                    atomPiece.append(index)
                }
            default:
                break
            }
            index += 1
        }
        // Thousands separators: "41 011" — one joinable space between two atoms.
        for n in atoms.indices.dropLast() {
            let p = atomPiece[n], q = atomPiece[n + 1]
            if q == p + 2, case .space(joinable: true) = pieces[p + 1].kind,
               atoms[n].kind == .plain, atoms[n + 1].kind == .plain {
                atoms[n].joinableToNext = true
            }
            if let f = fractionPiece[n], q == f + 2, case .space(joinable: true) = pieces[f + 1].kind,
               atoms[n].kind == .plain, atoms[n + 1].kind == .plain {
                atoms[n].fractionJoinableToNext = true
            }
        }
        if atoms.count > Self.maxAtoms {
            limitReached = true
            note(piece: atomPiece[Self.maxAtoms], "only the first \(Self.maxAtoms) numbers considered")
            atoms.removeLast(atoms.count - Self.maxAtoms)
        }
        return atoms
    }

    /// "6648892,40906,14995": the same separator between several numbers is a list, not decimals.
    private func isListSeparator(_ integer: Int) -> Bool {
        guard case .punct(let c) = pieces[integer + 1].kind else { return false }
        let after = integer + 3
        if after + 1 < pieces.count, pieces[after].kind == .punct(c), pieces[after + 1].isNumber { return true }
        if integer >= 2, pieces[integer - 1].kind == .punct(c), pieces[integer - 2].isNumber { return true }
        return false
    }
}
