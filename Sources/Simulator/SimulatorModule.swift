/// Namespace of the discrete-event cluster simulator (see Sources/Simulator/README.md).
public enum SimulatorModule {}
