/// Namespace of the discrete-event cluster simulator (see Sources/Simulator/README.md).
public enum SimulatorModule {
    /// Version of the simulator's output schema (JSON keys documented in docs/simulator.md).
    public static let schemaVersion = 1
}
