import DMSKit

/// f32 transposes of a model's frozen matrices for the backward pass: the gradient with respect
/// to a layer's input is `Wᵀ · dy`, which the inference mat-mul computes when given `Wᵀ` as its
/// weight matrix. The values are the dequantized weights, so gradients are exact for the model
/// as it runs (quantization included).
final class TransposedWeights {
    struct Layer {
        let query, key, value, output, gate, up, down: LinearWeight.Transpose
    }
    let layers: [Layer]
    let vocabulary: LinearWeight.Transpose

    init(_ weights: ModelWeights) {
        layers = weights.layers.map { w in
            Layer(query: w.query.transposed(), key: w.key.transposed(), value: w.value.transposed(),
                  output: w.output.transposed(), gate: w.gate.transposed(), up: w.up.transposed(),
                  down: w.down.transposed())
        }
        vocabulary = weights.output.transposed()
    }
}

extension LinearWeight {
    /// `Wᵀ` as a dense f32 `[columns][rows]` matrix.
    final class Transpose {
        let values: [Float]
        let rows: Int
        let columns: Int

        init(values: [Float], rows: Int, columns: Int) {
            self.values = values
            self.rows = rows
            self.columns = columns
        }

        /// `output[t] = Wᵀ · input[t]`: `input` is `[tokens][rows of W]`, `output` `[tokens][columns of W]`.
        func apply(_ input: UnsafePointer<Float>, tokens: Int, into output: UnsafeMutablePointer<Float>, pool: WorkerPool?) {
            values.withUnsafeBytes { w in
                Kernels.matmul(pool: pool, type: .f32, weights: w.baseAddress!, rows: rows, columns: columns,
                               input: input, tokens: tokens, output: output)
            }
        }
    }

    func transposed() -> Transpose {
        var values = [Float](repeating: 0, count: rows * columns)
        var row = [Float](repeating: 0, count: columns)
        values.withUnsafeMutableBufferPointer { t in
            row.withUnsafeMutableBufferPointer { r in
                for i in 0..<rows {
                    self.row(i, into: r.baseAddress!)
                    for j in 0..<columns { t[j * rows + i] = r[j] }
                }
            }
        }
        return Transpose(values: values, rows: columns, columns: rows)
    }
}
