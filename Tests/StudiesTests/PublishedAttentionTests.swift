import Foundation
import Simulator
import Testing

@testable import Studies

/// Meta's context-parallel attention measurements against the simulator (`PublishedAttentionValidation`): the fit
/// reproduces its calibration rows and only them, and each prediction agrees with a closed form written out here.
@Suite("Published context-parallel attention")
struct PublishedAttentionTests {
    typealias V = PublishedAttentionValidation

    func row(_ q: V.Quantity, cp: Int, batch: Int = 1, new: Int = 0, _ variant: V.Variant = .passQ) throws
        -> V.Measurement
    {
        try #require(
            V.all.first {
                $0.quantity == q && $0.cp == cp && $0.batch == batch && $0.newTokens == new && $0.variant == variant
            })
    }

    /// One calibration row per parameter, each reproduced; the held-out rows do not move the fit.
    @Test func calibrationRowsSetTheParametersAndOnlyThey() throws {
        let result = try V.run()
        let calibration = result.rows.filter { $0.measurement.split == .calibration }
        #expect(calibration.count == 6)
        for r in calibration { #expect(abs(r.error) < 1e-3, "\(r.measurement.quantity): \(r.error)") }
        let skewed = V.all.map { m -> V.Measurement in
            var m = m
            if m.split == .heldOut { m.measured *= 3 }
            return m
        }
        #expect(try V.fit(skewed) == result.parameters)
        #expect(throws: StudyError.self) { try V.fit(V.all.filter { $0.split == .heldOut }) }
    }

    /// Closed forms: prefill attention 4 (T/N) (P+T)/N d n_h / (800 TF/s x eta); the decode kernel c + 2 b t d e /
    /// (2.4 TB/s x eta_mem) (plus its query and partials, under 0.2%); a pass-KV step alpha + chunk / (eta x 50 GB/s) plus
    /// the path's latencies (under 1%); the decode query ring's N-1 steps, each one CP2 step.
    @Test func predictionsFollowTheirClosedForms() throws {
        let p = try V.fit()
        let attention = try row(.prefillAttention, cp: 4, new: 12800, .passKV)
        let flops = 4.0 * 3200 * 32000 * 128 * 16
        #expect(close(try V.predict(attention, p), flops / (800e12 * p.attentionEfficiency), tolerance: 1e-9))
        for (cp, batch) in [(1, 1), (4, 1), (2, 4)] {
            let m = try row(.decodeAttention, cp: cp, batch: batch)
            let tokens = Double(m.context / cp)
            let expected = p.kernelCost.seconds + 2 * Double(batch) * tokens * 128 * 2 / (2.4e12 * p.memoryEfficiency)
            let predicted = try V.predict(m, p)
            #expect(close(predicted, expected, tolerance: 2e-3), "cp \(cp) batch \(batch): \(predicted) vs \(expected)")
        }
        let step = try row(.prefillSendRecv, cp: 4, new: 12800, .passKV)
        let chunk = 2.0 * 32000 * 128 * 2
        let bound = p.messageOverhead.seconds + chunk / (p.linkEfficiency * 50e9)
        let predicted = try V.predict(step, p)
        #expect(predicted >= bound && predicted < bound * 1.01, "\(predicted) vs \(bound)")
        let two = try V.predict(try row(.decodeSendRecv, cp: 2), p)
        #expect(close(try V.predict(try row(.decodeSendRecv, cp: 4), p), 3 * two, tolerance: 0.02))
    }

    /// The whole pass-Q decode is its parts in sequence: N kernels, N-1 query steps, the all-to-all.
    @Test func wholeDecodeIsItsParts() throws {
        let p = try V.fit()
        for cp in [2, 4] {
            let parts = try [V.Quantity.decodeAttention, .decodeSendRecv, .decodeAllToAll].map {
                try V.predict(try row($0, cp: cp), p) * ($0 == .decodeAttention ? Double(cp) : 1)
            }
            let whole = try V.predict(try row(.decodePassQ, cp: cp), p)
            #expect(close(whole, parts.reduce(0, +), tolerance: 0.02), "cp \(cp): \(whole) vs \(parts)")
        }
    }
}
