#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A calendar date without time or zone (proleptic Gregorian), as written in surveys.
public struct CivilDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// A valid date, or nil (2022-02-30 is not a date).
    public init?(year: Int, month: Int, day: Int) {
        guard year >= 1, year <= 9999, month >= 1, month <= 12, day >= 1,
              day <= CivilDate.daysInMonth(year: year, month: month) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    private init(unchecked year: Int, _ month: Int, _ day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// `YYYY-MM-DD`, or nil.
    public init?(_ text: String) {
        var t = text
        guard let d = t.withUTF8({ CivilDate.parse($0.baseAddress!, $0.count, allowBareYear: false) }) else { return nil }
        self = d
    }

    /// Parses `YYYY-MM-DD`, and with `allowBareYear` also `YYYY` (read as 1 July of that year),
    /// straight from bytes.
    public static func parse(_ p: UnsafePointer<UInt8>, _ n: Int, allowBareYear: Bool) -> CivilDate? {
        @inline(__always) func digit(_ i: Int) -> Int? {
            let v = Int(p[i]) &- 48
            return v >= 0 && v <= 9 ? v : nil
        }
        if n == 4, allowBareYear {
            guard let a = digit(0), let b = digit(1), let c = digit(2), let d = digit(3) else { return nil }
            return CivilDate(year: a * 1000 + b * 100 + c * 10 + d, month: 7, day: 1)
        }
        guard n == 10, p[4] == 0x2D, p[7] == 0x2D,
              let y0 = digit(0), let y1 = digit(1), let y2 = digit(2), let y3 = digit(3),
              let m0 = digit(5), let m1 = digit(6), let d0 = digit(8), let d1 = digit(9) else { return nil }
        return CivilDate(year: y0 * 1000 + y1 * 100 + y2 * 10 + y3, month: m0 * 10 + m1, day: d0 * 10 + d1)
    }

    /// `parse`, straight to the day number (`dayNumber` of the date), for the reader: no date is
    /// built, and the digits are checked together. Nil exactly when `parse` gives nil.
    @inline(__always) static func parseDayNumber(_ p: UnsafePointer<UInt8>, _ n: Int, allowBareYear: Bool) -> Int32? {
        parseParts(p, n, allowBareYear: allowBareYear)?.dayNumber
    }

    /// A date read from its digits: its day number and its parts (a bare year as 1 July).
    struct Parts {
        let dayNumber: Int32
        let year: Int
        let month: Int
        let day: Int
    }

    /// `parse` as a day number and the date's parts, nil exactly when `parse` gives nil. Reads
    /// `YYYY-MM-DD` as one 8-byte and one 2-byte load (the digits checked and combined in
    /// place, SWAR), and a bare year as one 4-byte load. `days` gives the day number of a valid
    /// date (`daysFromYearOne`, or `YearStarts.dayNumber`).
    @inline(__always) static func parseParts(_ p: UnsafePointer<UInt8>, _ n: Int, allowBareYear: Bool,
                                             days: (_ year: Int, _ month: Int, _ day: Int) -> Int32 = daysFromYearOne) -> Parts? {
        let raw = UnsafeRawPointer(p)
        if n == 10 {
            // Little-endian: byte k of the text is byte k of the word. Bytes 4 and 7 must be '-';
            // the day's two digits take their places, so one test checks all eight digits.
            let w = raw.loadUnaligned(as: UInt64.self)
            let dd = UInt64(raw.loadUnaligned(fromByteOffset: 8, as: UInt16.self))
            let dashes: UInt64 = 0xFF00_00FF_0000_0000
            guard w & dashes == 0x2D00_002D_0000_0000 else { return nil }
            let x = w & ~dashes | (dd & 0xFF) << 32 | (dd >> 8) << 56
            guard ValueParser.isDigits(x) else { return nil }
            let v = x & 0x0F0F_0F0F_0F0F_0F0F
            // Byte k of `t` is 10 * digit(k - 1) + digit(k) (at most 99: no carries).
            let t = v &* 0xA01
            let year = Int((t >> 8) & 0xFF) &* 100 &+ Int((t >> 24) & 0xFF)
            let month = Int((t >> 48) & 0xFF)
            let day = Int((v >> 32) & 0xFF) &* 10 &+ Int(v >> 56)
            guard year >= 1, UInt(bitPattern: month &- 1) < 12, day >= 1, day <= 28 || day <= daysInMonth(year: year, month: month) else { return nil }
            return Parts(dayNumber: days(year, month, day), year: year, month: month, day: day)
        }
        if n == 4, allowBareYear {
            let x = UInt64(raw.loadUnaligned(as: UInt32.self)) | 0x3030_3030_0000_0000
            guard ValueParser.isDigits(x) else { return nil }
            let t = (x & 0x0F0F_0F0F) &* 0xA01
            let year = Int((t >> 8) & 0xFF) &* 100 &+ Int((t >> 24) & 0xFF)
            guard year >= 1 else { return nil }
            return Parts(dayNumber: days(year, 7, 1), year: year, month: 7, day: 1)
        }
        return nil
    }

    /// `days` for a valid date from year 1 on: the March-based year is then never negative, so
    /// no era split, and unsigned divisions by constants.
    @inline(__always) static func daysFromYearOne(_ year: Int, _ month: Int, _ day: Int) -> Int32 {
        let march = month > 2
        let y = UInt(bitPattern: march ? year : year &- 1)
        let mp = UInt(bitPattern: march ? month &- 3 : month &+ 9)
        let doy = (153 &* mp &+ 2) / 5 &+ UInt(bitPattern: day) &- 1
        let n = y &* 365 &+ y / 4 &- y / 100 &+ y / 400 &+ doy
        return Int32(truncatingIfNeeded: Int(bitPattern: n) &- 719_468)
    }

    /// Day numbers of valid dates from tables, for the years most survey dates fall in: a look-up
    /// of the year's first day and of the month's first day instead of the divisions of
    /// `daysFromYearOne` (which gives the others, and the same numbers).
    struct YearStarts: @unchecked Sendable {
        static let firstYear = 1800
        static let years = 512
        /// Days before the first of each month, in a common year at 0...12 and a leap year at
        /// 16...28; then per year from `firstYear` the day number of its 1 January times two,
        /// plus one in a leap year.
        let table: UnsafePointer<Int32>

        /// One table for the process, never freed (read-only once made: safe to share).
        static let shared = YearStarts()

        private init() {
            let t = UnsafeMutablePointer<Int32>.allocate(capacity: 32 + YearStarts.years)
            t.initialize(repeating: 0, count: 32 + YearStarts.years)
            for leap in 0...1 {
                var before: Int32 = 0
                for m in 1...12 {
                    t[leap * 16 + m] = before
                    before += Int32(CivilDate.daysInMonth(year: leap == 1 ? 2000 : 2001, month: m))
                }
            }
            for i in 0..<YearStarts.years {
                let y = YearStarts.firstYear + i
                t[32 + i] = CivilDate.daysFromYearOne(y, 1, 1) * 2 + (CivilDate.isLeap(y) ? 1 : 0)
            }
            table = UnsafePointer(t)
        }

        /// `daysFromYearOne(year, month, day)` for a valid date.
        @inline(__always) func dayNumber(_ year: Int, _ month: Int, _ day: Int) -> Int32 {
            let i = year &- YearStarts.firstYear
            guard UInt(bitPattern: i) < UInt(YearStarts.years) else { return CivilDate.daysFromYearOne(year, month, day) }
            let start = table[32 &+ i]
            return start &>> 1 &+ table[Int(start & 1) &<< 4 | month] &+ Int32(truncatingIfNeeded: day) &- 1
        }
    }

    /// Days since 1970-01-01 of a valid date (Howard Hinnant's days_from_civil).
    @inline(__always) static func days(_ year: Int, _ month: Int, _ day: Int) -> Int32 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return Int32(era * 146_097 + doe - 719_468)
    }

    public static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    public static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 (negative before).
    public var dayNumber: Int32 { CivilDate.days(year, month, day) }

    /// The date of a day number (inverse of `dayNumber`).
    public init(dayNumber: Int32) {
        let z = Int(dayNumber) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.init(unchecked: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// Completed months from `birth` to `ref` (negative when `ref` is before `birth`).
    ///
    /// Civil Code 2015 Art. 148: a month is complete on the same day of the month, or on the
    /// month's last day when that day does not exist (born 31 May: one month old on 30 June;
    /// born 29 February: a year older on 28 February of a common year).
    public static func completedMonths(from birth: CivilDate, to ref: CivilDate) -> Int {
        if ref < birth { return -completedMonths(from: ref, to: birth) }
        var months = (ref.year - birth.year) * 12 + (ref.month - birth.month)
        let anniversary = min(birth.day, daysInMonth(year: ref.year, month: ref.month))
        if ref.day < anniversary { months -= 1 }
        return months
    }

    /// Completed years (completed months / 12).
    public static func completedYears(from birth: CivilDate, to ref: CivilDate) -> Int {
        completedYears(months: completedMonths(from: birth, to: ref))
    }

    /// Completed years of `months` completed months: truncated toward zero, as a birth after the
    /// reference date counts negative months (integer division truncates toward zero).
    @inlinable public static func completedYears<I: BinaryInteger>(months: I) -> I { months / 12 }

    /// Today's date on this machine's local calendar.
    public static func today() -> CivilDate {
        var t = time(nil)
        var parts = tm()
        localtime_r(&t, &parts)
        return CivilDate(year: Int(parts.tm_year) + 1900, month: Int(parts.tm_mon) + 1, day: Int(parts.tm_mday))!
    }

    /// This date moved by whole years, clamped to the month's last day (29 Feb → 28 Feb).
    public func addingYears(_ n: Int) -> CivilDate {
        let y = year + n
        return CivilDate(unchecked: y, month, min(day, CivilDate.daysInMonth(year: y, month: month)))
    }

    public static func < (a: CivilDate, b: CivilDate) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }

    public var description: String {
        func pad(_ v: Int, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }
}

/// A household's reference date taken apart once, for the ages of its members: a birth date
/// read from its digits needs no conversion from a day number to a date.
struct AgeReference {
    let date: CivilDate
    let dayNumber: Int32
    private let months: Int
    private let day: Int
    private let daysInMonth: Int

    init(_ date: CivilDate) {
        self.date = date
        dayNumber = date.dayNumber
        months = date.year * 12 + date.month
        day = date.day
        daysInMonth = CivilDate.daysInMonth(year: date.year, month: date.month)
    }

    /// `CivilDate.completedMonths(from: birth, to: date)` for the valid date `year-month-day`
    /// whose day number is `birthDay`.
    @inline(__always) func completedMonths(year: Int, month: Int, day birthDay: Int, dayNumber: Int32) -> Int {
        guard dayNumber <= self.dayNumber else {
            return CivilDate.completedMonths(from: CivilDate(year: year, month: month, day: birthDay)!, to: date)
        }
        return completedMonths(monthCount: year * 12 + month, day: birthDay)
    }

    /// The same for a valid birth date on or before this date, given as `year * 12 + month`
    /// and its day.
    @inline(__always) func completedMonths(monthCount: Int, day birthDay: Int) -> Int {
        var m = months &- monthCount
        if day < min(birthDay, daysInMonth) { m &-= 1 }
        return m
    }

    /// The same for a birth date known by its day number only.
    func completedMonths(dayNumber: Int32) -> Int {
        CivilDate.completedMonths(from: CivilDate(dayNumber: dayNumber), to: date)
    }
}

/// The year and month parts of the dates met in one file (`YYYY-MM-` as a word), each with what
/// it says: the day number before the month's first day, `year * 12 + month` and the days of the
/// month. A `YYYY-MM-DD` cell whose first 8 bytes are in the table is read with its day's two
/// digits only; others go through `CivilDate.parseParts`, which fills the table. Review dates
/// and members' birth dates fall in a few hundred months, so the table is small and soon full.
final class DateMonths {
    /// Slots by the word's year and month (`slot`); 2 words each: the word (0: empty, as a
    /// date's word has dashes), then the day number before the month's first day in the low 32
    /// bits and `(year * 12 + month) << 5 | days of the month` in the high 32 bits.
    static let slotBits = 12
    private let slots: UnsafeMutablePointer<UInt64>
    private let years = CivilDate.YearStarts.shared

    init() {
        slots = .allocate(capacity: 2 << DateMonths.slotBits)
        slots.initialize(repeating: 0, count: 2 << DateMonths.slotBits)
    }

    deinit { slots.deallocate() }

    /// A date read from its digits: its day number, `year * 12 + month`, and its day.
    struct Date {
        let dayNumber: Int32
        let monthCount: Int
        let day: Int
    }

    /// The date of cell `p[0..<n]` (`YYYY-MM-DD`, or with `allowBareYear` a bare year as 1 July),
    /// nil exactly when `CivilDate.parseParts` gives nil. Reads 10 bytes from `p`.
    @inline(__always) func date(_ p: UnsafePointer<UInt8>, _ n: Int, allowBareYear: Bool) -> Date? {
        lookup.date(p, n, allowBareYear: allowBareYear)
    }

    /// The tables as plain values, for a loop over many cells: in locals, they are not loaded
    /// again through this object after every store of a decoded value.
    var lookup: Lookup { Lookup(slots: UnsafePointer(slots), days: DateMonths.dayDigits, months: .passUnretained(self)) }

    struct Lookup {
        let slots: UnsafePointer<UInt64>
        let days: UnsafePointer<UInt8>
        let months: Unmanaged<DateMonths>

        /// `DateMonths.date`.
        @inline(__always) func date(_ p: UnsafePointer<UInt8>, _ n: Int, allowBareYear: Bool) -> Date? {
            let w = UnsafeRawPointer(p).loadUnaligned(as: UInt64.self)
            let e = slots + DateMonths.slot(w)
            guard n == 10, e[0] == w else {
                return months._withUnsafeGuaranteedRef { $0.parse(p, n, allowBareYear: allowBareYear) }
            }
            return day(p, of: e)
        }

        /// `date` for a `YYYY-MM-DD` cell whose month is in the table, with no call; nil for any
        /// other cell (or a day its month does not have).
        @inline(__always) func knownMonthDate(_ p: UnsafePointer<UInt8>, _ n: Int) -> Date? {
            let w = UnsafeRawPointer(p).loadUnaligned(as: UInt64.self)
            let e = slots + DateMonths.slot(w)
            guard n == 10, e[0] == w else { return nil }
            return day(p, of: e)
        }

        /// The date of cell `p` whose month is slot `e`'s: the day from its two digits (0, no
        /// day, for other bytes), within its month.
        @inline(__always) private func day(_ p: UnsafePointer<UInt8>, of e: UnsafePointer<UInt64>) -> Date? {
            let day = Int(days[Int(UnsafeRawPointer(p).loadUnaligned(fromByteOffset: 8, as: UInt16.self))])
            let month = e[1] &>> 32
            guard UInt(bitPattern: day &- 1) < UInt(month & 0x1F) else { return nil }
            return Date(dayNumber: Int32(truncatingIfNeeded: e[1]) &+ Int32(truncatingIfNeeded: day),
                        monthCount: Int(truncatingIfNeeded: month &>> 5), day: day)
        }
    }

    /// The number of two ASCII digits by their bytes as a little-endian 16-bit word (the tens
    /// first), 0 for any other two bytes: a day's digits checked and read with one load.
    nonisolated(unsafe) static let dayDigits: UnsafePointer<UInt8> = {
        let table = UnsafeMutablePointer<UInt8>.allocate(capacity: 1 << 16)
        table.initialize(repeating: 0, count: 1 << 16)
        for tens in 0...9 {
            for units in 0...9 { table[(0x30 + tens) | (0x30 + units) << 8] = UInt8(tens * 10 + units) }
        }
        return UnsafePointer(table)
    }()

    /// The slot of a `YYYY-MM-` word: its months in order, 16 slots a year, the years of two
    /// centuries (19xx and 20xx, told apart by the low bit of the century digit) in order, so
    /// that the months of a column's dates (births over a century) take 100 years × 4 cache
    /// lines instead of a line a month scattered over the table by a hash. Any other word
    /// takes some slot too, which its word then does not match.
    @inline(__always) private static func slot(_ w: UInt64) -> Int {
        let century = (w &>> 8) & 1, tens = (w &>> 16) & 0xF, units = (w &>> 24) & 0xF
        let month = ((w &>> 40) & 1 &* 10 &+ (w &>> 48) & 0xF) & 0xF
        let year = (century &* 10 &+ tens) &* 10 &+ units
        return Int(truncatingIfNeeded: (year &<< 4 | month) & (1 &<< UInt64(slotBits) &- 1)) &* 2
    }

    /// `date` for a cell whose month is not in the table: read by `CivilDate.parseParts`, its
    /// month then put in the table.
    @inline(never) private func parse(_ p: UnsafePointer<UInt8>, _ n: Int, allowBareYear: Bool) -> Date? {
        let years = self.years
        guard let d = CivilDate.parseParts(p, n, allowBareYear: allowBareYear, days: years.dayNumber) else { return nil }
        if n == 10 {
            let w = UnsafeRawPointer(p).loadUnaligned(as: UInt64.self)
            let e = slots + DateMonths.slot(w)
            let monthStart = d.dayNumber &- Int32(d.day)
            let month = UInt64(d.year * 12 + d.month) << 5 | UInt64(CivilDate.daysInMonth(year: d.year, month: d.month))
            e[0] = w
            e[1] = month << 32 | UInt64(UInt32(bitPattern: monthStart))
        }
        return Date(dayNumber: d.dayNumber, monthCount: d.year * 12 + d.month, day: d.day)
    }
}
