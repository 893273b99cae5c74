import Foundation

/// RoPE frequency scaling schemes found in Llama-family configs.
public enum RopeScaling: Sendable, Equatable {
    /// Positions divided by `factor`.
    case linear(factor: Double)
    /// Llama 3.1's smooth wavelength-dependent scaling.
    case llama3(factor: Double, lowFrequencyFactor: Double, highFrequencyFactor: Double, originalContextLength: Int)

    /// Inverse frequencies for a head of `dimension` values, as Hugging Face computes them (in f32).
    public static func inverseFrequencies(dimension: Int, theta: Double, scaling: RopeScaling?) -> [Float] {
        let half = dimension / 2
        var frequencies = (0..<half).map { i -> Float in
            // transformers: 1 / base ** (arange(0, dim, 2).float() / dim), evaluated in float32.
            let exponent = Float(2 * i) / Float(dimension)
            return 1 / powf(Float(theta), exponent)
        }
        switch scaling {
        case nil:
            break
        case .linear(let factor):
            frequencies = frequencies.map { $0 / Float(factor) }
        case .llama3(let factor, let low, let high, let original):
            let lowWavelength = Double(original) / low
            let highWavelength = Double(original) / high
            frequencies = frequencies.map { f in
                let wavelength = 2 * Double.pi / Double(f)
                if wavelength < highWavelength { return f }
                if wavelength > lowWavelength { return Float(Double(f) / factor) }
                let smooth = (Double(original) / wavelength - low) / (high - low)
                return Float((1 - smooth) * Double(f) / factor + smooth * Double(f))
            }
        }
        return frequencies
    }
}
