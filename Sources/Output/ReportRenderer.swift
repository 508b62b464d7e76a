import Engine
import RuleModel

/// Renders an `AggregateReport` (povrules report) as an aligned table, CSV (one figure a row),
/// JSON or Markdown. Deterministic: the bytes depend only on the report.
public struct ReportRenderer {
    public let report: AggregateReport
    public let language: Language
    /// Status labels from the rules, by code.
    public let statusLabels: [String: Bilingual]

    public init(report: AggregateReport, language: Language, statusLabels: [String: Bilingual] = [:]) {
        self.report = report
        self.language = language
        self.statusLabels = statusLabels
    }

    var l: L { L(lang: language) }
    var groups: [GroupAggregate] { [report.overall] + report.groups }

    func groupName(_ g: GroupAggregate) -> String {
        g.key.isEmpty ? l("Toàn bộ", "All") : g.key.map { $0.isEmpty ? "—" : $0 }.joined(separator: " / ")
    }
    func status(_ code: String) -> String { statusLabels[code]?.text(language) ?? code }
    func indicator(_ j: Int) -> String { report.frame.labels[j].text(language) }

    public func render(_ format: ReportFormat) -> String {
        switch format {
        case .table: return title + "\n" + preamble.joined(separator: "\n") + "\n\n" + tables().map { $0.terminal() }.joined()
        case .markdown: return "## " + title + "\n\n" + preamble.map { "- " + $0 + "\n" }.joined() + "\n" + tables().map { $0.markdown() }.joined()
        case .csv: return csv()
        case .json: return json()
        }
    }

    var title: String { l("Báo cáo nghèo đa chiều", "Multidimensional poverty report") }

    var preamble: [String] {
        let f = report.frame
        var lines = [
            l("Bộ quy tắc: ", "Rule set: ") + f.ruleSet,
            l("Số hộ: ", "Households: ") + Num.count(report.overall.all.households, language)
                + l(", số người: ", ", people: ") + Num.count(report.overall.all.people, language),
            l("Alkire–Foster: \(f.ids.count) chỉ số, trọng số 1/\(f.ids.count), k = \(f.cutoffCount)/\(f.ids.count)",
              "Alkire–Foster: \(f.ids.count) indicators, weight 1/\(f.ids.count), k = \(f.cutoffCount)/\(f.ids.count)"),
        ]
        lines.append(report.weighted ? l("Có trọng số điều tra (cột weight): tỷ lệ và số ước tính theo trọng số", "Survey weights (column weight) applied: rates and estimates are weighted")
                                     : l("Không có trọng số điều tra: mỗi hộ tính 1", "No survey weights: each household counts 1"))
        if !report.groupBy.isEmpty { lines.append(l("Nhóm theo: ", "Grouped by: ") + report.groupBy.joined(separator: ", ")) }
        return lines
    }

    // MARK: Tables

