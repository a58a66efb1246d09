// strata/io/json.hpp — a small, strict JSON value type.
//
// Json holds one of: null, bool, number, string, array, object.
//   * Numbers are doubles; a number whose text was an integer (no fraction, no exponent)
//     that fits in int64 is kept exactly as an int64 (is_integer(), as_int()).
//   * Objects keep their members in insertion order; keys are unique.
//   * Strings hold UTF-8.
//
// Json::parse accepts exactly RFC 8259 JSON: no comments, no trailing commas, no leading
// zeros or '+', no NaN/Infinity, no control characters or invalid UTF-8 inside strings, no
// lone surrogate escapes, no duplicate object keys, nothing but whitespace after the value.
// \uXXXX escapes (surrogate pairs included) are decoded to UTF-8. Nesting deeper than
// Json::max_depth is rejected, so hostile input cannot exhaust the stack. Numbers outside
// the range of double are rejected. Every failure throws JsonParseError (a strata::Error)
// whose message and offset() give the byte offset in the text.
//
// dump() writes compact JSON that parse() reads back to an equal value: integers without
// exponent; doubles in the shortest form that round-trips, with ".0" added when that form
// looks like an integer (so 3.0 stays a double); strings with '"', '\\' and control
// characters escaped and valid UTF-8 written as is. Bytes of a string that are not valid
// UTF-8 are written as U+FFFD (the one case where the value read back differs), so the
// output is always valid JSON and valid UTF-8.
//
// Accessors (as_string(), operator[], ...) throw strata::Error naming the expected kind or
// the missing key. A Json cannot hold a non-finite number: Json(double) throws on NaN/inf.
#pragma once

#include <charconv>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "strata/core/error.hpp"
#include "strata/text/utf8.hpp"

namespace strata::io {

// Thrown by Json::parse. what() is "JSON parse error at byte OFFSET: REASON".
class JsonParseError : public Error {
public:
    JsonParseError(std::size_t offset, const std::string& reason)
        : Error("JSON parse error at byte " + std::to_string(offset) + ": " + reason),
          offset_(offset),
          reason_(reason) {}
    std::size_t offset() const noexcept { return offset_; }
    const std::string& reason() const noexcept { return reason_; }

private:
    std::size_t offset_;
    std::string reason_;
};

namespace detail {

// Length of the well-formed UTF-8 sequence starting at text[position], or 0 when it is
// ill-formed (text/utf8.hpp's reading of Unicode Table 3-7).
inline std::size_t utf8_sequence_length(std::string_view text, std::size_t position) noexcept {
    const auto sequence = text::read_utf8_sequence(text, position);
    return sequence.valid ? sequence.length : 0;
}

inline void append_utf8(std::string& out, std::uint32_t code_point) {
    const auto put = [&](std::uint32_t value) { out.push_back(static_cast<char>(value)); };
    if (code_point < 0x80) {
        put(code_point);
    } else if (code_point < 0x800) {
        put(0xC0 | (code_point >> 6));
        put(0x80 | (code_point & 0x3F));
    } else if (code_point < 0x10000) {
        put(0xE0 | (code_point >> 12));
        put(0x80 | ((code_point >> 6) & 0x3F));
        put(0x80 | (code_point & 0x3F));
    } else {
        put(0xF0 | (code_point >> 18));
        put(0x80 | ((code_point >> 12) & 0x3F));
        put(0x80 | ((code_point >> 6) & 0x3F));
        put(0x80 | (code_point & 0x3F));
    }
}

// Appends text as a quoted JSON string; ill-formed UTF-8 bytes become U+FFFD.
inline void append_json_string(std::string& out, std::string_view text) {
    static constexpr char hex_digits[] = "0123456789abcdef";
    out.push_back('"');
    std::size_t position = 0;
    while (position < text.size()) {
        const unsigned char byte = static_cast<unsigned char>(text[position]);
        if (byte >= 0x80) {
            const std::size_t length = utf8_sequence_length(text, position);
            if (length == 0) {
                out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
                ++position;
            } else {
                out.append(text, position, length);
                position += length;
            }
            continue;
        }
        switch (byte) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (byte < 0x20) {
                    out += "\\u00";
                    out.push_back(hex_digits[byte >> 4]);
                    out.push_back(hex_digits[byte & 0xF]);
                } else {
                    out.push_back(static_cast<char>(byte));
                }
        }
        ++position;
    }
    out.push_back('"');
}

template <class T>
concept JsonInteger = std::integral<T> && !std::same_as<T, bool> && !std::same_as<T, char> &&
                      !std::same_as<T, wchar_t> && !std::same_as<T, char8_t> &&
                      !std::same_as<T, char16_t> && !std::same_as<T, char32_t>;

class JsonParser;

}  // namespace detail

