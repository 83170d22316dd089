/// Guesses the charset of unlabelled (or mislabelled) 8-bit text: UTF-8 when it is valid UTF-8,
/// otherwise Windows-1251 or KOI8-R, whichever reads more like Russian.
///
/// KOI8-R puts lower-case letters at 0xC0–0xDF and upper-case at 0xE0–0xFF, the reverse of CP1251,
/// and in a different order; so each reading is scored by Russian letter frequency, lower-case
/// letters counting fully and upper-case ones a little. KOI8-R read as CP1251 gives mostly odd
/// upper-case letters and scores low.
enum CharsetGuess {
    /// Russian letter frequencies (per mille), index 0 = "а" … 31 = "я".
    private static let frequency: [Int] = [
        80, 16, 45, 17, 30, 85, 9, 17, 74, 12, 35, 44, 32, 67, 110, 28,
        47, 55, 63, 26, 3, 10, 5, 14, 7, 4, 1, 19, 17, 3, 6, 20,
    ]
    /// KOI8-R 0xC0…0xDF (lower case) in alphabet positions: "юабцдефгхийклмнопярстужвьызшэщчъ".
    private static let koi8Order: [Int] = [
        30, 0, 1, 22, 4, 5, 20, 3, 21, 8, 9, 10, 11, 12, 13, 14,
        15, 31, 16, 17, 18, 19, 6, 2, 28, 27, 7, 24, 29, 25, 23, 26,
    ]

    static func guess(_ bytes: ArraySlice<UInt8>) -> String {
        if !bytes.contains(where: { $0 >= 0x80 }) || Charset.isValidUTF8(bytes) { return "UTF-8" }
        let (cp1251, koi8, _) = scores(bytes)
        return koi8 > cp1251 ? "KOI8-R" : "WINDOWS-1251"
    }

    /// How Russian the bytes read as CP1251 and as KOI8-R, and how many letters were scored.
    static func scores(_ bytes: ArraySlice<UInt8>) -> (cp1251: Int, koi8: Int, letters: Int) {
        var cp1251 = 0, koi8 = 0, letters = 0
        for b in bytes where b >= 0xC0 {
            let i = Int(b - 0xC0) & 31
            let upperInCP1251 = b < 0xE0
            cp1251 += upperInCP1251 ? frequency[i] / 4 : frequency[i]
            koi8 += upperInCP1251 ? frequency[koi8Order[i]] : frequency[koi8Order[i]] / 4
            letters += 1
        }
        return (cp1251, koi8, letters)
    }

    /// The other Cyrillic single-byte charset when the text, decoded with the declared one,
    /// reads decisively worse than with it (CP1251 labelled KOI8-R or the reverse: every byte
    /// is valid in both, so only the letters tell). Needs enough letters to be sure.
    static func swappedCyrillicLabel(_ bytes: ArraySlice<UInt8>, declared name: String) -> String? {
        guard name == "WINDOWS-1251" || name == "KOI8-R" else { return nil }
        let (cp1251, koi8, letters) = scores(bytes)
        guard letters >= 6 else { return nil }
        if name == "WINDOWS-1251", koi8 > 2 * cp1251 { return "KOI8-R" }
        if name == "KOI8-R", cp1251 > 2 * koi8 { return "WINDOWS-1251" }
        return nil
    }
}