    public func tables() -> [TextTable] {
        let f = report.frame
        var out: [TextTable] = []
        // 1. Official rates.
        var rates = TextTable(title: l("1. Tỷ lệ chính thức (theo hộ)", "1. Official rates (household-based)"),
                              headers: [l("Nhóm", "Group"), l("Số hộ", "Households"), l("Số người", "People")]
                                + ["poor", "near_poor", "average"].flatMap { [status($0), "%"] }
                                + [l("Nghèo đa chiều %", "Multidim. %"), l("Chưa xác định", "Undetermined")])
        if report.weighted { rates.headers.insert(l("Số hộ ước tính", "Est. households"), at: 2) }
        for g in groups {
            var row = [groupName(g), Num.count(g.all.households, language)]
            if report.weighted { row.append(Num.amount(g.all.weightedHouseholds, language)) }
            row.append(Num.count(g.all.people, language))
            for s in ["poor", "near_poor", "average"] {
                row.append(Num.count(g.tally(s).households, language))
                row.append(Num.percent(g.rate([s]), language))
            }
            row.append(Num.percent(g.rate(["poor", "near_poor"]), language))
            row.append(Num.count(g.tally("undetermined").households, language))
            rates.rows.append(row)
        }
        out.append(rates)

        // 2. Deprivation headcounts (whole survey).
        var dep = TextTable(title: l("2. Tỷ lệ hộ thiếu hụt từng chỉ số (toàn bộ)", "2. Share of households deprived on each indicator (all)"),
                            headers: [l("Chỉ số", "Indicator"), l("Chiều", "Dimension"), l("Mọi hộ", "All"), status("poor"), status("near_poor")],
                            leftColumns: [0, 1])
        for j in f.ids.indices {
            dep.rows.append([indicator(j), f.dimensionLabels[f.dimensionOf[j]].text(language), Num.percent(report.overall.headcountAll[j], language),
                             Num.percent(report.overall.headcountPoor[j], language), Num.percent(report.overall.headcountNearPoor[j], language)])
        }
        out.append(dep)

        // 3. AF summary by group, both variants.
        var af = TextTable(title: l("3. Chỉ số Alkire–Foster (H: tỷ lệ nghèo, A: cường độ, M0 = H × A)",
                                    "3. Alkire–Foster measures (H: headcount, A: intensity, M0 = H × A)"),
                           headers: [l("Nhóm", "Group"), l("Tỷ trọng hộ", "Household share")]
                            + AlkireFoster.Variant.allCases.flatMap { v in ["H", "A", "M0"].map { "\($0) \(variantName(v))" } })
        for g in groups {
            var row = [groupName(g), Num.percent(report.overall.all.weightedHouseholds > 0 ? g.all.weightedHouseholds / report.overall.all.weightedHouseholds : nil, language)]
            for v in AlkireFoster.Variant.allCases {
                let m = g.afMeasures(v)!
                row += [Num.percent(m.headcount, language), Num.percent(m.intensity, language), Num.ratio(m.adjustedHeadcount, language)]
            }
            af.rows.append(row)
        }
        out.append(af)

        // 4. Indicator detail, whole survey.
        for v in AlkireFoster.Variant.allCases {
            let m = report.overall.afMeasures(v)!
            var t = TextTable(title: l("4. Chỉ số theo từng chiều — biến thể ", "4. Indicators — variant ") + variantName(v)
                                + " (H = \(Num.percent(m.headcount, language)), A = \(Num.percent(m.intensity, language)), M0 = \(Num.ratio(m.adjustedHeadcount, language)))",
                              headers: [l("Chỉ số", "Indicator"), l("Chưa kiểm duyệt", "Uncensored"), l("Đã kiểm duyệt", "Censored"), l("Đóng góp vào M0", "Contribution to M0")])
            for j in f.ids.indices {
                t.rows.append([indicator(j), Num.percent(m.uncensored[j], language), Num.percent(m.censored[j], language), Num.percent(m.contribution[j], language)])
            }
            for (k, d) in f.dimensionLabels.enumerated() {
                t.rows.append([l("Chiều ", "Dimension ") + d.text(language), "", "", Num.percent(m.dimensionContribution[k], language)])
            }
            out.append(t)
        }

        // 5. Transitions.
        var tr = TextTable(title: l("5. Biến động so với kỳ trước (prior_status)", "5. Transitions from the previous review (prior_status)"),
                           headers: [l("Nhóm", "Group"), l("Nghèo kỳ trước", "Poor before"), l("Vẫn nghèo", "Stayed poor"), l("Thoát nghèo", "Left poverty"),
                                     l("Nghèo phát sinh", "Newly poor"), l("Tái nghèo", "Fell back"), l("Nghèo, không rõ kỳ trước", "Poor, no prior")])
        for g in groups {
            let t = g.transitions
            let before = (t.matrix["poor"] ?? [:]).values.reduce(0) { $0 + $1.households }
            tr.rows.append([groupName(g), Num.count(before, language), Num.count(t.stayedPoor.households, language), Num.count(t.leftPoverty.households, language),
                            Num.count(t.newlyPoor.households, language), Num.count(t.fellBack.households, language), Num.count(t.poorWithoutPrior.households, language)])
        }
        out.append(tr)

        // 6. The transition matrix, whole survey.
        var mx = TextTable(title: l("6. Ma trận chuyển đổi (hàng: kỳ trước, cột: hiện nay)", "6. Transition matrix (rows: previous, columns: now)"),
                           headers: [l("Kỳ trước", "Previous")] + report.statusOrder.map(status))
        for p in Transitions.priorCodes {
            let row = report.overall.transitions.matrix[p] ?? [:]
            mx.rows.append([p.isEmpty ? l("(không có)", "(none)") : status(p)] + report.statusOrder.map { Num.count(row[$0]?.households ?? 0, language) })
        }
        out.append(mx)
        return out
    }

