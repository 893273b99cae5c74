import CDMSKernels

extension Kernels {
    /// KL(softmax(student) ‖ softmax(teacher)) over `count` logits (double precision), or with
    /// `direction: .teacherStudent` KL(softmax(teacher) ‖ softmax(student)), with its gradient
    /// with respect to the student logits written to `gradient` (which must not alias either
    /// input).
    @inlinable public static func klDivergence(
        student: UnsafePointer<Float>, teacher: UnsafePointer<Float>, count: Int,
        gradient: UnsafeMutablePointer<Float>, direction: KLDirection = .studentTeacher
    ) -> Double {
        switch direction {
        case .studentTeacher: dms_kl_divergence(student, teacher, Int64(count), gradient)
        case .teacherStudent: dms_kl_divergence_forward(student, teacher, Int64(count), gradient)
        }
    }

    /// Backward of `rmsNorm` for one row: `inputGradient += ∂/∂input`, and when given,
    /// `weightGradient += outputGradient * input / rms(input)`.
    @inlinable public static func rmsNormBackward(
        _ input: UnsafePointer<Float>, weight: UnsafePointer<Float>?, outputGradient: UnsafePointer<Float>,
        count: Int, epsilon: Float, inputGradient: UnsafeMutablePointer<Float>,
        weightGradient: UnsafeMutablePointer<Float>?
    ) {
        dms_rmsnorm_backward(input, weight, outputGradient, Int64(count), epsilon, inputGradient, weightGradient)
    }

    /// Backward of `swiglu`: overwrites `gateGradient` (may be `outputGradient`) and `upGradient`.
    @inlinable public static func swigluBackward(
        gate: UnsafePointer<Float>, up: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>, count: Int,
        gateGradient: UnsafeMutablePointer<Float>, upGradient: UnsafeMutablePointer<Float>
    ) {
        dms_swiglu_backward(gate, up, outputGradient, Int64(count), gateGradient, upGradient)
    }
}
