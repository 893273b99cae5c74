extension LoadedModel {
    /// The model's chat template, or a clear error when it has none or an unrecognised one.
    public func chatTemplate() throws -> ChatTemplate {
        try tokenizer.makeChatTemplate()
    }
}