    func variantName(_ v: AlkireFoster.Variant) -> String {
        switch v {
        case .pure: return l("thuần", "pure")
        case .national: return l("quốc gia", "national")
        }
    }

    // MARK: CSV: one figure per row

    func csv() -> String {
        var out = "group,section,measure,variant,item,value\n"
        func add(_ g: GroupAggregate, _ section: String, _ measure: String, _ variant: String = "", _ item: String = "", value: String) {
            out += [g.key.joined(separator: "/"), section, measure, variant, item, value].map(CSVText.cell).joined(separator: ",") + "\n"
        }
        let f = report.frame
        for g in groups {
            add(g, "counts", "households", value: String(g.all.households))
            add(g, "counts", "weighted_households", value: Num.machine(g.all.weightedHouseholds))
            add(g, "counts", "people", value: String(g.all.people))
            add(g, "counts", "weighted_people", value: Num.machine(g.all.weightedPeople))
            for s in report.statusOrder {
                add(g, "counts", "households", "", s, value: String(g.tally(s).households))
                add(g, "counts", "people", "", s, value: String(g.tally(s).people))
                add(g, "rates", "rate", "", s, value: Num.machine(g.rate([s])))
            }
            add(g, "rates", "rate", "", "multidimensional", value: Num.machine(g.rate(["poor", "near_poor"])))
            for j in f.ids.indices {
                add(g, "deprivation", "headcount_all", "", f.ids[j], value: Num.machine(g.headcountAll[j]))
                add(g, "deprivation", "headcount_poor", "", f.ids[j], value: Num.machine(g.headcountPoor[j]))
                add(g, "deprivation", "headcount_near_poor", "", f.ids[j], value: Num.machine(g.headcountNearPoor[j]))
            }
            for m in g.af {
                let v = m.variant.rawValue
                add(g, "af", "H", v, value: Num.machine(m.headcount))
                add(g, "af", "A", v, value: Num.machine(m.intensity))
                add(g, "af", "M0", v, value: Num.machine(m.adjustedHeadcount))
                add(g, "af", "poor_households", v, value: String(m.poorHouseholds))
                for j in f.ids.indices {
                    add(g, "af", "uncensored", v, f.ids[j], value: Num.machine(m.uncensored[j]))
                    add(g, "af", "censored", v, f.ids[j], value: Num.machine(m.censored[j]))
                    add(g, "af", "contribution", v, f.ids[j], value: Num.machine(m.contribution[j]))
                }
                for (k, d) in f.dimensionIDs.enumerated() { add(g, "af", "dimension_contribution", v, d, value: Num.machine(m.dimensionContribution[k])) }
            }
            let t = g.transitions
            add(g, "transitions", "stayed_poor", value: String(t.stayedPoor.households))
            add(g, "transitions", "left_poverty", value: String(t.leftPoverty.households))
            add(g, "transitions", "newly_poor", value: String(t.newlyPoor.households))
            add(g, "transitions", "fell_back", value: String(t.fellBack.households))
            add(g, "transitions", "poor_without_prior", value: String(t.poorWithoutPrior.households))
            for p in Transitions.priorCodes {
                for s in report.statusOrder {
                    add(g, "transitions", "matrix", p.isEmpty ? "none" : p, s, value: String(t.matrix[p]?[s]?.households ?? 0))
                }
            }
        }
        return out
    }

