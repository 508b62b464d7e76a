import Foundation
import Testing
@testable import Engine

/// `firstRange(ofASCII:)`, which splits explanation templates at their holes, finds what
/// Foundation's `range(of:)` (its former search) finds.
@Test func templateMarkersAreFoundAsFoundationFindsThem() {
    let texts = [
        "", "{", "}", "{{", "}}", "{{}}", "{{{x}}}", "a{b}c{{d}}e", "thu nhập {{ h.income_per_capita }} đồng",
        "Hộ có {{members}} thành viên", "{{a}} và {{b}}", "không có lỗ", "{{ unclosed", "x }} y {{",
        "đ{{ô}}ng", "{ {", "} }", "{{{{", "}}}}", "ệ}}", "{{ệ",
    ]
    for text in texts {
        for start in 0...text.count {
            let slice = Substring(text).dropFirst(start)
            for marker in ["{{", "}}"] as [StaticString] {
                let mine = slice.firstRange(ofASCII: marker)
                let theirs = slice.range(of: marker.description)
                #expect(mine == theirs, "\(marker) in '\(slice)'")
            }
        }
    }
}