// True when text is well-formed UTF-8.
using text::is_valid_utf8;

// Returns text as a quoted, escaped JSON string (invalid UTF-8 bytes become U+FFFD).
inline std::string json_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    detail::append_json_string(out, text);
    return out;
}

class Json {
public:
    enum class Kind { null, boolean, number, string, array, object };
    struct Member;
    using Array = std::vector<Json>;
    using Object = std::vector<Member>;  // insertion order, unique keys

    static constexpr std::size_t max_depth = 256;

    // The constructors are defined below, where Member is complete.
    Json() noexcept;  // null
    Json(std::nullptr_t) noexcept;
    Json(bool value) noexcept;
    template <detail::JsonInteger Integer>
    Json(Integer value);  // throws when value does not fit in int64
    Json(double value);   // throws when value is NaN or infinite
    Json(const char* text);
    Json(std::string text) noexcept;
    Json(std::string_view text);
    Json(const volatile void*) = delete;  // keeps other pointers from silently becoming bool

    static Json array();
    static Json object();

    // Parses text as one JSON value; throws JsonParseError (see the contract above).
    static Json parse(std::string_view text);

    Kind kind() const noexcept;
    bool is_null() const noexcept { return kind() == Kind::null; }
    bool is_bool() const noexcept { return kind() == Kind::boolean; }
    bool is_number() const noexcept { return kind() == Kind::number; }
    bool is_integer() const noexcept { return std::holds_alternative<std::int64_t>(value_); }
    bool is_string() const noexcept { return kind() == Kind::string; }
    bool is_array() const noexcept { return kind() == Kind::array; }
    bool is_object() const noexcept { return kind() == Kind::object; }

    bool as_bool() const { return get<bool>("a bool"); }
    double as_number() const;
    std::int64_t as_int() const;  // only for numbers held exactly as int64 (is_integer())
    const std::string& as_string() const { return get<std::string>("a string"); }
    const Array& as_array() const { return get<Array>("an array"); }
    const Object& as_object() const { return get<Object>("an object"); }

    // Number of elements of an array or members of an object.
    std::size_t size() const;

    // Object lookup. find returns nullptr when the key is absent; operator[] throws
    // strata::Error naming the key. All throw when this is not an object.
    const Json* find(std::string_view key) const;
    bool contains(std::string_view key) const { return find(key) != nullptr; }
    const Json& operator[](std::string_view key) const;

    // Builders. push_back requires an array; set requires an object and replaces the
    // value of an existing key in place. Both return *this for chaining.
    Json& push_back(Json value);
    Json& set(std::string key, Json value);

    std::string dump() const;

    // Structural equality; order of object members matters, and the integer 1 differs
    // from the double 1.0.
    friend bool operator==(const Json&, const Json&) = default;

private:
    friend class detail::JsonParser;
    explicit Json(Array elements) noexcept;
    explicit Json(Object members) noexcept;

    template <class T>
    const T& get(const char* expected) const;
    static const char* kind_name(Kind kind) noexcept;
    void dump_to(std::string& out) const;

    std::variant<std::nullptr_t, bool, double, std::int64_t, std::string, Array, Object> value_;
};

struct Json::Member {
    std::string key;
    Json value;
    friend bool operator==(const Member&, const Member&) = default;
};

inline Json::Json() noexcept = default;
inline Json::Json(std::nullptr_t) noexcept {}
inline Json::Json(bool value) noexcept : value_(value) {}

template <detail::JsonInteger Integer>
Json::Json(Integer value) : value_(static_cast<std::int64_t>(value)) {
    if (!std::in_range<std::int64_t>(value)) {
        throw Error("JSON integer " + std::to_string(value) + " does not fit in int64");
    }
}

inline Json::Json(double value) : value_(value) {
    if (!std::isfinite(value)) {
        throw Error("JSON cannot represent the non-finite number " + std::to_string(value));
    }
}

