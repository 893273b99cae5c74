/// How a matrix product takes its input rows when the weights are quantized.
public enum ActivationPrecision: String, Sendable, CaseIterable {
    /// Inputs stay f32: results are the dequantized weights' products, to f32 rounding.
    case float32 = "f32"
    /// Inputs are quantized to 8 bits per token and 32-column block, as llama.cpp quantizes
    /// activations, and multiplied in integers where the CPU has 8-bit dot products (AVX-512
    /// VNNI) and the weights are Q8_0, Q4_0 or Q4_1: several times faster for batches and prefill,
    /// with that rounding's error (at most half a step of 1/127 of each block's largest input),
    /// and each token's results independent of the batch it runs in. Otherwise as `float32`.
    case int8
}
