// strata/core/error.hpp — the one exception type the library throws.
//
// Library code never prints and never exits: every failure it can detect at run time
// (bad shapes given at run time, malformed files, bad text input, non-finite values) is
// reported to the caller as a strata::Error whose what() is one line saying what is wrong
// and where. Programs decide how to show it.
#pragma once

#include <concepts>
#include <stdexcept>
#include <string>
#include <string_view>

namespace strata {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

namespace detail {
inline void append_part(std::string& text, std::string_view part) { text += part; }
inline void append_part(std::string& text, char part) { text += part; }
template <class Number>
    requires(std::integral<Number> || std::floating_point<Number>)
void append_part(std::string& text, Number part) {
    text += std::to_string(part);
}
}  // namespace detail

// Throws strata::Error with the parts concatenated (strings and numbers) when condition is
// false. The message is built only on failure, so checks on hot paths cost a branch and
// never allocate: write require(ok, "batch ", batch, " exceeds ", capacity), not
// require(ok, "batch " + std::to_string(batch) + ...).
template <class... Parts>
void require(bool condition, const Parts&... parts) {
    if (condition) [[likely]]
        return;
    std::string message;
    (detail::append_part(message, parts), ...);
    throw Error(message);
}

}  // namespace strata
