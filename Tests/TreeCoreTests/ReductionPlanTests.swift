import Testing
import TreeCore

/// The pinned tree shapes that both the reference's merge and the simulator's `plan:` collectives follow.
@Suite struct ReductionPlanTests {
    @Test func planShapesArePinned() throws {
        #expect(
            try ReductionPlan(leaves: 5, shape: .binary).levels == [
                [], [[0, 1], [2, 3], [4]], [[0, 1], [2]], [[0, 1]],
            ])
        #expect(
            try ReductionPlan(leaves: 7, shape: .kary(3)).levels == [[], [[0, 1, 2], [3, 4, 5], [6]], [[0, 1, 2]]])
        #expect(
            try ReductionPlan(leaves: 10, shape: .twoLevel(groupSize: 4)).levels == [
                [], [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]], [[0, 1, 2]],
            ])
        #expect(try ReductionPlan(leaves: 4, shape: .twoLevel(groupSize: 4)).levels == [[], [[0, 1, 2, 3]]])
        #expect(try ReductionPlan(leaves: 1, shape: .binary).depth == 0)
        #expect(try ReductionPlan(leaves: 17, shape: .binary).depth == 5)
        #expect(try ReductionPlan.parseShape("kary:4") == .kary(4))
        #expect(throws: CoreError.self) { try ReductionPlan.parseShape("kary:1") }
        #expect(throws: CoreError.self) { try ReductionPlan.parseShape("star") }
        // Empty text (found by python/fuzz.py: `--reduction ""` trapped on an index out of range).
        for text in ["", ":", "kary:", ":4", "two-level:"] {
            #expect(throws: CoreError.self) { try ReductionPlan.parseShape(text) }
        }
        #expect(throws: CoreError.self) { try ReductionPlan(leaves: 0, shape: .binary) }
    }

    @Test func drawingShowsEveryMergeUnderItsParent() throws {
        let plan = try ReductionPlan(leaves: 5, shape: .binary)
        let text = plan.drawing { level, node in "L\(level).\(node)" }
        #expect(
            text == """
                L3.0
                ├── L2.0
                │   ├── L1.0
                │   │   ├── L0.0
                │   │   └── L0.1
                │   └── L1.1
                │       ├── L0.2
                │       └── L0.3
                └── L2.1
                    └── L1.2
                        └── L0.4
                """)
        #expect(plan.leaves(level: 2, node: 0) == [0, 1, 2, 3])
        #expect(try ReductionPlan(leaves: 1, shape: .binary).drawing { _, _ in "only" } == "only")
    }
}
