// survey-gen: writes a deterministic synthetic survey (households.csv, members.csv) in review-export
// order (households in order, each household's members contiguous). No real personal data: names
// are drawn from lists of common syllables.
//
//   survey-gen --households N --seed S --out DIR [--commune thach-ha]
import Survey
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func err(_ text: String) {
    var t = text
    t.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

struct Rng {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func chance(_ p: Double) -> Bool { Double(next() >> 11) / Double(1 << 53) < p }
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func pick<T>(_ a: [T]) -> T { a[int(a.count)] }
    mutating func weighted(_ w: [Double]) -> Int {
        var r = uniform() * w.reduce(0, +)
        for (i, x) in w.enumerated() { r -= x; if r < 0 { return i } }
        return w.count - 1
    }
}

struct Out {
    let f: UnsafeMutablePointer<FILE>
    var buf: [UInt8] = []
    init(_ path: String) {
        guard let f = fopen(path, "wb") else { err("survey-gen: cannot write \(path)\n"); exit(2) }
        self.f = f
        buf.reserveCapacity(1 << 20)
    }
    mutating func s(_ t: String) { buf.append(contentsOf: t.utf8) }
    mutating func b(_ x: [UInt8]) { buf.append(contentsOf: x) }
    mutating func c() { buf.append(0x2C) }
    mutating func nl() {
        buf.append(0x0A)
        if buf.count >= 1 << 20 { flush() }
    }
    mutating func n(_ v: Int) {
        if v < 0 { buf.append(0x2D); n(-v); return }
        var tmp: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var k = 0
        var x = v
        withUnsafeMutableBytes(of: &tmp) { p in
            repeat { p[k] = UInt8(48 + x % 10); x /= 10; k += 1 } while x > 0
            while k > 0 { k -= 1; buf.append(p[k]) }
        }
    }
    mutating func pad(_ v: Int, _ w: Int) {
        var d = 1
        for _ in 1..<w { d *= 10 }
        var x = v
        while d > 0 { buf.append(UInt8(48 + (x / d) % 10)); x %= d; d /= 10 }
    }
    mutating func date(_ y: Int, _ m: Int, _ d: Int) { pad(y, 4); buf.append(0x2D); pad(m, 2); buf.append(0x2D); pad(d, 2) }
    mutating func bool(_ v: Bool) { s(v ? "true" : "false") }
    mutating func flush() {
        _ = buf.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        buf.removeAll(keepingCapacity: true)
    }
    mutating func close() { flush(); fclose(f) }
}

var households = 2000
var seed: UInt64 = 20240915
var outDir = "."
var commune = "thach-ha"
var args = Array(CommandLine.arguments.dropFirst())
func usage() -> Never {
    err("usage: survey-gen --households N --seed S --out DIR [--commune thach-ha]\n")
    exit(2)
}
while !args.isEmpty {
    let a = args.removeFirst()
    guard !args.isEmpty else { usage() }
    let v = args.removeFirst()
    switch a {
    case "--households": households = Int(v) ?? { usage() }()
    case "--seed": seed = UInt64(v) ?? { usage() }()
    case "--out": outDir = v
    case "--commune": commune = v
    default: usage()
    }
}
guard commune == "thach-ha" else { err("survey-gen: only --commune thach-ha is known\n"); exit(2) }
mkdir(outDir, 0o755)

// Thạch Hạ, Hà Tĩnh city: 11 villages (synthetic names).
let villages = ["Thôn Đông", "Thôn Tây", "Thôn Nam", "Thôn Bắc", "Thôn Trung", "Thôn Tân Học", "Thôn Hợp Tiến",
                "Thôn Liên Nhật", "Thôn Hòa Bình", "Thôn Thượng", "Thôn Hạ"].map { Array($0.utf8) }
let villageWeights: [Double] = [1.2, 1.0, 0.9, 1.1, 1.0, 0.8, 0.9, 1.0, 1.1, 0.7, 0.8]
let families = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"].map { Array($0.utf8) }
let maleMiddle = ["Văn", "Đức", "Hữu", "Minh", "Quang", "Công"].map { Array($0.utf8) }
let femaleMiddle = ["Thị", "Thị", "Ngọc", "Thu", "Thanh", "Kim"].map { Array($0.utf8) }
let maleGiven = ["An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khoa", "Long", "Nam", "Phong", "Quân", "Sơn", "Tuấn", "Vinh"].map { Array($0.utf8) }
let femaleGiven = ["Anh", "Chi", "Dung", "Hà", "Hoa", "Hương", "Lan", "Linh", "Mai", "Nga", "Phương", "Thảo", "Trang", "Yến"].map { Array($0.utf8) }
let water = ["piped", "borehole", "protected_dug_well", "protected_spring", "rainwater", "bottled", "vendor",
             "unprotected_dug_well", "unprotected_spring", "surface", "other"].map { Array($0.utf8) }
let latrines = ["flush_septic", "semi_septic", "double_vault", "ventilated_pit", "biogas", "simple_pit", "overhang", "none", "other"].map { Array($0.utf8) }
let province = Array("Hà Tĩnh".utf8), district = Array("Thành phố Hà Tĩnh".utf8), communeName = Array("Xã Thạch Hạ".utf8)

var rng = Rng(state: seed)
var ho = Out(outDir + "/households.csv")
var mo = Out(outDir + "/members.csv")
ho.s("household_id,province,district,commune,village,area,review_date,income_per_capita,score_a,dwelling,floor_area_m2,foundation_durable,walls_durable,roof_durable,water_source,latrine,internet,devices,hears_loudspeaker,prior_status,status_changed_on,agri_household,poor_district,ethnic_minority,weight")
ho.nl()
mo.s("household_id,member_id,full_name,relation,sex,birth_date,disability,social_allowance,able_to_work,employment,health_insurance,education,in_school,school_level,trained,certificate,stunted,underweight,merit,stable_livelihood,pregnant_or_lactating")
mo.nl()

let refY = 2024, refM = 9, refD = 15
let width = max(4, String(households).count)
var memberTotal = 0

struct Person { var age: Int; var female: Bool; var relation: String }

for h in 1...max(1, households) {
    // Income class: ~5% at or below the line (most of them with several deprivations), ~8% average band.
    let cls = rng.weighted([5.2, 8, 86.8])
    let poorish = cls == 0
    let deprived = poorish && rng.chance(0.65)
    // household id
    ho.s("TH"); ho.pad(h, width); ho.c()
    let missingLoc = rng.chance(0.02)
    if !missingLoc { ho.b(province) }; ho.c()
    if !missingLoc { ho.b(district) }; ho.c()
    if !missingLoc { ho.b(communeName) }; ho.c()
    ho.b(villages[rng.weighted(villageWeights)]); ho.c()
    ho.s("rural"); ho.c()
    // review date: mostly 15 September 2024, some later that week
    let rd = rng.chance(0.8) ? 15 : 16 + rng.int(5)
    ho.date(refY, refM, rd); ho.c()
    let income: Int
    switch cls {
    case 0: income = 600_000 + rng.int(900_001)
    case 1: income = 1_500_001 + rng.int(750_000)
    default: income = 2_250_001 + Int(Double(rng.int(1_000_000)) + rng.uniform() * rng.uniform() * 9_000_000)
    }
    let hasScore = rng.chance(0.03)
    let scoreOnly = hasScore && poorish && rng.chance(0.3)
    if !scoreOnly { ho.n(income / 1000 * 1000) }; ho.c()
    if hasScore { ho.n(poorish ? 100 + rng.int(41) : 141 + rng.int(60)) }; ho.c()
    let dwelling = deprived && rng.chance(0.04) ? "none" : rng.chance(0.92) ? "own" : rng.chance(0.6) ? "rented" : "borrowed"
    ho.s(dwelling); ho.c()
    // size first (for floor area)
    let size = 1 + rng.weighted(poorish ? [14, 18, 16, 20, 14, 9, 5, 3, 1] : [8, 17, 22, 27, 14, 7, 3, 1.5, 0.5])
    if dwelling != "none" {
        let perHead = deprived && rng.chance(0.3) ? 4 + rng.int(4) : 10 + rng.int(30)
        let area = perHead * size * 10 + rng.int(10)
        ho.n(area / 10); ho.s("."); ho.n(area % 10)
    }
    ho.c()
    let weakHouse = deprived && rng.chance(0.4)
    for _ in 0..<3 {
        if dwelling != "none" { ho.bool(!(weakHouse ? rng.chance(0.8) : rng.chance(0.03))) }
        ho.c()
    }
    ho.b(water[deprived && rng.chance(0.35) ? 7 + rng.int(3) : rng.weighted([40, 30, 15, 2, 5, 5, 3, 0, 0, 0, 0])]); ho.c()
    ho.b(latrines[deprived && rng.chance(0.45) ? 5 + rng.int(3) : rng.weighted([60, 20, 8, 4, 3, 2, 1, 0, 2])]); ho.c()
    let internet = !(deprived ? rng.chance(0.5) : rng.chance(0.05))
    ho.bool(internet); ho.c()
    // devices
    var first = true
    func dev(_ name: String, _ p: Double) {
        if rng.chance(p) { if !first { ho.s(";") }; ho.s(name); first = false }
    }
    let poorDevices = deprived && rng.chance(0.4)
    dev("tv", poorDevices ? 0.2 : 0.85)
    dev("radio", 0.05)
    dev("laptop", poorDevices ? 0 : 0.25)
    dev("smartphone", poorDevices ? 0.2 : 0.9)
    dev("basic_phone", 0.3)
    ho.c()
    ho.bool(!(poorDevices && rng.chance(0.5)) && rng.chance(0.97)); ho.c()
    // prior status
    var prior = ""
    if rng.chance(poorish ? 0.6 : 0.05) { prior = poorish ? (rng.chance(0.6) ? "poor" : "near_poor") : (rng.chance(0.4) ? "poor" : "near_poor") }
    else if rng.chance(0.7) { prior = cls == 1 ? "average" : "other" }
    ho.s(prior); ho.c()
    if (prior == "poor" || prior == "near_poor") && !poorish {
        let y = 2021 + rng.int(4)
        let m = y == 2024 ? 1 + rng.int(8) : 1 + rng.int(12)
        ho.date(y, m, 1 + rng.int(28))
    }
    ho.c()
    let agri = rng.chance(0.65)
    if rng.chance(0.97) { ho.bool(agri) }; ho.c()
    ho.bool(false); ho.c()
    if rng.chance(0.9) { ho.bool(rng.chance(0.01)) }; ho.c()
    // weight: empty (default 1)
    ho.nl()

    // Members: a head, maybe a spouse, children, parents, grandchildren.
    var people: [Person] = []
    let headFemale = rng.chance(size == 1 ? 0.55 : 0.2)
    let headAge = size == 1 ? 45 + rng.int(45) : 25 + rng.int(50)
    people.append(Person(age: headAge, female: headFemale, relation: "head"))
    if size >= 2 && !(size == 2 && rng.chance(0.3)) {
        people.append(Person(age: max(18, headAge + rng.int(9) - 4), female: !headFemale, relation: "spouse"))
    }
    while people.count < size {
        let r = rng.int(10)
        if r < 6 || headAge < 40 {
            let a = max(0, min(headAge - 18, rng.int(max(1, headAge - 17))))
            people.append(Person(age: a, female: rng.chance(0.49), relation: "child"))
        } else if r < 8 && headAge < 65 {
            people.append(Person(age: min(100, headAge + 22 + rng.int(12)), female: rng.chance(0.6), relation: "parent"))
        } else if headAge >= 45 {
            people.append(Person(age: rng.int(12), female: rng.chance(0.49), relation: "grandchild"))
        } else {
            people.append(Person(age: 10 + rng.int(60), female: rng.chance(0.5), relation: "other"))
        }
    }
    for (k, p) in people.enumerated() {
        memberTotal += 1
        mo.s("TH"); mo.pad(h, width); mo.c()
        mo.n(k + 1); mo.c()
        mo.b(rng.pick(families)); mo.s(" "); mo.b(rng.pick(p.female ? femaleMiddle : maleMiddle)); mo.s(" ")
        mo.b(rng.pick(p.female ? femaleGiven : maleGiven)); mo.c()
        mo.s(p.relation); mo.c()
        mo.s(p.female ? "female" : "male"); mo.c()
        // birth date: age completed on the review date
        if p.age >= 60 && rng.chance(0.05) {
            mo.n(refY - p.age - 1)  // bare year (1 July): still this age on 15 September
        } else {
            let m = 1 + rng.int(12)
            let d = 1 + rng.int(28)
            let beforeRef = (m, d) <= (refM, refD)
            mo.date(refY - p.age - (beforeRef ? 0 : 1), m, d)
        }
        mo.c()
        let disabled = rng.chance(p.age >= 60 ? 0.08 : 0.02)
        mo.s(disabled ? rng.pick(["mild", "mild", "severe", "extremely_severe"]) : (rng.chance(0.7) ? "none" : "")); mo.c()
        let allowance = (disabled && rng.chance(0.7)) || (p.age >= 80 && rng.chance(0.8))
        mo.bool(allowance); mo.c()
        let able = !(disabled && rng.chance(0.5)) && p.age >= 15 && p.age < 75
        if rng.chance(0.9) { mo.bool(able) }; mo.c()
        // employment for 15+
        if p.age >= 15 {
            let inSchoolAdult = p.age <= 22 && rng.chance(0.5)
            let e: String
            if inSchoolAdult { e = "student" }
            else if p.age >= 62 { e = rng.chance(0.5) ? "retired" : (able ? "self_employed" : "unable_to_work") }
            else if !able { e = "unable_to_work" }
            else if deprived && rng.chance(0.25) { e = rng.chance(0.5) ? "unemployed" : "wage_without_contract" }
            else { e = ["wage_with_contract", "wage_without_contract", "self_employed", "self_employed", "family_worker", "homemaker"][rng.weighted([25, 8, 45, 10, 5, 7])] }
            mo.s(e)
        } else if p.age >= 12 {
            // Recorded ahead of the age bands, as review exports do, so the same survey still reads
            // when classified at a later date (--as-of), and a child born just after the 15th of the
            // review month is covered when its household's review date is later. No random draw,
            // so the rest of the survey is unchanged.
            mo.s("student")
        }
        mo.c()
        mo.bool(!(deprived ? rng.chance(0.25) : rng.chance(0.02))); mo.c()
        // education: 16+
        if p.age >= 16 {
            let lvl = deprived ? rng.weighted([10, 30, 35, 15, 5, 3, 1, 1]) : rng.weighted([2, 10, 28, 30, 8, 8, 6, 8])
            mo.s(["none", "primary", "lower_secondary", "upper_secondary", "vocational_elementary", "vocational_intermediate", "college", "university"][lvl])
        } else if p.age >= 12 {
            mo.s(p.age >= 15 ? "lower_secondary" : "primary")
        }
        mo.c()
        var inSchool = false
        if p.age >= 3 && p.age <= 30 {
            inSchool = p.age <= 15 ? !(deprived && rng.chance(0.1)) : p.age <= 22 ? rng.chance(0.5) : rng.chance(0.03)
            mo.bool(inSchool)
        } else if p.age <= 33 {
            mo.bool(false)
        }
        mo.c()
        if inSchool {
            let lvl = p.age <= 5 ? "preschool" : p.age <= 10 ? "primary" : p.age <= 14 ? "lower_secondary"
                : p.age <= 17 ? "upper_secondary" : rng.chance(0.3) ? "vocational" : "higher"
            mo.s(lvl)
        }
        mo.c()
        let trained = p.age >= 18 && rng.chance(deprived ? 0.2 : 0.55)
        mo.bool(trained); mo.c()
        if rng.chance(0.95) { mo.bool(trained && rng.chance(0.6)) }; mo.c()
        if p.age < 16 {
            mo.bool(deprived ? rng.chance(0.2) : rng.chance(0.04)); mo.c()
            mo.bool(deprived ? rng.chance(0.15) : rng.chance(0.03)); mo.c()
        } else { mo.c(); mo.c() }
        mo.bool(p.age >= 65 && rng.chance(0.05)); mo.c()
        if rng.chance(0.9) { mo.bool(!(disabled && rng.chance(0.4))) }; mo.c()
        mo.bool(p.female && p.age >= 18 && p.age <= 40 && rng.chance(0.08))
        mo.nl()
    }
}
ho.close()
mo.close()
err("survey-gen: wrote \(households) households and \(memberTotal) members to \(outDir)\n")
