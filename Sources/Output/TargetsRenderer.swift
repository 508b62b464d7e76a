import Engine
import RuleModel

/// Renders progress against a plan (povrules targets): each target overall and by village, and
/// with `lists` the households or members still short. Deterministic.
public struct TargetsRenderer {
    public let plan: Plan
    public let overall: [TargetTally]
    public let byVillage: [(String, [TargetTally])]
    public let lists: [[ShortEntry]]?
    public let language: Language
    public let withNames: Bool

    public init(plan: Plan, overall: [TargetTally], byVillage: [String: [TargetTally]], lists: [[ShortEntry]]?,
                language: Language, withNames: Bool) {
        self.plan = plan
        self.overall = overall
        self.byVillage = byVillage.keys.sorted().map { ($0, byVillage[$0]!) }
        self.lists = lists
        self.language = language
        self.withNames = withNames
    }

    var l: L { L(lang: language) }

    /// The overall measure of each target, in plan order.
    public var measures: [TargetMeasure] {
        plan.targets.indices.map { TargetMeasures.measure(plan.targets[$0], overall[$0], overall: true) }
    }

    /// Targets measured or reported and missed.
    public var missed: [PlanTarget] {
        zip(plan.targets, measures).filter { $0.1.met == false }.map(\.0)
    }

    func goalText(_ t: PlanTarget) -> String {
        switch t.goal {
        case .share(let g): return "≥ " + Num.percent(g, language)
        case .atLeast(let n): return "≥ " + Num.count(n, language)
        case .atMost(let n): return "≤ " + Num.count(n, language)
        case .reduceBy(let n): return l("giảm ", "fall ") + Num.count(n, language) + " " + unit(t)
        case .reduceRateBy(let g): return l("giảm ", "fall ") + NumberFormat.decimal(g * 100, language, fractionDigits: 2) + l(" điểm %", " pp")
        case .none: return "—"
        }
    }

    func goalMachine(_ t: PlanTarget) -> (String, String) {
        switch t.goal {
        case .share(let g): return ("share", Num.machine(g))
        case .atLeast(let n): return ("at_least", String(n))
        case .atMost(let n): return ("at_most", String(n))
        case .reduceBy(let n): return ("reduce_by", String(n))
        case .reduceRateBy(let g): return ("reduce_rate_by", Num.machine(g))
        case .none: return ("none", "")
        }
    }

    /// What the target counts (the plan's `unit:`, else households or people by level).
    func unit(_ t: PlanTarget) -> String { t.unit.label.text(language) }

    /// For machines: the unit's code, or the plan's own label in the output language.
    func unitMachine(_ t: PlanTarget) -> String { t.unit.code ?? t.unit.label.text(language) }

    func verdict(_ m: TargetMeasure) -> String {
        switch m.state {
        case .notMeasurable: return l("không đo được", "not measurable")
        case .measured, .reported:
            let suffix = m.state == .reported ? l(" (báo cáo)", " (reported)") : ""
            switch m.met {
            case true?: return l("đạt", "met") + suffix
            case false?: return l("chưa đạt", "missed") + suffix
            case nil: return m.state == .reported ? l("báo cáo", "reported") : "—"
            }
        }
    }

    func rateText(_ t: PlanTarget, _ m: TargetMeasure) -> String {
        guard let r = m.rate else { return "—" }
        switch t.goal {
        case .reduceBy, .reduceRateBy: return NumberFormat.decimal(r * 100, language, fractionDigits: 2) + l(" điểm %", " pp")
        default: return Num.percent(r, language)
        }
    }

    func numText(_ v: Double?) -> String {
        guard let v else { return "—" }
        return v == v.rounded() ? NumberFormat.integer(Int64(v), language) : Num.amount(v, language)
    }

    public func tables() -> [TextTable] {
        var main = TextTable(title: l("Tiến độ thực hiện chỉ tiêu — ", "Progress against the plan — ") + plan.title.text(language),
                             headers: ["#", l("Chỉ tiêu", "Target"), l("Mục tiêu", "Goal"), l("Tử số", "Numerator"), l("Mẫu số", "Denominator"),
                                       l("Tỷ lệ", "Rate"), l("Kết quả", "Result"), l("Còn thiếu", "Gap"), l("Đơn vị", "Unit")],
                             leftColumns: [0, 1, 6, 8])
        for (t, m) in zip(plan.targets, measures) {
            main.rows.append([t.id, t.label.text(language), goalText(t), numText(m.numerator), numText(m.denominator), rateText(t, m),
                              verdict(m), m.gap.map { Num.count($0, language) } ?? "—", unit(t)])
        }
        var villages = TextTable(title: l("Theo thôn", "By village"),
                                 headers: ["#", l("Thôn", "Village"), l("Tử số", "Numerator"), l("Mẫu số", "Denominator"), l("Tỷ lệ", "Rate"),
                                           l("Kết quả", "Result"), l("Còn thiếu", "Gap")],
                                 leftColumns: [0, 1, 5])
        for (k, t) in plan.targets.enumerated() where t.measurable {
            for (v, tallies) in byVillage {
                let m = TargetMeasures.measure(t, tallies[k], overall: false)
                villages.rows.append([t.id, v, numText(m.numerator), numText(m.denominator), rateText(t, m), verdict(m),
                                      m.gap.map { Num.count($0, language) } ?? "—"])
            }
        }
        var notes = TextTable(title: l("Nguồn và ghi chú", "Sources and notes"), headers: ["#", l("Văn bản kế hoạch", "Plan text"), l("Ghi chú", "Note")],
                              leftColumns: [0, 1, 2])
        for t in plan.targets {
            var note = t.note ?? ""
            if let r = t.reported {
                var s = l("Số báo cáo", "Reported figure")
                if let d = r.date { s += " \(d)" }
                if let src = r.source { s += " (\(src))" }
                note = note.isEmpty ? s : note + " — " + s
            }
            notes.rows.append([t.id, t.text, note])
        }
        var out = [main, villages, notes]
        if let lists {
            for (k, t) in plan.targets.enumerated() where t.measurable {
                var headers = [l("Mã hộ", "Household"), l("Thôn", "Village")]
                if t.level == .member { headers.append(l("Mã thành viên", "Member")) }
                if withNames && t.level == .member { headers.append(l("Họ và tên", "Name")) }
                var list = TextTable(title: l("Danh sách còn thiếu — ", "Still short — ") + t.id + " (" + Num.count(lists[k].count, language) + ")",
                                     headers: headers, leftColumns: Set(headers.indices))
                for e in lists[k] {
                    var row = [e.householdID, e.village]
                    if t.level == .member { row.append(e.memberID ?? "") }
                    if withNames && t.level == .member { row.append(e.name ?? "") }
                    list.rows.append(row)
                }
                out.append(list)
            }
        }
        return out
    }

