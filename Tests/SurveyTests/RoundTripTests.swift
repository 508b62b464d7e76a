import Testing
import Diagnostics
@testable import Survey
#if canImport(Glibc)
import Glibc
#endif

func tempDir(_ name: String) -> String {
    let dir = "/tmp/povrules-survey-tests-\(getpid())-\(name)"
    mkdir(dir, 0o755)
    return dir
}

func write(_ path: String, _ text: String) {
    let f = fopen(path, "wb")!
    fputs(text, f)
    fclose(f)
}

func writeBytes(_ path: String, _ bytes: [UInt8]) {
    let f = fopen(path, "wb")!
    _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
    fclose(f)
}

/// Decomposed (NFD-like) spelling of the Vietnamese letters used below, as macOS saves them.
func decomposed(_ s: String) -> String {
    var out = ""
    let table: [Character: String] = [
        "ô": "o\u{302}", "ộ": "o\u{323}\u{302}", "ã": "a\u{303}", "ữ": "u\u{31B}\u{303}", "ớ": "o\u{31B}\u{301}",
        "á": "a\u{301}", "à": "a\u{300}", "ạ": "a\u{323}", "ệ": "e\u{323}\u{302}", "ì": "i\u{300}", "í": "i\u{301}",
        "ư": "u\u{31B}", "ơ": "o\u{31B}", "ó": "o\u{301}", "ủ": "u\u{309}", "ố": "o\u{302}\u{301}",
        "ợ": "o\u{31B}\u{323}", "ề": "e\u{302}\u{300}", "ấ": "a\u{302}\u{301}", "ầ": "a\u{302}\u{300}",
        "ậ": "a\u{323}\u{302}", "ả": "a\u{309}", "ẩ": "a\u{302}\u{309}", "ế": "e\u{302}\u{301}", "ỏ": "o\u{309}",
        "ụ": "u\u{323}", "ú": "u\u{301}", "ị": "i\u{323}", "ọ": "o\u{323}", "ồ": "o\u{302}\u{300}", "ă": "a\u{306}",
        "ờ": "o\u{31B}\u{300}", "ẫ": "a\u{302}\u{303}", "ở": "o\u{31B}\u{309}", "ê": "e\u{302}", "ỗ": "o\u{302}\u{303}",
        "ử": "u\u{31B}\u{309}", "ự": "u\u{31B}\u{323}", "ứ": "u\u{31B}\u{301}", "ừ": "u\u{31B}\u{300}",
        "Đ": "Đ", "đ": "đ", "Ữ": "U\u{31B}\u{303}", "Ô": "O\u{302}", "Ộ": "O\u{323}\u{302}",
    ]
    for ch in s {
        if let d = table[ch] { out += d } else { out.append(ch) }
    }
    return out
}

/// The same survey two ways: plain (contract headers and codes, LF, minimal quoting) and tricky
/// (BOM, CRLF, Vietnamese headers and codes in NFD, every value quoted, blanks around values).
struct TwinSurvey {
    let hHeader = ["household_id", "village", "area", "review_date", "income_per_capita", "dwelling", "floor_area_m2",
                   "foundation_durable", "walls_durable", "roof_durable", "water_source", "latrine", "internet", "devices",
                   "hears_loudspeaker"]
    let hHeaderVi = ["Mã hộ", "Thôn", "Khu vực", "Ngày rà soát", "Thu nhập bình quân", "Nhà ở", "Diện tích nhà (m²)",
                     "Nền móng bền chắc", "Khung tường bền chắc", "Mái bền chắc", "Nguồn nước", "Nhà tiêu", "Sử dụng internet",
                     "Phương tiện thông tin", "Nghe loa truyền thanh"]
    let mHeader = ["household_id", "member_id", "full_name", "sex", "birth_date", "employment", "health_insurance", "education"]
    let mHeaderVi = ["Mã hộ", "Mã thành viên", "Họ và tên", "Giới tính", "Ngày sinh", "Việc làm", "Có thẻ BHYT", "Trình độ"]
    // (plain, tricky) per cell.
    let households: [[(String, String)]] = [
        [("H,001", "H,001"), ("Thôn Đông", "Thôn Đông"), ("rural", "nông thôn"), ("2024-09-15", "2024-09-15"), ("1200000", "1200000"),
         ("own", "nhà riêng"), ("45.5", "45.5"), ("true", "Có"), ("true", "có"), ("false", "KHÔNG"), ("piped", "Nước máy"),
         ("flush_septic", "Tự hoại"), ("true", "1"), ("tv;smartphone", "Ti vi; điện thoại thông minh ;"), ("true", "yes")],
        [("H002", "H002"), ("Thôn \"Tây\"", "Thôn \"Tây\""), ("urban", "thành thị"), ("2024-09-16", "2024-09-16"), ("2500000", "2500000"),
         ("none", "không có nhà"), ("", ""), ("", ""), ("", ""), ("", ""), ("surface", "ao"),
         ("overhang", "cầu tõm"), ("false", "0"), ("", ""), ("false", "no")],
    ]
    let members: [[(String, String)]] = [
        [("H,001", "H,001"), ("1", "1"), ("Nguyễn Văn An", "Nguyễn Văn An"), ("male", "Nam"), ("1980-03-12", "1980-03-12"),
         ("self_employed", "tự làm"), ("true", "có"), ("upper_secondary", "THPT")],
        [("H,001", "H,001"), ("2", "2"), ("Trần Thị Bình,\nvợ", "Trần Thị Bình,\r\nvợ"), ("female", "Nữ"), ("1948", "1948"),
         ("retired", "retired"), ("true", "có"), ("primary", "tiểu học")],
        [("H002", "H002"), ("1", "1"), ("=Lê \"Cường\"", "=Lê \"Cường\""), ("male", "NAM"), ("2012-02-29", "2012-02-29"),
         ("", ""), ("false", "không"), ("", "")],
    ]

