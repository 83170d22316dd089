/// What a grammar phrase means when it is found in a text.
enum PhraseMeaning: Sendable, Hashable, CustomStringConvertible {
    case uinLabel
    case filler
    case hint
    case zone(String)
    case noise
    case unit
    /// A number after this phrase is set aside (phone, address, serial, money …).
    case aside(String)
    /// A number before this phrase is set aside ("руб", "₽").
    case asideAfter(String)
    case month(Int)
    case yearWord
    case quoteIntro
    /// A history word: the abonent asks for the last accepted readings.
    case history

    var description: String {
        switch self {
        case .uinLabel: "uin label"
        case .filler: "filler"
        case .hint: "reading hint"
        case .zone(let z): "zone \(z)"
        case .noise: "noise"
        case .unit: "unit"
        case .aside(let k): "set-aside label (\(k))"
        case .asideAfter(let k): "set-aside suffix (\(k))"
        case .month(let m): "month \(m)"
        case .yearWord: "year word"
        case .quoteIntro: "quote intro"
        case .history: "history word"
        }
    }
}

/// A trie over folded scalars (see `ScalarClass.fold`). Punctuation and spaces are not
/// part of a key, so "лиц.счет", "лиц. счет" and "лицсчет" are one key.
struct PhraseTable: Sendable {
    private var edges: [UInt64: Int32] = [:]
    private(set) var meanings: [PhraseMeaning?] = [nil]
    /// Scalars that start at least one key (quick rejection).
    private var firstScalars: Set<UInt32> = []

    static func key<S: Sequence>(of scalars: S) -> [UInt32] where S.Element == Unicode.Scalar {
        var key: [UInt32] = []
        for scalar in scalars {
            let s = scalar.value
            if s == 0xFE0E || s == 0xFE0F || s == 0x200D { continue }
            if ScalarClass.isPunctuation(s) || s <= 0x20 || s == 0xA0 || s == 0x2009 || s == 0x202F { continue }
            if s == 0x2116 { key.append(s); continue }
            key.append(ScalarClass.fold(s))
        }
        return key
    }

    func lookup(_ key: [UInt32]) -> PhraseMeaning? {
        var node: Int32 = 0
        for s in key {
            guard let next = child(node, s) else { return nil }
            node = next
        }
        return meanings[Int(node)]
    }

    mutating func insert(_ key: [UInt32], _ meaning: PhraseMeaning) {
        var node: Int32 = 0
        for s in key {
            let edgeKey = UInt64(UInt32(bitPattern: node)) << 32 | UInt64(s)
            if let next = edges[edgeKey] {
                node = next
            } else {
                let next = Int32(meanings.count)
                meanings.append(nil)
                edges[edgeKey] = next
                node = next
            }
        }
        if let first = key.first { firstScalars.insert(first) }
        meanings[Int(node)] = meaning
    }

    @inline(__always)
    func canStart(_ s: UInt32) -> Bool { firstScalars.contains(s) }

    @inline(__always)
    func child(_ node: Int32, _ s: UInt32) -> Int32? {
        edges[UInt64(UInt32(bitPattern: node)) << 32 | UInt64(s)]
    }

    @inline(__always)
    func meaning(_ node: Int32) -> PhraseMeaning? { meanings[Int(node)] }
}
