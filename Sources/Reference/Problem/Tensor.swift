/// A dense, row-major (C order) n-dimensional array: the one container the reference computes on.
public struct Tensor<Element> {
    /// Dimensions, outermost first.
    public private(set) var shape: [Int]
    /// The elements in row-major order; as many as the product of `shape`.
    public var data: [Element]

    /// Wraps `data` whose count must equal the product of `shape`.
    public init(shape: [Int], data: [Element]) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw ReferenceError.shape("negative dimension in \(shape)")
        }
        let count = Tensor.elementCount(shape)
        guard count == data.count else {
            throw ReferenceError.shape("shape \(shape) needs \(count) elements, got \(data.count)")
        }
        self.shape = shape
        self.data = data
    }

    /// A tensor of `shape` filled with `value`.
    public init(shape: [Int], repeating value: Element) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension")
        self.shape = shape
        self.data = Array(repeating: value, count: Tensor.elementCount(shape))
    }

    /// Number of elements.
    public var count: Int { data.count }
    /// Number of axes.
    public var rank: Int { shape.count }

    /// Row-major strides in elements.
    public var strides: [Int] {
        var result = Array(repeating: 1, count: shape.count)
        var step = 1
        for axis in (0..<shape.count).reversed() {
            result[axis] = step
            step *= shape[axis]
        }
        return result
    }

    /// The product of the dimensions (1 for an empty shape).
    public static func elementCount(_ shape: [Int]) -> Int {
        shape.reduce(1, *)
    }

    /// The flat index of a multi-index.
    @inlinable
    public func offset(_ index: [Int]) -> Int {
        var flat = 0
        for (axis, i) in index.enumerated() { flat = flat * shape[axis] + i }
        return flat
    }

    /// The element at a multi-index, one index per axis (not checked per axis).
    public subscript(_ index: Int...) -> Element {
        get { data[offset(index)] }
        set { data[offset(index)] = newValue }
    }

    /// Same data, new shape with the same element count.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        try Tensor(shape: newShape, data: data)
    }

    /// Applies `transform` to every element.
    public func map<T>(_ transform: (Element) throws -> T) rethrows -> Tensor<T> {
        // The shape is unchanged, so this cannot fail.
        try! Tensor<T>(shape: shape, data: data.map(transform))
    }

    /// Swaps axes 1 and 2 of a rank-4 tensor: (b, h, s, d) <-> (b, s, h, d).
    public func swappingAxes12() -> Tensor {
        precondition(rank == 4, "swappingAxes12 needs a rank-4 tensor")
        let (a, b, c, d) = (shape[0], shape[1], shape[2], shape[3])
        var out = data
        for i in 0..<a {
            for j in 0..<b {
                for k in 0..<c {
                    let src = ((i * b + j) * c + k) * d
                    let dst = ((i * c + k) * b + j) * d
                    for l in 0..<d { out[dst + l] = data[src + l] }
                }
            }
        }
        return try! Tensor(shape: [a, c, b, d], data: out)
    }
}

extension Tensor: Equatable where Element: Equatable {}
extension Tensor: Sendable where Element: Sendable {}
