extension GGUFFile: TensorSource {}
extension SafetensorsFile: TensorSource {}
extension SafetensorsModelFiles: TensorSource {}
