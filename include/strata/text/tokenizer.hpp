// strata/text/tokenizer.hpp — text to tokens, exactly as SEED_MODEL.md "Text → token ids".
//
// Accepts any bytes (invalid UTF-8, NULs, arbitrarily long text) and never throws except
// std::bad_alloc. The rules:
//   1. ASCII letters are lower-cased; every other byte is kept as it is.
//   2. The text is split into chunks on the six ASCII white-space bytes (space, \t, \n,
//      \v, \f, \r). A chunk starting with "http://", "https://" or "www." is the single
//      token <url>. A chunk "@name" (name: one or more of [a-z0-9_]) is <user> followed by
//      the tokens of the rest of the chunk, cut by rule 3 on its own ("@bob:" → <user> :).
//   3. Any other chunk (or rest of a chunk) is cut into tokens: a maximal run of word
//      characters — a-z, 0-9, any byte >= 0x80, and ' or ` standing between two word
//      characters, with ` rewritten to ' — is one token; every other byte is a token of
//      its own, a run of the same byte being one token ("!!!" → "!"). "_" is not a word
//      character; a lone "@" or "@" not followed by a name byte falls to this rule.
// Tokens are never empty; a text of only white space has no tokens. The vocabulary and
// the T_max cut are applied later (vocabulary.hpp).
//
// for_each_token(text, visit) calls visit(std::string_view token) for each token in order
// without building a vector; the view is valid only during the call. tokenize(text)
// collects the tokens as strings.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace strata::text {

inline constexpr std::string_view kPadToken = "<pad>";
inline constexpr std::string_view kUnkToken = "<unk>";
inline constexpr std::string_view kUrlToken = "<url>";
inline constexpr std::string_view kUserToken = "<user>";

namespace detail {

constexpr char to_ascii_lower(char byte) noexcept {
    return byte >= 'A' && byte <= 'Z' ? static_cast<char>(byte - 'A' + 'a') : byte;
}

// The white space of C's isspace in the "C" locale.
constexpr bool is_white_space(char byte) noexcept {
    return byte == ' ' || (byte >= '\t' && byte <= '\r');
}

// a-z (after lower-casing, so A-Z too), 0-9, and every byte >= 0x80.
constexpr bool is_word_byte(char byte) noexcept {
    const char lower = to_ascii_lower(byte);
    return (lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9') ||
           static_cast<unsigned char>(byte) >= 0x80;
}

constexpr bool is_name_byte(char byte) noexcept {
    const char lower = to_ascii_lower(byte);
    return (lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9') || lower == '_';
}

constexpr bool starts_with_ignoring_ascii_case(std::string_view text,
                                               std::string_view lower_prefix) noexcept {
    if (text.size() < lower_prefix.size()) return false;
    for (std::size_t index = 0; index < lower_prefix.size(); ++index) {
        if (to_ascii_lower(text[index]) != lower_prefix[index]) return false;
    }
    return true;
}

// Rule 3 over one piece of a chunk. word_buffer is scratch space for word tokens, which
// differ from their source bytes (lower-casing, ` → ').
template <class Visitor>
void cut_piece(std::string_view piece, std::string& word_buffer, Visitor& visit) {
    std::size_t position = 0;
    while (position < piece.size()) {
        if (is_word_byte(piece[position])) {
            word_buffer.clear();
            while (true) {
                word_buffer.push_back(to_ascii_lower(piece[position]));
                ++position;
                if (position == piece.size()) break;
                if (is_word_byte(piece[position])) continue;
                const bool is_apostrophe = piece[position] == '\'' || piece[position] == '`';
                if (is_apostrophe && position + 1 < piece.size() &&
                    is_word_byte(piece[position + 1])) {
                    word_buffer.push_back('\'');
                    ++position;
                    continue;
                }
                break;
            }
            visit(std::string_view(word_buffer));
        } else {
            // Not a letter, so lower-casing leaves it alone.
            const std::size_t run_start = position;
            while (position < piece.size() && piece[position] == piece[run_start]) ++position;
            visit(piece.substr(run_start, 1));
        }
    }
}

}  // namespace detail

template <class Visitor>
void for_each_token(std::string_view text, Visitor&& visit) {
    std::string word_buffer;
    std::size_t position = 0;
    while (position < text.size()) {
        while (position < text.size() && detail::is_white_space(text[position])) ++position;
        const std::size_t chunk_start = position;
        while (position < text.size() && !detail::is_white_space(text[position])) ++position;
        const std::string_view chunk = text.substr(chunk_start, position - chunk_start);
        if (chunk.empty()) break;

        if (detail::starts_with_ignoring_ascii_case(chunk, "http://") ||
            detail::starts_with_ignoring_ascii_case(chunk, "https://") ||
            detail::starts_with_ignoring_ascii_case(chunk, "www.")) {
            visit(kUrlToken);
            continue;
        }
        std::string_view piece = chunk;
        if (chunk.size() >= 2 && chunk[0] == '@' && detail::is_name_byte(chunk[1])) {
            std::size_t name_end = 2;
            while (name_end < chunk.size() && detail::is_name_byte(chunk[name_end])) ++name_end;
            visit(kUserToken);
            piece = chunk.substr(name_end);
        }
        detail::cut_piece(piece, word_buffer, visit);
    }
}

inline std::vector<std::string> tokenize(std::string_view text) {
    std::vector<std::string> tokens;
    for_each_token(text, [&tokens](std::string_view token) { tokens.emplace_back(token); });
    return tokens;
}

}  // namespace strata::text
