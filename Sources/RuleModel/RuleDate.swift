/// A calendar date in a rule file (effective dates of rule sets and parameter values).
public struct RuleDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month),
              (1...RuleDate.daysIn(month: month, year: year)).contains(day) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Parses `YYYY-MM-DD`; the failure says what is wrong, and spots a swapped day and month.
    public static func parse(_ s: String) -> Result<RuleDate, DateProblem> {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]) else {
            return .failure(DateProblem(text: s, reason: "is not a date in the form YYYY-MM-DD"))
        }
        if let date = RuleDate(year: y, month: m, day: d) { return .success(date) }
        if m > 12, d <= 12, RuleDate(year: y, month: d, day: m) != nil {
            return .failure(DateProblem(text: s, reason: "is not a valid date: month \(m) does not exist (day and month swapped? the form is YYYY-MM-DD)"))
        }
        if !(1...12).contains(m) {
            return .failure(DateProblem(text: s, reason: "is not a valid date: month \(m) does not exist"))
        }
        return .failure(DateProblem(text: s, reason: "is not a valid date: \(RuleDate.monthName(m)) \(y) has \(RuleDate.daysIn(month: m, year: y)) days"))
    }

    static func monthName(_ m: Int) -> String {
        ["January", "February", "March", "April", "May", "June", "July", "August", "September",
         "October", "November", "December"][m - 1]
    }

    public static func < (a: RuleDate, b: RuleDate) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }

    public var description: String {
        func pad(_ v: Int, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    /// The day before, for gap checks between consecutive periods.
    public var previousDay: RuleDate {
        if day > 1 { return RuleDate(year: year, month: month, day: day - 1)! }
        if month > 1 { return RuleDate(year: year, month: month - 1, day: RuleDate.daysIn(month: month - 1, year: year))! }
        return RuleDate(year: year - 1, month: 12, day: 31)!
    }

    public var nextDay: RuleDate {
        if day < RuleDate.daysIn(month: month, year: year) { return RuleDate(year: year, month: month, day: day + 1)! }
        if month < 12 { return RuleDate(year: year, month: month + 1, day: 1)! }
        return RuleDate(year: year + 1, month: 1, day: 1)!
    }
}

public struct DateProblem: Error, Sendable, CustomStringConvertible {
    public let text: String
    public let reason: String
    public var description: String { "'\(text)' \(reason)" }
}

/// An effective period; `to` is inclusive and open-ended when nil.
public struct Period: Hashable, Sendable, CustomStringConvertible {
    public var from: RuleDate
    public var to: RuleDate?

    public init(from: RuleDate, to: RuleDate?) {
        self.from = from
        self.to = to
    }

    public func contains(_ d: RuleDate) -> Bool {
        d >= from && (to.map { d <= $0 } ?? true)
    }

    public func overlaps(_ other: Period) -> Bool {
        let aEndsBeforeB = to.map { $0 < other.from } ?? false
        let bEndsBeforeA = other.to.map { $0 < from } ?? false
        return !aEndsBeforeB && !bEndsBeforeA
    }

    public var description: String { "\(from) – \(to.map(\.description) ?? "…")" }
}
