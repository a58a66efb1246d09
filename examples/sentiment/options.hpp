// examples/sentiment/options.hpp — strict command-line options: --name VALUE pairs, with
// every value checked, every unknown option refused, each error one line naming the option.
#pragma once

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace sentiment {

// A command-line mistake: the program prints it with a hint to --help and exits with 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Options {
public:
    // `valued`: options that take a value; `flags`: options that do not.
    Options(const std::vector<std::string>& arguments, const std::set<std::string>& valued,
            const std::set<std::string>& flags, bool allow_positional) {
        for (std::size_t i = 0; i < arguments.size(); ++i) {
            const std::string& argument = arguments[i];
            if (argument == "--") {
                require_positional(allow_positional, argument);
                positional_.insert(positional_.end(), arguments.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                                   arguments.end());
                break;
            }
            if (argument.size() > 2 && argument.rfind("--", 0) == 0) {
                std::string name = argument, value;
                const auto equals = argument.find('=');
                const bool inline_value = equals != std::string::npos;
                if (inline_value) {
                    name = argument.substr(0, equals);
                    value = argument.substr(equals + 1);
                }
                if (flags.contains(name)) {
                    if (inline_value) throw UsageError(name + " takes no value");
                    set(name, "");
                } else if (valued.contains(name)) {
                    if (!inline_value) {
                        if (i + 1 >= arguments.size()) throw UsageError(name + ": missing value");
                        value = arguments[++i];
                    }
                    set(name, value);
                } else {
                    throw UsageError("unknown option '" + name + "'");
                }
            } else {
                require_positional(allow_positional, argument);
                positional_.push_back(argument);
            }
        }
    }

    bool has(const std::string& name) const { return values_.contains(name); }
    const std::vector<std::string>& positional() const { return positional_; }

    std::string text(const std::string& name, const std::string& fallback) const {
        const auto found = values_.find(name);
        return found == values_.end() ? fallback : found->second;
    }
    std::string required(const std::string& name) const {
        const auto found = values_.find(name);
        if (found == values_.end()) throw UsageError(name + " is required");
        if (found->second.empty()) throw UsageError(name + ": empty value");
        return found->second;
    }
    std::string choice(const std::string& name, const std::vector<std::string>& choices) const {
        const std::string value = text(name, choices.front());
        for (const auto& option : choices)
            if (value == option) return value;
        std::string list;
        for (const auto& option : choices) list += (list.empty() ? "" : "|") + option;
        throw UsageError(name + ": expected " + list + ", got '" + value + "'");
    }
    long integer(const std::string& name, long fallback, long minimum, long maximum) const {
        if (!has(name)) return fallback;
        const std::string& value = values_.at(name);
        char* end = nullptr;
        errno = 0;
        const long result = std::strtol(value.c_str(), &end, 10);
        if (value.empty() || *end != '\0' || errno == ERANGE || result < minimum || result > maximum)
            throw UsageError(name + ": expected a whole number in [" + std::to_string(minimum) + ", " +
                             std::to_string(maximum) + "], got '" + value + "'");
        return result;
    }
    double number(const std::string& name, double fallback, double minimum, double maximum) const {
        if (!has(name)) return fallback;
        const std::string& value = values_.at(name);
        char* end = nullptr;
        errno = 0;
        const double result = std::strtod(value.c_str(), &end);
        if (value.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(result) || result < minimum ||
            result > maximum)
            throw UsageError(name + ": expected a number in [" + format(minimum) + ", " + format(maximum) +
                             "], got '" + value + "'");
        return result;
    }

private:
    static std::string format(double value) {
        char buffer[32];
        std::snprintf(buffer, sizeof buffer, "%g", value);
        return buffer;
    }
    static void require_positional(bool allowed, const std::string& argument) {
        if (!allowed) throw UsageError("unexpected argument '" + argument + "'");
    }
    void set(const std::string& name, const std::string& value) {
        if (!values_.emplace(name, value).second) throw UsageError(name + " given twice");
    }

    std::map<std::string, std::string> values_;
    std::vector<std::string> positional_;
};

}  // namespace sentiment
