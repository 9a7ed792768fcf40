/// Where a tensor lies in a .npy or .safetensors file: its dtype, shape and the absolute byte offset of its data
/// (C order, little endian). Found by `NPYFile.index` / `SafetensorsFile.index` from the file's header alone.
public struct StoredTensor: Equatable, Sendable {
    /// Element type of the stored data.
    public let dtype: DType
    /// Dimensions, outermost first (C order).
    public let shape: [Int]
    /// Offset of the first data byte from the start of the file.
    public let dataOffset: Int

    /// Bytes of data (shape x dtype size; checked against the file by the index functions).
    public var byteCount: Int { shape.reduce(dtype.byteSize, *) }
}
