/// Just enough JSON for `--stats`: objects, arrays, strings and integers, written with sorted
/// keys and two-space indentation, so the Compositor library needs no Foundation at all (an
/// embedder such as the wlcs module does not link it for one JSON file).
package enum JSON {
    case int(Int)
    case string(String)
    case array([JSON])
    case object([String: JSON])

    /// The document, pretty-printed, ending in a newline.
    package var text: String {
        var out = ""
        write(into: &out, indent: "")
        return out + "\n"
    }

    private func write(into out: inout String, indent: String) {
        let inner = indent + "  "
        switch self {
        case let .int(v):
            out += String(v)
        case let .string(s):
            JSON.quote(s, into: &out)
        case let .array(items):
            guard !items.isEmpty else { out += "[]"; return }
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += inner
                item.write(into: &out, indent: inner)
                out += i == items.count - 1 ? "\n" : ",\n"
            }
            out += indent + "]"
        case let .object(members):
            guard !members.isEmpty else { out += "{}"; return }
            out += "{\n"
            let keys = members.keys.sorted()
            for (i, key) in keys.enumerated() {
                out += inner
                JSON.quote(key, into: &out)
                out += " : "
                members[key]!.write(into: &out, indent: inner)
                out += i == keys.count - 1 ? "\n" : ",\n"
            }
            out += indent + "}"
        }
    }

    /// A JSON string literal (RFC 8259: quote, backslash and control characters escaped).
    private static func quote(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
