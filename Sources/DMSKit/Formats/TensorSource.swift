/// Anything that hands out named tensors: a GGUF file or a set of safetensors shards.
public protocol TensorSource: AnyObject {
    func hasTensor(_ name: String) -> Bool
    func tensor(named name: String) throws -> TensorView
}
