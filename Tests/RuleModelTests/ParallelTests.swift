import Dispatch
import Testing
@testable import RuleModel

/// `Parallel.map`, which parses rule files and builds rule sets on all cores, gives what `map`
/// gives, in the items' order, however long each item takes.
@Test func parallelMapIsMapInOrder() {
    for count in [0, 1, 2, 3, 20, 257] {
        let items = (0..<count).map { "item \($0)" }
        let parallel = Parallel.map(items) { item -> String in
            // Uneven work, so that items finish out of order.
            var spin = 0
            for i in 0..<(item.count * 997 % 5_000) { spin &+= i }
            return item.uppercased() + (spin < 0 ? "!" : "")
        }
        #expect(parallel == items.map { $0.uppercased() })
    }
}

/// `Later` gives what its work made, and a `Parallel.map` inside its work still gives `map`'s result.
@Test func laterGivesItsWorksResult() {
    let later = Later { Parallel.map(Array(0..<50)) { $0 * $0 } }
    let here = Parallel.map(Array(0..<50)) { $0 + 1 }
    #expect(later.value == (0..<50).map { $0 * $0 })
    #expect(later.value == (0..<50).map { $0 * $0 })
    #expect(here == (0..<50).map { $0 + 1 })
}
