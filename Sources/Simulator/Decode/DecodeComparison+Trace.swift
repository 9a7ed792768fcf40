extension DecodeComparison {
    /// A Chrome/Perfetto trace of every strategy that kept its execution (a comparison run with `recording`): one
    /// section per strategy (named with the step for backward and training steps), one track per device.
    public func trace() -> ChromeTrace {
        var t = ChromeTrace()
        for r in reports {
            guard let e = r.execution else { continue }
            let names = (0..<r.gpus).map { model.cluster.network.nodes[model.cluster.gpus[$0]].name }
            t.add(
                e, section: r.step == .forward ? r.strategy : "\(r.strategy) (\(r.step.rawValue))", deviceNames: names)
        }
        return t
    }
}
