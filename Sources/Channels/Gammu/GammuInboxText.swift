/// The text of an SMS file as Gammu SMSD's files backend writes it, or as a person saves it.
///
/// - `InboxFormat = unicode`: a byte order mark `FE FF`, then the text in UTF-16
///   big-endian (Gammu's own string form; `SMSDFiles_SaveInboxSMS`). Files saved by
///   Windows editors as "Unicode" are UTF-16 little-endian with `FF FE`; both are read.
/// - `InboxFormat = standard` (SMSD's default): the text through `wctomb`, i.e. in the
///   daemon's locale charset — UTF-8 under a UTF-8 locale, `?` for every non-ASCII letter
///   under the `C` locale, CP1251 under `ru_RU.CP1251`. Read as UTF-8 when the bytes are
///   valid UTF-8 (a leading UTF-8 BOM is dropped), else as CP1251.
package enum GammuInboxText {
    package static func decode(_ bytes: [UInt8]) -> String {
        if bytes.starts(with: [0xFE, 0xFF]) {
            return utf16(bytes.dropFirst(2), bigEndian: true)
        }
        if bytes.starts(with: [0xFF, 0xFE]) {
            return utf16(bytes.dropFirst(2), bigEndian: false)
        }
        let body = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes
        if let text = String(validating: body, as: UTF8.self) {
            return text
        }
        return CP1251.decode(body)
    }

    /// UTF-16 code units from `bytes`, up to the first U+0000; lone surrogates and an odd
    /// last byte become U+FFFD.
    ///
    /// Gammu's strings end at U+0000, and gammu-smsd up to 1.42 (Debian 12's) writes
    /// `strlen(text in the locale charset) * 2` bytes in the `unicode` format, so a Cyrillic
    /// text comes with U+0000 padding (or stale buffer bytes) after its end; fixed upstream
    /// in commit 239d7c8e8 "fix(smsd): correct FILES inbox Unicode output".
    package static func utf16(_ bytes: ArraySlice<UInt8>, bigEndian: Bool) -> String {
        var units: [UInt16] = []
        units.reserveCapacity(bytes.count / 2)
        var index = bytes.startIndex
        while index + 1 < bytes.endIndex {
            let first = UInt16(bytes[index]), second = UInt16(bytes[index + 1])
            let unit = bigEndian ? first << 8 | second : second << 8 | first
            if unit == 0 { return String(decoding: units, as: UTF16.self) }
            units.append(unit)
            index += 2
        }
        var text = String(decoding: units, as: UTF16.self)
        if index < bytes.endIndex { text.append("\u{FFFD}") }
        return text
    }
}