    func plainCSV(_ header: [String], _ rows: [[(String, String)]]) -> String {
        var s = header.joined(separator: ",") + "\n"
        for r in rows {
            s += r.map { c -> String in
                let v = c.0
                return v.contains(",") || v.contains("\"") || v.contains("\n") ? "\"" + v.replacing("\"", with: "\"\"") + "\"" : v
            }.joined(separator: ",") + "\n"
        }
        return s
    }

    func trickyCSV(_ header: [String], _ rows: [[(String, String)]]) -> [UInt8] {
        func q(_ v: String) -> String { "\"" + decomposed(v).replacing("\"", with: "\"\"") + "\"" }
        var s = header.map { q(" " + $0 + " ") }.joined(separator: ",") + "\r\n"
        for r in rows { s += r.map { q($0.1) }.joined(separator: ",") + "\r\n" }
        return [0xEF, 0xBB, 0xBF] + Array(s.utf8)
    }
}

@Suite struct RoundTripTests {
    @Test func trickyReadsLikePlain() throws {
        let t = TwinSurvey()
        let plain = tempDir("plain"), tricky = tempDir("tricky")
        write(plain + "/households.csv", t.plainCSV(t.hHeader, t.households))
        write(plain + "/members.csv", t.plainCSV(t.mHeader, t.members))
        writeBytes(tricky + "/households.csv", t.trickyCSV(t.hHeaderVi, t.households))
        writeBytes(tricky + "/members.csv", t.trickyCSV(t.mHeaderVi, t.members))
        let (a, ra) = try readAllKeeping(plain)
        let (b, rb) = try readAllKeeping(tricky)
        for p in ra.problems + rb.problems { Issue.record("\(p.diagnostic)") }
        #expect(ra.counts.householdsAccepted == 2)
        #expect(ra.counts.membersAccepted == 3)
        #expect(a == b)
        #expect(a.joined(separator: "\n").contains("full_name=Trần Thị Bình,\nvợ"))
        #expect(a.joined(separator: "\n").contains("village=Thôn \"Tây\""))
    }

    @Test func anyOrderFallbackReadsTheSame() throws {
        let t = TwinSurvey()
        let ordered = tempDir("ordered"), shuffled = tempDir("shuffled")
        write(ordered + "/households.csv", t.plainCSV(t.hHeader, t.households))
        write(ordered + "/members.csv", t.plainCSV(t.mHeader, t.members))
        write(shuffled + "/households.csv", t.plainCSV(t.hHeader, t.households))
        write(shuffled + "/members.csv", t.plainCSV(t.mHeader, [t.members[2], t.members[0], t.members[1]]))
        let (a, ra) = try readAllKeeping(ordered)
        let (b, rb) = try readAllKeeping(shuffled)
        #expect(ra.streaming)
        #expect(!rb.streaming)
        #expect(rb.problems.isEmpty)
        // Lines differ; the records do not.
        #expect(a.map(stripLine) == b.map(stripLine))
    }
}

func stripLine(_ s: String) -> String { s.split(separator: "@").first.map(String.init) ?? s }

func readAllKeeping(_ dir: String) throws -> ([String], SurveyReader) {
    let schema = try shippedSchema()
    let reader = try SurveyReader(householdsPath: dir + "/households.csv", membersPath: dir + "/members.csv", schema: schema, mapping: nil)
    reader.keepPersonalData = true
    var rows: [String] = []
    while let b = try reader.next(maxHouseholds: 1) {
        for h in 0..<b.households.count {
            rows.append(render(b.households, h) + " ref=\(b.referenceDates[h])")
            for m in b.memberRanges[h] { rows.append("  " + render(b.members, m) + " age=\(b.ageMonths[m])@\(b.members.line(m))") }
        }
    }
    return (rows, reader)
}

