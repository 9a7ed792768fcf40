import ArgumentParser
import Simulator

/// Which K/V heads Ring Attention sends (`--ring-kv`).
public enum RingKV: String, CaseIterable, ExpressibleByArgument {
    /// n_h heads, as the paper's code.
    case expanded
    /// n_kv heads.
    case native
}

extension RingSimulation: ExpressibleByArgument {}
