/// The chat template formats ``ChatTemplate`` renders.
public enum ChatTemplateFamily: String, Sendable, Hashable {
    /// Plain ChatML: `<|im_start|>{role}\n{content}<|im_end|>\n` per message.
    case chatML
    /// ChatML with a default system message when the conversation has none (SmolLM2-Instruct).
    case chatMLWithDefaultSystem
    /// Qwen3's hybrid-thinking ChatML (`enable_thinking`, reasoning stripped from earlier turns).
    case qwen3
}
