/// How an SMS text is encoded and whether it fits one segment (3GPP TS 23.038).
public enum SMSText {
    static let gsmBasic = Set(
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    )
    static let gsmExtension = Set("^{}\\[~]|€\u{0C}")

    public enum Coding: String, Sendable { case gsm7, ucs2 }

    /// Septets per character of the GSM 7-bit alphabet: 1 in the basic table, 2 in the
    /// extension table; characters not listed have no GSM-7 form.
    static let septets: [UInt32: Int] = {
        var table: [UInt32: Int] = [:]
        for character in gsmBasic { for scalar in character.unicodeScalars { table[scalar.value] = 1 } }
        for character in gsmExtension { for scalar in character.unicodeScalars { table[scalar.value] = 2 } }
        return table
    }()

    /// The same for ASCII, by index (0: none).
    static let asciiSeptets: [Int] = (0..<128).map { septets[UInt32($0)] ?? 0 }

    /// The coding a text needs and its length in it, in one pass over its scalars (a combining
    /// mark has no GSM-7 form: the text goes as UCS-2, never with a character the handset
    /// cannot show).
    public static func measure(_ text: String) -> (coding: Coding, length: Int) {
        var septetCount = 0
        var utf16Count = 0
        var gsm = true
        for scalar in text.unicodeScalars {
            let value = scalar.value
            utf16Count += value > 0xFFFF ? 2 : 1
            guard gsm else { continue }
            let count = value < 128 ? asciiSeptets[Int(value)] : septets[value] ?? 0
            if count == 0 { gsm = false } else { septetCount += count }
        }
        return gsm ? (.gsm7, septetCount) : (.ucs2, utf16Count)
    }

    public static func coding(of text: String) -> Coding { measure(text).coding }

    /// Septets (GSM-7, extension characters count 2) or UTF-16 units (UCS-2).
    public static func length(of text: String) -> Int { measure(text).length }

    public static func limit(for coding: Coding) -> Int { coding == .gsm7 ? 160 : 70 }

    public static func fitsOneSegment(_ text: String) -> Bool {
        let (coding, length) = measure(text)
        return length <= limit(for: coding)
    }
}
