/// Which Kullback–Leibler divergence between a student's and a teacher's next-token
/// distributions a distillation minimises.
public enum KLDirection: String, Codable, Sendable, CaseIterable {
    /// KL(student ‖ teacher), the DMS recipe's loss (mode-seeking).
    case studentTeacher = "student-teacher"
    /// KL(teacher ‖ student), the direction evaluations report as KL(full ‖ policy)
    /// (mass-covering).
    case teacherStudent = "teacher-student"
}
