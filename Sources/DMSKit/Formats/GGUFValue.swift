/// One metadata value of a GGUF file, in the file's own type.
///
/// The accessors convert loosely (any integer type to `Int`, any number to `Double`) because
/// writers disagree about widths: the same key is `uint32` in one file and `int32` or `uint64` in
/// another.
public enum GGUFValue: Sendable {
    case uint8(UInt8)
    case int8(Int8)
    case uint16(UInt16)
    case int16(Int16)
    case uint32(UInt32)
    case int32(Int32)
    case uint64(UInt64)
    case int64(Int64)
    case float32(Float)
    case float64(Double)
    case bool(Bool)
    case string(String)
    case array([GGUFValue])

    /// The string, if this is a string.
    public var string: String? {
        if case let .string(value) = self { return value }
        return nil
    }

    /// The value of any integer type, or nil if it is not an integer or does not fit in `Int`.
    public var int: Int? {
        switch self {
        case let .uint8(v): return Int(v)
        case let .int8(v): return Int(v)
        case let .uint16(v): return Int(v)
        case let .int16(v): return Int(v)
        case let .uint32(v): return Int(exactly: v)
        case let .int32(v): return Int(v)
        case let .uint64(v): return Int(exactly: v)
        case let .int64(v): return Int(exactly: v)
        default: return nil
        }
    }

    /// The value of any floating-point or integer type as a `Double`.
    public var double: Double? {
        switch self {
        case let .float32(v): return Double(v)
        case let .float64(v): return v
        case let .uint64(v): return Double(v)
        case let .int64(v): return Double(v)
        default: return int.map(Double.init)
        }
    }

    /// The flag, if this is a bool.
    public var bool: Bool? {
        if case let .bool(value) = self { return value }
        return nil
    }

    /// The elements, if this is an array.
    public var array: [GGUFValue]? {
        if case let .array(value) = self { return value }
        return nil
    }

    /// The elements, if this is an array of strings only.
    public var stringArray: [String]? {
        guard let array else { return nil }
        var result: [String] = []
        result.reserveCapacity(array.count)
        for element in array {
            guard let value = element.string else { return nil }
            result.append(value)
        }
        return result
    }

    /// The elements, if this is an array of integers that all fit in `Int`.
    public var intArray: [Int]? {
        guard let array else { return nil }
        var result: [Int] = []
        result.reserveCapacity(array.count)
        for element in array {
            guard let value = element.int else { return nil }
            result.append(value)
        }
        return result
    }

    /// The elements, if this is an array of numbers.
    public var doubleArray: [Double]? {
        guard let array else { return nil }
        var result: [Double] = []
        result.reserveCapacity(array.count)
        for element in array {
            guard let value = element.double else { return nil }
            result.append(value)
        }
        return result
    }
}