    public func render(_ format: ReportFormat) -> String {
        switch format {
        case .table: return tables().map { $0.terminal() }.joined()
        case .markdown: return "## " + plan.title.text(language) + "\n\n" + l("Nguồn: ", "Source: ") + plan.source + "\n\n" + tables().map { $0.markdown() }.joined()
        case .csv: return csv()
        case .json: return json()
        }
    }

    func csv() -> String {
        var out: String
        if let lists {
            out = "target,household_id,village,member_id" + (withNames ? ",full_name" : "") + "\n"
            for (k, t) in plan.targets.enumerated() {
                for e in lists[k] {
                    var cells = [t.id, e.householdID, e.village, e.memberID ?? ""]
                    if withNames { cells.append(e.name ?? "") }
                    out += cells.map(CSVText.cell).joined(separator: ",") + "\n"
                }
            }
            return out
        }
        out = "target,village,level,state,goal_kind,goal,numerator,denominator,rate,met,gap,unit\n"
        func row(_ t: PlanTarget, _ village: String, _ m: TargetMeasure) {
            let (kind, goal) = goalMachine(t)
            let cells = [t.id, village, t.level.rawValue, m.state.rawValue, kind, goal,
                         m.numerator.map(Num.machine) ?? "", m.denominator.map(Num.machine) ?? "", m.rate.map(Num.machine) ?? "",
                         m.met.map { $0 ? "1" : "0" } ?? "", m.gap.map(String.init) ?? "", unitMachine(t)]
            out += cells.map(CSVText.cell).joined(separator: ",") + "\n"
        }
        for (k, t) in plan.targets.enumerated() {
            row(t, "", measures[k])
            if t.measurable {
                for (v, tallies) in byVillage { row(t, v, TargetMeasures.measure(t, tallies[k], overall: false)) }
            }
        }
        return out
    }

    func json() -> String {
        func measure(_ m: TargetMeasure) -> JSONObject {
            var o = JSONObject()
            o.add("state", .string(m.state.rawValue))
            o.add("numerator", Num.json(m.numerator))
            o.add("denominator", Num.json(m.denominator))
            o.add("rate", Num.json(m.rate))
            o.add("met", m.met.map(JSONValue.bool) ?? .null)
            o.add("gap", m.gap.map(JSONValue.int) ?? .null)
            o.add("missing_values", .int(m.tally.missing))
            return o
        }
        var root = JSONObject()
        root.add("plan", .string(plan.id))
        root.add("source", .string(plan.source))
        var targets: [JSONValue] = []
        for (k, t) in plan.targets.enumerated() {
            var o = JSONObject()
            o.add("id", .string(t.id))
            o.add("label", .string(t.label.text(language)))
            o.add("text", .string(t.text))
            o.add("level", .string(t.level.rawValue))
            o.add("unit", .string(unitMachine(t)))
            o.add("unit_label", .string(unit(t)))
            let (kind, goal) = goalMachine(t)
            var g = JSONObject()
            g.add("kind", .string(kind))
            g.add("value", goal.isEmpty ? .null : Num.json(Double(goal)))
            o.add("goal", .object(g))
            o.add("measurable", .bool(t.measurable))
            o.add("note", t.note.map(JSONValue.string) ?? .null)
            o.add("overall", .object(measure(measures[k])))
            if t.measurable {
                var v = JSONObject()
                for (name, tallies) in byVillage { v.add(name, .object(measure(TargetMeasures.measure(t, tallies[k], overall: false)))) }
                o.add("by_village", .object(v))
            }
            if let lists, t.measurable {
                o.add("short", .array(lists[k].map { e in
                    var s = JSONObject()
                    s.add("household_id", .string(e.householdID))
                    s.add("village", .string(e.village))
                    if let m = e.memberID { s.add("member_id", .string(m)) }
                    if withNames, let n = e.name { s.add("full_name", .string(n)) }
                    return .object(s)
                }))
            }
            targets.append(.object(o))
        }
        root.add("targets", .array(targets))
        return JSONValue.object(root).text + "\n"
    }
}
