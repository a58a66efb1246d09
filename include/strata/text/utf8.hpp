// strata/text/utf8.hpp — UTF-8 validation and repair.
//
// Accepts any bytes. A byte string is valid UTF-8 when it is a sequence of well-formed
// code-unit sequences as in the Unicode Standard, Table 3-7: no overlong forms, no
// surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequences.
//
//   is_valid_utf8(text)       true when the whole of text is valid UTF-8.
//   first_invalid_utf8(text)  the byte offset of the first ill-formed sequence, or
//                             std::string_view::npos when there is none.
//   sanitize_utf8(text)       text with every maximal ill-formed subpart replaced by
//                             U+FFFD (the W3C/WHATWG "substitution of maximal subparts"
//                             practice), so the result is always valid UTF-8; valid input
//                             comes back unchanged.
//
// Nothing here throws except std::bad_alloc from sanitize_utf8.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace strata::text {

// How the sequence starting at one byte offset reads: its length in bytes and whether it
// is well formed. For an ill-formed sequence, length is its maximal subpart (at least 1):
// the lead byte plus the continuation bytes that were still acceptable.
struct Utf8Sequence {
    std::size_t length;
    bool valid;
};

// Reads the sequence starting at text[position]; requires position < text.size().
constexpr Utf8Sequence read_utf8_sequence(std::string_view text, std::size_t position) noexcept {
    const auto byte_at = [&](std::size_t offset) {
        return static_cast<unsigned char>(text[position + offset]);
    };
    const unsigned char lead = byte_at(0);
    if (lead < 0x80) return {1, true};

    // Per lead byte: the number of continuation bytes, and the allowed range of the first
    // one (narrowed to exclude overlongs, surrogates and code points above U+10FFFF).
    std::size_t continuation_count = 0;
    unsigned char second_min = 0x80;
    unsigned char second_max = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        continuation_count = 1;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        continuation_count = 2;
        if (lead == 0xE0) second_min = 0xA0;  // overlong below U+0800
        if (lead == 0xED) second_max = 0x9F;  // surrogates U+D800..U+DFFF
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        continuation_count = 3;
        if (lead == 0xF0) second_min = 0x90;  // overlong below U+10000
        if (lead == 0xF4) second_max = 0x8F;  // above U+10FFFF
    } else {
        return {1, false};  // a continuation byte, C0, C1 or F5..FF
    }

    for (std::size_t index = 1; index <= continuation_count; ++index) {
        if (position + index >= text.size()) return {index, false};
        const unsigned char byte = byte_at(index);
        const unsigned char min = index == 1 ? second_min : 0x80;
        const unsigned char max = index == 1 ? second_max : 0xBF;
        if (byte < min || byte > max) return {index, false};
    }
    return {continuation_count + 1, true};
}

constexpr std::size_t first_invalid_utf8(std::string_view text) noexcept {
    std::size_t position = 0;
    while (position < text.size()) {
        // Fast path for ASCII, which is most of what we read.
        if (static_cast<unsigned char>(text[position]) < 0x80) {
            ++position;
            continue;
        }
        const Utf8Sequence sequence = read_utf8_sequence(text, position);
        if (!sequence.valid) return position;
        position += sequence.length;
    }
    return std::string_view::npos;
}

constexpr bool is_valid_utf8(std::string_view text) noexcept {
    return first_invalid_utf8(text) == std::string_view::npos;
}

inline std::string sanitize_utf8(std::string_view text) {
    constexpr std::string_view replacement_character = "\xEF\xBF\xBD";  // U+FFFD
    std::string result;
    result.reserve(text.size());
    std::size_t position = 0;
    while (position < text.size()) {
        const Utf8Sequence sequence = read_utf8_sequence(text, position);
        if (sequence.valid) {
            result.append(text.substr(position, sequence.length));
        } else {
            result.append(replacement_character);
        }
        position += sequence.length;
    }
    return result;
}

}  // namespace strata::text
