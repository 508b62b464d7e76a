import CEL
import RuleModel

/// Why a household got its status, indicator by indicator, with each rule's citation, in the
/// officer's language.
public enum Explanation {
    public static func render(_ r: HouseholdResult, language lang: Language) -> String {
        let set = r.rules.ruleSet
        let vi = lang == .vi
        var out: [String] = []
        let classLabel = set.classes.first { $0.id == r.status }?.label.text(lang) ?? r.status
        out.append(vi ? "Hộ \(r.householdID) (\(r.village), \(areaName(r.area, lang))): \(classLabel)"
                      : "Household \(r.householdID) (\(r.village), \(areaName(r.area, lang))): \(classLabel)")
        out.append(vi ? "Bộ quy tắc \(set.reference): \(set.title.vi); ngày tham chiếu \(r.referenceDate)"
                      : "Rule set \(set.reference): \(set.title.en); reference date \(r.referenceDate)")
        out.append("")
        out.append(incomeLine(r, lang))
        if let t = set.incomeTest { out.append("  " + (vi ? "Căn cứ: " : "Source: ") + "\(t.source) [\(t.status.rawValue)]") }
        let total = set.indicators.count
        out.append(vi ? "Số chỉ số thiếu hụt: \(r.deprivationCount)/\(total)" : "Deprivations: \(r.deprivationCount) of \(total)")
        out.append("")
        out.append(vi ? "Từng chỉ số:" : "Indicator by indicator:")
        for (i, ind) in set.indicators.enumerated() {
            let mark: String
            if r.unknownIndicators.contains(i) { mark = "[?]" } else { mark = r.deprived[i] ? "[x]" : "[ ]" }
            let state: String
            if r.unknownIndicators.contains(i) {
                state = vi ? "thiếu dữ liệu, chưa xác định" : "data missing, unknown"
            } else {
                state = r.deprived[i] ? (vi ? "thiếu hụt" : "deprived") : (vi ? "không thiếu hụt" : "not deprived")
            }
            let reason = r.reasons[i][vi ? 0 : 1]
            out.append("  \(mark) \(ind.label.text(lang)): \(state)\(reason.isEmpty ? "" : " — " + reason)")
            out.append("      \(vi ? "Căn cứ" : "Source"): \(ind.source) [\(ind.status.rawValue)]")
        }
        out.append("")
        if let c = set.classes.first(where: { $0.id == r.status }) {
            out.append((vi ? "Phân loại: " : "Class: ") + "\(c.label.text(lang)) — \(vi ? "điều kiện" : "rule") `\(c.when.value)`"
                       + (c.source.map { " (\($0))" } ?? ""))
        } else if r.status == "undetermined" {
            out.append(vi ? "Phân loại: chưa xác định vì thiếu dữ liệu của chỉ số đánh dấu [?]" : "Class: undetermined, because data of the indicators marked [?] is missing")
        }
        out.append((vi ? "Mới thoát nghèo: " : "Newly escaped: ") + (r.newlyEscaped ? (vi ? "có" : "yes") : (vi ? "không" : "no")))
        return out.joined(separator: "\n") + "\n"
    }

    static func areaName(_ code: String, _ lang: Language) -> String {
        switch (code, lang) {
        case ("rural", .vi): return "nông thôn"
        case ("urban", .vi): return "thành thị"
        default: return code
        }
    }

    /// "thu nhập bình quân 1.620.000 đ, cao hơn chuẩn 1.500.000 đ là 120.000 đ".
    static func incomeLine(_ r: HouseholdResult, _ lang: Language) -> String {
        let vi = lang == .vi
        var parts: [String] = []
        if case .int(let score)? = r.scoreAmount, case .int(let line)? = r.scoreLine {
            let cmp = compare(score, line, unit: "", lang, what: vi ? "ngưỡng" : "the threshold")
            parts.append(vi ? "điểm A \(score), \(cmp) (điểm A quyết định phép thử thu nhập)" : "score A \(score), \(cmp) (score A decides the income test)")
        }
        if case .int(let amount)? = r.incomeAmount, case .int(let line)? = r.incomeLine {
            let money = NumberFormat.integer(amount, lang) + (vi ? " đ" : " VND")
            parts.append((vi ? "thu nhập bình quân " : "income per person ") + money + ", " +
                         compare(amount, line, unit: vi ? " đ" : " VND", lang, what: vi ? "chuẩn" : "the line"))
        } else if r.incomeAmount == nil || r.incomeAmount == .null {
            parts.append(vi ? "không có số liệu thu nhập bình quân" : "no income figure")
        }
        let verdict = r.incomeBelowLine ? (vi ? "không cao hơn chuẩn nghèo" : "at or below the poverty line")
                                        : (vi ? "cao hơn chuẩn nghèo" : "above the poverty line")
        return (vi ? "Thu nhập: " : "Income: ") + parts.joined(separator: "; ") + " → " + verdict
    }

    static func compare(_ a: Int64, _ line: Int64, unit: String, _ lang: Language, what: String) -> String {
        let vi = lang == .vi
        let l = NumberFormat.integer(line, lang) + unit
        let d = NumberFormat.integer(abs(a - line), lang) + unit
        if a > line { return vi ? "cao hơn \(what) \(l) là \(d)" : "\(d) above \(what) of \(l)" }
        if a < line { return vi ? "thấp hơn \(what) \(l) là \(d)" : "\(d) below \(what) of \(l)" }
        return vi ? "bằng \(what) \(l)" : "equal to \(what) of \(l)"
    }
}
