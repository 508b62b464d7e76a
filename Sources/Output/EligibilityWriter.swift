import Engine
import RuleModel

/// Writes eligibility results (data-contract.md §2): one row per person and programme that
/// applies, `household_id, member_id, program, eligible, priority, band, reason`.
public struct EligibilityWriter {
    public enum Format: String, Sendable, CaseIterable { case csv, jsonl }

    public static let columns = ["household_id", "member_id", "program", "eligible", "priority", "band", "reason"]

    public let format: Format
    public init(format: Format = .csv) { self.format = format }

    public func header() -> String? {
        format == .csv ? Self.columns.joined(separator: ",") + "\n" : nil
    }

    /// The rows of the results that apply, in their order; empty for results out of scope.
    public func rows(_ results: [EligibilityResult]) -> String {
        var out = ""
        for r in results where r.applies { out += row(r) }
        return out
    }

    public func row(_ r: EligibilityResult) -> String {
        switch format {
        case .csv:
            return [r.householdID, r.memberID, r.program, r.eligible ? "1" : "0", r.priority, r.band, r.reason]
                .map(CSVText.cell).joined(separator: ",") + "\n"
        case .jsonl:
            var o = JSONObject()
            o.add("household_id", .string(r.householdID))
            o.add("member_id", .string(r.memberID))
            o.add("program", .string(r.program))
            o.add("eligible", .int(r.eligible ? 1 : 0))
            o.add("priority", .string(r.priority))
            o.add("band", .string(r.band))
            o.add("path", .string(r.path))
            o.add("reason", .string(r.reason))
            return JSONValue.object(o).text + "\n"
        }
    }
}
