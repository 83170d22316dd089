import DefaultFiles
import Foundation
import Testing
@testable import ReadingsGrammar

/// Grammar files: errors name file, line and reason; a folder changes behaviour without a rebuild.
struct GrammarLoadingTests {
    @Test func builtInGrammarLoads() {
        #expect(Fixture.grammar.uinDigits == 7...12)
        #expect(Fixture.grammar.meterLabels.starts(with: ["T1", "T2", "T3"]))
        #expect(DefaultFiles.grammar.contains { $0.name == "zones.grammar" })
        #expect(!DefaultFiles.grammar.contains { $0.name == "README.md" })
    }

    /// (file contents, line of the error, words the reason must contain)
    static let broken: [(String, Int, String)] = [
        ("# fine\nlables: уин", 2, "unknown key 'lables' (expected one of"),
        ("uin: уин, , лс", 1, "empty synonym"),
        ("uin: уин, лс,", 1, "empty synonym"),
        ("uin:", 1, "has no synonyms"),
        ("\n\nuin_digits = 12-7", 3, "bad range '12-7'"),
        ("uin_digits = seven", 1, "bad range 'seven'"),
        ("uin_digits = 0-30", 1, "must lie within"),
        ("fraction_digits = 1-5", 1, "must lie within"),
        ("max_reading_digits = 99", 1, "bad value '99'"),
        ("zone T1: день\nzone T2: день", 2, "already bound to zone T1"),
        ("zone T1: день\nnoise: День", 2, "already bound to zone T1"),
        ("zone T1: т1\nzone T2: T1", 2, "already bound to zone T1"),
        ("uin: лиц.счет\nhint: лиц счет", 2, "already bound to uin label"),
        ("zone: день", 1, "needs a canonical meter label"),
        ("zone Т1: день", 1, "needs a canonical meter label"),
        ("uin x: уин", 1, "takes no argument"),
        ("month 13: ноябрь", 1, "month number 1-12"),
        ("lookalike 10: O", 1, "one digit"),
        ("lookalike 0: OO", 1, "single character"),
        ("lookalike 0: 1", 1, "cannot be a digit"),
        ("lookalike 0: O\nlookalike 1: O", 2, "already stands for 0"),
        ("just some words", 1, "expected 'key: synonym"),
        ("uin = уин", 1, "takes a list"),
        ("uin_digits: 7-12", 1, "is a setting"),
        ("uin_digits = 7-12\nuin_digits = 7-12", 2, "already set at"),
        ("noise: !!!", 1, "has no letters"),
        ("unit: 1квт", 1, "must not start with a digit"),
        ("thousands_separators = space, tab2", 1, "unknown space 'tab2'"),
        ("aside: тел", 1, "needs a kind"),
        ("aside_near: д", 1, "needs a kind"),
        ("aside_near address: д, ,", 1, "empty synonym"),
    ]

    @Test(arguments: broken)
    func refusesBrokenFile(_ contents: String, _ line: Int, _ reason: String) {
        do {
            _ = try Grammar.load(files: [(name: "Grammars/test.grammar", contents: contents)])
            Issue.record("accepted \(contents.debugDescription)")
        } catch let error as GrammarError {
            #expect(error.file == "Grammars/test.grammar")
            #expect(error.line == line)
            #expect(error.reason.contains(reason), "\(error)")
            #expect(error.description.hasPrefix("Grammars/test.grammar:\(line): "))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func duplicateAcrossFilesNamesTheFirstPlace() {
        #expect(throws: GrammarError.self) {
            try Grammar.load(files: [(name: "a.grammar", contents: "zone T1: день"), (name: "b.grammar", contents: "\nzone T2: день")])
        }
        do {
            _ = try Grammar.load(files: [(name: "a.grammar", contents: "zone T1: день"), (name: "b.grammar", contents: "\nzone T2: день")])
        } catch let error as GrammarError {
            #expect(error.description == "b.grammar:2: synonym 'день' is already bound to zone T1 at a.grammar:1")
        } catch {}
    }

    @Test func sameSynonymTwiceForOneMeaningIsFine() throws {
        let grammar = try Grammar.load(files: [(name: "a.grammar", contents: "zone T1: день, ДЕНЬ, дeнь\nuin: л/с, лс, л.с.")])
        #expect(grammar.meterLabels == ["T1"])
    }

    @Test func commentsAndBlankLinesAreIgnored() throws {
        let grammar = try Grammar.load(files: [(name: "a.grammar", contents: "# comment\n\n   # indented comment\r\nuin_digits = 5-6\r\n")])
        #expect(grammar.uinDigits == 5...6)
    }

    @Test func filesWithOtherExtensionsAreIgnored() throws {
        let grammar = try Grammar.load(files: [(name: "README.md", contents: "# Grammar\nnot: a grammar"), (name: "x.grammar", contents: "uin: уин")])
        #expect(grammar.uinDigits == 7...12)
    }

    private func withTemporaryGrammar(_ edit: (String) -> String, _ body: (URL) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("grammar-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for file in DefaultFiles.grammar where file.name.hasSuffix(".grammar") {
            let contents = file.name == "numbers.grammar" || file.name == "zones.grammar" ? edit(file.contents) : file.contents
            try contents.write(to: directory.appendingPathComponent(file.name), atomically: true, encoding: .utf8)
        }
        try "# not a grammar file\nbroken line".write(to: directory.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        try body(directory)
    }

    @Test func folderCopyBehavesLikeBuiltIn() throws {
        try withTemporaryGrammar({ $0 }) { directory in
            let parser = MessageParser(grammar: try Grammar.load(directory: directory))
            for text in ["8986432 17281", "л/с 841464364049 Т1 9640 Т2 3955", "009547501237 41 011"] {
                #expect(parser.parse(text).interpretations == Fixture.parse(text).interpretations)
            }
        }
    }

    @Test func editedFolderChangesBehaviour() throws {
        try withTemporaryGrammar({
            $0.replacingOccurrences(of: "uin_digits = 7-12", with: "uin_digits = 5-6")
                .replacingOccurrences(of: "zone T3: т3,", with: "zone T3: вечер, т3,")
        }) { directory in
            let grammar = try Grammar.load(directory: directory)
            #expect(grammar.uinDigits == 5...6)
            let parser = MessageParser(grammar: grammar)
            #expect(parser.parse("12345 678").interpretations.first.map(Fixture.summary) == "12345: 678")
            #expect(parser.parse("1234567 12345").interpretations.first.map(Fixture.summary) == "12345: 1234567")
            #expect(parser.parse("123456 вечер 678").interpretations.first.map(Fixture.summary) == "123456: T3=678")
        }
    }

    @Test func brokenFolderFileIsReportedWithPath() throws {
        try withTemporaryGrammar({ $0 + "\nzone T9: ночь\n" }) { directory in
            do {
                _ = try Grammar.load(directory: directory)
                Issue.record("accepted a duplicate synonym")
            } catch let error as GrammarError {
                #expect(error.file.hasSuffix("numbers.grammar") || error.file.hasSuffix("zones.grammar"))
                #expect(error.reason.contains("'ночь' is already bound to zone"))
                #expect(error.line > 1)
            }
        }
    }

    @Test func missingFolderIsAnError() {
        #expect(throws: GrammarError.self) {
            try Grammar.load(directory: URL(fileURLWithPath: "/nonexistent/grammar-\(UUID().uuidString)"))
        }
    }
}
