import MeterCore

/// The concatenation element of an SMS user data header (3GPP TS 23.040 §9.2.3.24.1 and
/// .8): `050003RRNNMM` (8-bit reference) or `060804RRRRNNMM` (16-bit reference), possibly
/// among other elements (port addressing, …), as Gammu SMSD writes it in hex in `UDH`.
package struct GammuConcatenation: Sendable, Hashable {
    package var reference: Int
    package var total: Int
    package var sequence: Int

    package init(reference: Int, total: Int, sequence: Int) {
        self.reference = reference
        self.total = total
        self.sequence = sequence
    }

    /// nil when the header has no concatenation element or describes a single part.
    package init?(udhHex: String) {
        guard let bytes = Hex.bytes(udhHex.filter { $0 != " " }).flatMap({ $0.isEmpty ? nil : $0 }), let length = bytes.first, bytes.count >= Int(length) + 1 else {
            return nil
        }
        var index = 1
        let end = Int(length) + 1
        while index + 1 < end {
            let element = bytes[index]
            let size = Int(bytes[index + 1])
            let data = index + 2
            guard data + size <= end else { return nil }
            if element == 0x00, size == 3 {
                self.init(reference: Int(bytes[data]), total: Int(bytes[data + 1]), sequence: Int(bytes[data + 2]))
            } else if element == 0x08, size == 4 {
                self.init(
                    reference: Int(bytes[data]) << 8 | Int(bytes[data + 1]), total: Int(bytes[data + 2]),
                    sequence: Int(bytes[data + 3]))
            } else {
                index = data + size
                continue
            }
            guard total >= 2, (1...total).contains(sequence) else { return nil }
            return
        }
        return nil
    }
}
