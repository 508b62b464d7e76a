import CEL
import RuleModel

/// Numbers and lists as a reader of each language expects them: Vietnamese groups thousands with
/// '.' and writes decimals with ','; English uses ',' and '.'.
public enum NumberFormat {
    public static func integer(_ v: Int64, _ language: Language) -> String {
        let sep: Character = language == .vi ? "." : ","
        let digits = String(v.magnitude)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(sep) }
            out.append(ch)
        }
        return v < 0 ? "-" + out : out
    }

    public static func decimal(_ v: Double, _ language: Language, fractionDigits: Int = 2) -> String {
        var scale = 1.0
        for _ in 0..<fractionDigits { scale *= 10 }
        let rounded = (v * scale).rounded() / scale
        let whole = Int64(rounded.rounded(.towardZero))
        var frac = Int64(((abs(rounded) - Double(abs(whole))) * scale).rounded())
        var fracText = ""
        if frac > 0 {
            fracText = String(frac)
            while fracText.count < fractionDigits { fracText = "0" + fracText }
            while fracText.hasSuffix("0") { fracText.removeLast() }
            frac = 0
        }
        let sign = v < 0 && whole == 0 ? "-" : ""
        let head = sign + integer(whole, language)
        return fracText.isEmpty ? head : head + (language == .vi ? "," : ".") + fracText
    }

    public static func text(_ v: Value, _ language: Language) -> String {
        switch v {
        case .int(let i): return integer(i, language)
        case .uint(let u): return integer(Int64(clamping: u), language)
        case .double(let d): return decimal(d, language)
        case .string(let s): return s
        case .bool(let b): return language == .vi ? (b ? "có" : "không") : (b ? "yes" : "no")
        case .list(let l): return l.elements.map { text($0, language) }.joined(separator: ", ")
        case .null: return ""
        default: return v.description
        }
    }

    /// "thành viên 2, 3" / "members 2, 3".
    public static func memberList(_ ids: [String], _ language: Language) -> String {
        switch language {
        case .vi: return "thành viên " + ids.joined(separator: ", ")
        case .en: return (ids.count == 1 ? "member " : "members ") + ids.joined(separator: ", ")
        }
    }
}