inline Json::Json(const char* text) : value_(std::string(text)) {}
inline Json::Json(std::string text) noexcept : value_(std::move(text)) {}
inline Json::Json(std::string_view text) : value_(std::string(text)) {}
inline Json::Json(Array elements) noexcept : value_(std::move(elements)) {}
inline Json::Json(Object members) noexcept : value_(std::move(members)) {}

inline Json Json::array() { return Json(Array{}); }
inline Json Json::object() { return Json(Object{}); }

inline Json::Kind Json::kind() const noexcept {
    switch (value_.index()) {
        case 0: return Kind::null;
        case 1: return Kind::boolean;
        case 2:
        case 3: return Kind::number;
        case 4: return Kind::string;
        case 5: return Kind::array;
        default: return Kind::object;
    }
}

inline const char* Json::kind_name(Kind kind) noexcept {
    switch (kind) {
        case Kind::null: return "null";
        case Kind::boolean: return "a bool";
        case Kind::number: return "a number";
        case Kind::string: return "a string";
        case Kind::array: return "an array";
        case Kind::object: return "an object";
    }
    return "unknown";
}

template <class T>
const T& Json::get(const char* expected) const {
    const T* held = std::get_if<T>(&value_);
    if (held == nullptr) {
        throw Error(std::string("JSON value is ") + kind_name(kind()) + ", expected " + expected);
    }
    return *held;
}

inline double Json::as_number() const {
    if (const auto* integer = std::get_if<std::int64_t>(&value_)) {
        return static_cast<double>(*integer);
    }
    return get<double>("a number");
}

inline std::int64_t Json::as_int() const {
    if (const auto* integer = std::get_if<std::int64_t>(&value_)) return *integer;
    if (const auto* number = std::get_if<double>(&value_)) {
        throw Error("JSON number " + Json(*number).dump() +
                    " is not an integer that fits in int64");
    }
    return get<std::int64_t>("an integer");
}

inline std::size_t Json::size() const {
    if (const auto* elements = std::get_if<Array>(&value_)) return elements->size();
    if (const auto* members = std::get_if<Object>(&value_)) return members->size();
    throw Error(std::string("JSON value is ") + kind_name(kind()) +
                ", expected an array or an object");
}

inline const Json* Json::find(std::string_view key) const {
    for (const Member& member : as_object()) {
        if (member.key == key) return &member.value;
    }
    return nullptr;
}

inline const Json& Json::operator[](std::string_view key) const {
    const Json* value = find(key);
    if (value == nullptr) throw Error("JSON object has no key " + json_escape(key));
    return *value;
}

inline Json& Json::push_back(Json value) {
    get<Array>("an array");
    std::get<Array>(value_).push_back(std::move(value));
    return *this;
}

inline Json& Json::set(std::string key, Json value) {
    get<Object>("an object");
    Object& members = std::get<Object>(value_);
    for (Member& member : members) {
        if (member.key == key) {
            member.value = std::move(value);
            return *this;
        }
    }
    members.push_back(Member{std::move(key), std::move(value)});
    return *this;
}

inline std::string Json::dump() const {
    std::string out;
    dump_to(out);
    return out;
}

inline void Json::dump_to(std::string& out) const {
    char digits[32];
    switch (value_.index()) {
        case 0: out += "null"; return;
        case 1: out += std::get<bool>(value_) ? "true" : "false"; return;
        case 2: {
            const auto result =
                std::to_chars(digits, digits + sizeof digits, std::get<double>(value_));
            const std::string_view text(digits, static_cast<std::size_t>(result.ptr - digits));
            out += text;
            if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
            return;
        }
        case 3: {
            const auto result =
                std::to_chars(digits, digits + sizeof digits, std::get<std::int64_t>(value_));
            out.append(digits, result.ptr);
            return;
        }
        case 4: detail::append_json_string(out, std::get<std::string>(value_)); return;
        case 5: {
            out.push_back('[');
            bool first = true;
            for (const Json& element : std::get<Array>(value_)) {
                if (!first) out.push_back(',');
                first = false;
                element.dump_to(out);
            }
            out.push_back(']');
            return;
        }
        default: {
            out.push_back('{');
            bool first = true;
            for (const Member& member : std::get<Object>(value_)) {
                if (!first) out.push_back(',');
                first = false;
                detail::append_json_string(out, member.key);
                out.push_back(':');
                member.value.dump_to(out);
            }
            out.push_back('}');
            return;
        }
    }
}

namespace detail {

class JsonParser {
public:
    explicit JsonParser(std::string_view text) noexcept : text_(text) {}

