/// Structured up-down routing for a `FatTreeSpec` network: a route is computed in O(hops) from the endpoints'
/// positions, with no search and no per-pair table (the `FlowScheduler` caches the routes of the pairs in use).
///
/// - Same server: GPU -> NVSwitch -> GPU.
/// - Other servers: the NIC is the destination GPU's rail when the fabric is rail-optimised (NCCL's PXN: a GPU on
///   another rail first crosses NVLink, GPU -> NVSwitch -> NIC), else the source GPU's own NIC; then up to the lowest
///   common tier and down: NIC -> leaf [-> spine [-> core -> spine]] -> leaf -> NIC -> GPU.
/// - ECMP: the uplink choices are fixed per (source node, destination node) pair by a hash, h = splitmix64(src << 32 |
///   dst): spine `h % u1` of the pod, core `(h / u1) % u2` of that spine's group. Deterministic across runs and
///   platforms; two pairs may hash onto the same uplink and then share it (max-min fair), as on a real fabric.
public struct FatTreeRouting: Sendable {
    let gpusPerNode: Int, servers: Int, railOptimised: Bool, tiers: Int
    let d1: Int, u1: Int, d2: Int, u2: Int
    /// Node ids: NVSwitch per server (-1 with one GPU per server), NIC per (server, GPU index), the first leaf, spine
    /// and core of each plane. Spines and cores of a plane are consecutive.
    var nvswitch: [Int32] = [], nic: [Int32] = []
    var leafBase: [Int32] = [], spineBase: [Int32] = [], coreBase: [Int32] = []
    var firstGPUNode = 0

    init(spec: FatTreeSpec, shape: FatTreeSpec.Shape) {
        gpusPerNode = spec.gpusPerNode
        servers = spec.nodes
        railOptimised = spec.railOptimised
        tiers = spec.tiers.count
        d1 = shape.down[0]
        u1 = shape.up[0]
        d2 = shape.down.count > 1 ? shape.down[1] : 0
        u2 = shape.up.count > 1 ? shape.up[1] : 0
        nvswitch.reserveCapacity(spec.nodes)
        nic.reserveCapacity(spec.nodes * spec.gpusPerNode)
    }

    /// The ECMP hash of a (source, destination) node pair (splitmix64's finaliser).
    public static func hash(_ source: Int, _ destination: Int) -> UInt64 {
        var z = UInt64(UInt32(truncatingIfNeeded: source)) << 32 | UInt64(UInt32(truncatingIfNeeded: destination))
        z &+= 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// (server, GPU index) of a GPU node, or nil. Servers are laid out first: [NVSwitch], then (GPU, NIC) per GPU.
    func position(ofGPU node: Int) -> (server: Int, index: Int)? {
        let block = (gpusPerNode > 1 ? 1 : 0) + 2 * gpusPerNode
        guard node >= 0 else { return nil }
        let server = node / block
        let r = node % block - (gpusPerNode > 1 ? 1 : 0)
        guard server < servers, r >= 0, r % 2 == 0 else { return nil }
        return (server, r / 2)
    }

    /// The node path between two GPU nodes, or nil when either is not a GPU of this fabric.
    func nodePath(from source: Int, to destination: Int) -> [Int]? {
        guard let a = position(ofGPU: source), let b = position(ofGPU: destination) else { return nil }
        if a.server == b.server {
            return gpusPerNode > 1 ? [source, Int(nvswitch[a.server]), destination] : nil
        }
        let g = gpusPerNode
        let rail = railOptimised ? b.index : a.index
        var path = [source]
        if rail != a.index { path.append(Int(nvswitch[a.server])) }  // PXN over NVLink to the destination's rail
        let nicA = Int(nic[a.server * g + rail]), nicB = Int(nic[b.server * g + b.index])
        path.append(nicA)
        let plane = railOptimised ? rail : 0
        let endpointA = railOptimised ? a.server : a.server * g + rail
        let endpointB = railOptimised ? b.server : b.server * g + b.index
        let leafA = endpointA / d1, leafB = endpointB / d1
        let leafBase = Int(self.leafBase[plane]), spineBase = Int(self.spineBase[plane])
        path.append(leafBase + leafA)
        if leafA != leafB {
            let h = Self.hash(source, destination)
            let j = Int(h % UInt64(u1))
            if tiers == 2 {
                path.append(spineBase + j)
            } else {
                let podA = leafA / d2, podB = leafB / d2
                path.append(spineBase + podA * u1 + j)
                if podA != podB {
                    let k = Int((h / UInt64(u1)) % UInt64(u2))
                    path.append(Int(coreBase[plane]) + j * u2 + k)
                    path.append(spineBase + podB * u1 + j)
                }
            }
            path.append(leafBase + leafB)
        }
        path.append(nicB)
        path.append(destination)
        return path
    }
}

extension Network {
    /// The link from `a` to `b` (the first in insertion order), or nil.
    func link(from a: Int, to b: Int) -> Int? {
        outgoing[a].first { links[$0].to == b }
    }
}