@Suite struct CivilDateTests {
    @Test func parsesAndRejects() {
        #expect(CivilDate("2024-02-29") != nil)
        #expect(CivilDate("2022-02-30") == nil)
        #expect(CivilDate("2022-13-01") == nil)
        #expect(CivilDate("15/09/2024") == nil)
        let y = Array("1948".utf8)
        #expect(y.withUnsafeBufferPointer { CivilDate.parse($0.baseAddress!, 4, allowBareYear: true) } == CivilDate(year: 1948, month: 7, day: 1))
        #expect(CivilDate(dayNumber: CivilDate("2024-09-15")!.dayNumber) == CivilDate("2024-09-15"))
        #expect(CivilDate("1970-01-01")!.dayNumber == 0)
    }

    @Test func completedMonthsFollowArticle148() {
        func m(_ a: String, _ b: String) -> Int { CivilDate.completedMonths(from: CivilDate(a)!, to: CivilDate(b)!) }
        #expect(m("2024-05-31", "2024-06-30") == 1)
        #expect(m("2024-05-31", "2024-06-29") == 0)
        #expect(m("2024-05-31", "2024-09-30") == 4)
        #expect(m("2000-02-29", "2001-02-28") == 12)
        #expect(m("2000-02-29", "2001-02-27") == 11)
        #expect(m("2008-09-15", "2024-09-15") == 192)
        #expect(m("2008-09-16", "2024-09-15") == 191)
        #expect(CivilDate.completedYears(from: CivilDate("2000-02-29")!, to: CivilDate("2016-02-28")!) == 15)
        #expect(CivilDate.completedYears(from: CivilDate("2000-02-29")!, to: CivilDate("2016-02-29")!) == 16)
    }
}

@Suite struct CSVEscapeTests {
    @Test func neutralisesFormulasAndQuotes() {
        #expect(CSVEscape.field("=SUM(A1:A3)") == "'=SUM(A1:A3)")
        #expect(CSVEscape.field("+84 912") == "'+84 912")
        #expect(CSVEscape.field("@cmd") == "'@cmd")
        #expect(CSVEscape.field("-1200000") == "-1200000")
        #expect(CSVEscape.field("-12.5") == "-12.5")
        #expect(CSVEscape.field("-") == "'-")
        #expect(CSVEscape.field("a,b") == "\"a,b\"")
        #expect(CSVEscape.field("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(CSVEscape.field("=1,2") == "\"'=1,2\"")
        #expect(CSVEscape.field("Thôn Đông") == "Thôn Đông")
        #expect(CSVEscape.field("line\nbreak") == "\"line\nbreak\"")
    }
}

@Suite struct SchemaTests {
    @Test func shippedSchemaDeclaresTheContract() throws {
        let s = try shippedSchema()
        #expect(s.households.first?.name == "household_id")
        #expect(s.codeLists["education"]?.codes.first == "none")
        #expect(s.codeLists["water_source"]?.codes.count == 11)
        let floor = s.households.first { $0.name == "floor_area_m2" }!
        #expect(floor.requiredWhen == "h.dwelling != 'none'")
        #expect(s.households.contains { $0.name == "waste_hygienic" && !$0.isRequired })
        #expect(s.households.contains { $0.name == "digital_services" })
        #expect(s.members.first { $0.name == "full_name" }!.personal)
        #expect(s.defaultMappingPath?.hasSuffix("mappings/vi.yaml") == true)
    }

    @Test func schemaErrorsNamePlaceAndSuggest() {
        let dir = tempDir("schema")
        write(dir + "/schema.yaml", """
        schema_version: 1
        code_lists:
          area: [rural, urban]
        households:
          - {name: household_id, type: text, required: true}
          - {name: area, type: code, codes: areas}
          - {name: x, typ: int}
        members:
          - {name: household_id, type: text}
          - {name: member_id, type: txt}
        """)
        do {
            _ = try SurveySchema.load(dir + "/schema.yaml")
            Issue.record("expected errors")
        } catch {
            let text = error.description.replacing(dir + "/", with: "")
            #expect(text.contains("schema.yaml:6:37: error: unknown code list 'areas' for field 'area'\n  hint: did you mean 'area'?"), "\(text)")
            #expect(text.contains("unknown key 'typ'"), "\(text)")
            #expect(text.contains("unknown type 'txt' for field 'member_id'"), "\(text)")
        }
    }

    @Test func mappingRecognisesVietnameseHeaders() throws {
        let s = try shippedSchema()
        let m = try HeaderMapping.load(s.defaultMappingPath!)
        #expect(m.check(against: s).isEmpty)
        #expect(m.field(forHeader: "MÃ HỘ", table: "households") == "household_id")
        #expect(m.field(forHeader: decomposed("Giới tính"), table: "members") == "sex")
    }
}