    Json parse_document() {
        Json value = parse_value(0);
        skip_whitespace();
        if (position_ != text_.size()) fail("unexpected text after the JSON value");
        return value;
    }

private:
    [[noreturn]] void fail(const std::string& reason) const { fail_at(position_, reason); }
    [[noreturn]] static void fail_at(std::size_t offset, const std::string& reason) {
        throw JsonParseError(offset, reason);
    }

    bool at_end() const noexcept { return position_ >= text_.size(); }
    char peek() const noexcept { return text_[position_]; }

    void skip_whitespace() noexcept {
        while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) {
            ++position_;
        }
    }

    static std::string describe(char character) {
        const auto byte = static_cast<unsigned char>(character);
        if (byte >= 0x20 && byte < 0x7F) return std::string("'") + character + "'";
        static constexpr char hex_digits[] = "0123456789ABCDEF";
        return std::string("byte 0x") + hex_digits[byte >> 4] + hex_digits[byte & 0xF];
    }

    void expect_literal(std::string_view literal) {
        if (text_.substr(position_, literal.size()) != literal) {
            fail("invalid literal (expected '" + std::string(literal) + "')");
        }
        position_ += literal.size();
    }

    Json parse_value(std::size_t depth) {
        skip_whitespace();
        if (at_end()) fail("unexpected end of input, expected a value");
        switch (peek()) {
            case '{': return parse_object(depth + 1);
            case '[': return parse_array(depth + 1);
            case '"': return Json(parse_string());
            case 't': expect_literal("true"); return Json(true);
            case 'f': expect_literal("false"); return Json(false);
            case 'n': expect_literal("null"); return Json();
            default:
                if (peek() == '-' || (peek() >= '0' && peek() <= '9')) return parse_number();
                fail("unexpected " + describe(peek()) + ", expected a value");
        }
    }

    void check_depth(std::size_t depth) const {
        if (depth > Json::max_depth) {
            fail("nesting deeper than " + std::to_string(Json::max_depth) + " levels");
        }
    }

    Json parse_array(std::size_t depth) {
        check_depth(depth);
        ++position_;  // '['
        Json::Array elements;
        skip_whitespace();
        if (!at_end() && peek() == ']') {
            ++position_;
            return Json(std::move(elements));
        }
        while (true) {
            elements.push_back(parse_value(depth));
            skip_whitespace();
            if (at_end()) fail("unexpected end of input, expected ',' or ']' in array");
            if (peek() == ']') {
                ++position_;
                return Json(std::move(elements));
            }
            if (peek() != ',') {
                fail("unexpected " + describe(peek()) + ", expected ',' or ']' in array");
            }
            ++position_;
        }
    }

    Json parse_object(std::size_t depth) {
        check_depth(depth);
        ++position_;  // '{'
        Json::Object members;
        std::unordered_set<std::string> keys;
        skip_whitespace();
        if (!at_end() && peek() == '}') {
            ++position_;
            return Json(std::move(members));
        }
        while (true) {
            skip_whitespace();
            if (at_end()) fail("unexpected end of input, expected an object key");
            if (peek() != '"') {
                fail("unexpected " + describe(peek()) + ", expected an object key string");
            }
            const std::size_t key_offset = position_;
            std::string key = parse_string();
            if (!keys.insert(key).second) {
                fail_at(key_offset, "duplicate object key " + json_escape(key));
            }
            skip_whitespace();
            if (at_end() || peek() != ':') fail("expected ':' after object key");
            ++position_;
            Json value = parse_value(depth);
            members.push_back(Json::Member{std::move(key), std::move(value)});
            skip_whitespace();
            if (at_end()) fail("unexpected end of input, expected ',' or '}' in object");
            if (peek() == '}') {
                ++position_;
                return Json(std::move(members));
            }
            if (peek() != ',') {
                fail("unexpected " + describe(peek()) + ", expected ',' or '}' in object");
            }
            ++position_;
        }
    }

    std::uint32_t parse_hex4() {
        if (text_.size() - position_ < 4) fail("unexpected end of input in \\u escape");
        std::uint32_t value = 0;
        for (int digit = 0; digit < 4; ++digit) {
            const char character = peek();
            value <<= 4;
            if (character >= '0' && character <= '9') {
                value |= static_cast<std::uint32_t>(character - '0');
            } else if (character >= 'a' && character <= 'f') {
                value |= static_cast<std::uint32_t>(character - 'a' + 10);
            } else if (character >= 'A' && character <= 'F') {
                value |= static_cast<std::uint32_t>(character - 'A' + 10);
            } else {
                fail("invalid hex digit " + describe(character) + " in \\u escape");
            }
            ++position_;
        }
        return value;
    }

