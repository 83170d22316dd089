/// How an SMS text is encoded and whether it fits one segment (3GPP TS 23.038).
public enum SMSText {
    static let gsmBasic = Set(
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    )
    static let gsmExtension = Set("^{}\\[~]|€\u{0C}")

    public enum Coding: String, Sendable { case gsm7, ucs2 }

    public static func coding(of text: String) -> Coding {
        text.allSatisfy { gsmBasic.contains($0) || gsmExtension.contains($0) } ? .gsm7 : .ucs2
    }

    /// Septets (GSM-7, extension characters count 2) or UTF-16 units (UCS-2).
    public static func length(of text: String) -> Int {
        switch coding(of: text) {
        case .gsm7: text.reduce(0) { $0 + (gsmExtension.contains($1) ? 2 : 1) }
        case .ucs2: text.utf16.count
        }
    }

    public static func limit(for coding: Coding) -> Int { coding == .gsm7 ? 160 : 70 }

    public static func fitsOneSegment(_ text: String) -> Bool {
        length(of: text) <= limit(for: coding(of: text))
    }
}