    // MARK: JSON

    func json() -> String {
        let f = report.frame
        var root = JSONObject()
        root.add("ruleset", .string(f.ruleSet))
        root.add("weighted", .bool(report.weighted))
        root.add("group_by", .array(report.groupBy.map(JSONValue.string)))
        var frame = JSONObject()
        frame.add("indicators", .array(f.ids.indices.map { j in
            var o = JSONObject()
            o.add("id", .string(f.ids[j]))
            o.add("dimension", .string(f.dimensionIDs[f.dimensionOf[j]]))
            o.add("weight", Num.json(f.weights[j]))
            return .object(o)
        }))
        frame.add("cutoff", Num.json(f.cutoff))
        frame.add("cutoff_count", .int(f.cutoffCount))
        root.add("frame", .object(frame))
        root.add("overall", group(report.overall))
        root.add("groups", .array(report.groups.map(group)))
        return JSONValue.object(root).text + "\n"
    }

    func tally(_ t: Tally) -> JSONValue {
        var o = JSONObject()
        o.add("households", .int(t.households))
        o.add("weighted_households", Num.json(t.weightedHouseholds))
        o.add("people", .int(t.people))
        o.add("weighted_people", Num.json(t.weightedPeople))
        return .object(o)
    }

    func group(_ g: GroupAggregate) -> JSONValue {
        let f = report.frame
        var o = JSONObject()
        o.add("key", .array(g.key.map(JSONValue.string)))
        o.add("all", tally(g.all))
        var classes = JSONObject()
        for s in report.statusOrder { classes.add(s, tally(g.tally(s))) }
        o.add("classes", .object(classes))
        var rates = JSONObject()
        for s in report.statusOrder { rates.add(s, Num.json(g.rate([s]))) }
        rates.add("multidimensional", Num.json(g.rate(["poor", "near_poor"])))
        o.add("rates", .object(rates))
        func byIndicator(_ v: [Double]) -> JSONValue {
            var m = JSONObject()
            for j in f.ids.indices { m.add(f.ids[j], Num.json(v[j])) }
            return .object(m)
        }
        var dep = JSONObject()
        dep.add("all", byIndicator(g.headcountAll))
        dep.add("poor", byIndicator(g.headcountPoor))
        dep.add("near_poor", byIndicator(g.headcountNearPoor))
        o.add("deprivation_headcount", .object(dep))
        var af = JSONObject()
        for m in g.af {
            var a = JSONObject()
            a.add("H", Num.json(m.headcount))
            a.add("A", Num.json(m.intensity))
            a.add("M0", Num.json(m.adjustedHeadcount))
            a.add("poor_households", .int(m.poorHouseholds))
            a.add("weighted_poor", Num.json(m.poor))
            a.add("uncensored", byIndicator(m.uncensored))
            a.add("censored", byIndicator(m.censored))
            a.add("contribution", byIndicator(m.contribution))
            var d = JSONObject()
            for (k, id) in f.dimensionIDs.enumerated() { d.add(id, Num.json(m.dimensionContribution[k])) }
            a.add("dimension_contribution", .object(d))
            af.add(m.variant.rawValue, .object(a))
        }
        o.add("alkire_foster", .object(af))
        var tr = JSONObject()
        tr.add("stayed_poor", tally(g.transitions.stayedPoor))
        tr.add("left_poverty", tally(g.transitions.leftPoverty))
        tr.add("newly_poor", tally(g.transitions.newlyPoor))
        tr.add("fell_back", tally(g.transitions.fellBack))
        tr.add("poor_without_prior", tally(g.transitions.poorWithoutPrior))
        var matrix = JSONObject()
        for p in Transitions.priorCodes {
            var row = JSONObject()
            for s in report.statusOrder { row.add(s, .int(g.transitions.matrix[p]?[s]?.households ?? 0)) }
            matrix.add(p.isEmpty ? "none" : p, .object(row))
        }
        tr.add("matrix", .object(matrix))
        o.add("transitions", .object(tr))
        return .object(o)
    }
}