    // position_ is at "\u"; decodes one escape, or a surrogate pair, to a code point.
    std::uint32_t parse_unicode_escape() {
        const std::size_t escape_offset = position_;
        position_ += 2;
        const std::uint32_t unit = parse_hex4();
        if (unit >= 0xDC00 && unit <= 0xDFFF) {
            fail_at(escape_offset, "lone low surrogate in \\u escape");
        }
        if (unit < 0xD800 || unit > 0xDBFF) return unit;
        if (text_.substr(position_, 2) != "\\u") {
            fail_at(escape_offset, "high surrogate \\u escape not followed by a low surrogate");
        }
        position_ += 2;
        const std::uint32_t low = parse_hex4();
        if (low < 0xDC00 || low > 0xDFFF) {
            fail_at(escape_offset, "high surrogate \\u escape not followed by a low surrogate");
        }
        return 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
    }

    std::string parse_string() {
        const std::size_t start = position_;
        ++position_;  // '"'
        std::string out;
        while (true) {
            if (at_end()) {
                fail("unterminated string (started at byte " + std::to_string(start) + ")");
            }
            const auto byte = static_cast<unsigned char>(peek());
            if (byte == '"') {
                ++position_;
                return out;
            }
            if (byte < 0x20) fail("unescaped control character " + describe(peek()) + " in string");
            if (byte >= 0x80) {
                const std::size_t length = utf8_sequence_length(text_, position_);
                if (length == 0) fail("invalid UTF-8 in string");
                out.append(text_, position_, length);
                position_ += length;
                continue;
            }
            if (byte != '\\') {
                out.push_back(peek());
                ++position_;
                continue;
            }
            if (position_ + 1 >= text_.size()) {
                fail("unterminated string (started at byte " + std::to_string(start) + ")");
            }
            const char escape = text_[position_ + 1];
            switch (escape) {
                case '"': out.push_back('"'); break;
                case '\\': out.push_back('\\'); break;
                case '/': out.push_back('/'); break;
                case 'b': out.push_back('\b'); break;
                case 'f': out.push_back('\f'); break;
                case 'n': out.push_back('\n'); break;
                case 'r': out.push_back('\r'); break;
                case 't': out.push_back('\t'); break;
                case 'u': append_utf8(out, parse_unicode_escape()); continue;
                default: fail("invalid escape '\\" + std::string(1, escape) + "' in string");
            }
            position_ += 2;
        }
    }

    Json parse_number() {
        const std::size_t start = position_;
        const auto is_digit = [&] { return !at_end() && peek() >= '0' && peek() <= '9'; };
        const auto skip_digits = [&] {
            while (is_digit()) ++position_;
        };
        if (peek() == '-') ++position_;
        if (!is_digit()) fail("expected a digit in number");
        if (peek() == '0') {
            ++position_;
            if (is_digit()) fail_at(start, "leading zero in number");
        } else {
            skip_digits();
        }
        bool integral = true;
        if (!at_end() && peek() == '.') {
            integral = false;
            ++position_;
            if (!is_digit()) fail("expected a digit after the decimal point");
            skip_digits();
        }
        if (!at_end() && (peek() == 'e' || peek() == 'E')) {
            integral = false;
            ++position_;
            if (!at_end() && (peek() == '+' || peek() == '-')) ++position_;
            if (!is_digit()) fail("expected a digit in exponent");
            skip_digits();
        }
        const char* first = text_.data() + start;
        const char* last = text_.data() + position_;
        if (integral) {
            std::int64_t integer = 0;
            const auto result = std::from_chars(first, last, integer);
            if (result.ec == std::errc() && result.ptr == last) return Json(integer);
        }
        double number = 0.0;
        const auto result = std::from_chars(first, last, number);
        if (result.ec != std::errc() || result.ptr != last || !std::isfinite(number)) {
            fail_at(start, "number " + std::string(first, last) + " is out of the range of double");
        }
        return Json(number);
    }

    std::string_view text_;
    std::size_t position_ = 0;
};

}  // namespace detail

inline Json Json::parse(std::string_view text) { return detail::JsonParser(text).parse_document(); }

}  // namespace strata::io
