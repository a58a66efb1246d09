// strata/train/progress.hpp — the text of a progress display for long work.
//
// The library never prints: Progress formats, the program decides where it goes. On a
// terminal a program redraws line() in place ("\r" + line) at most every
// `min_interval` seconds (should_draw); elsewhere it prints nothing until the work's end.
//   [epoch 2/5] ██████████░░░░░░░░░░  52%  1472/2827  3120 tweets/s  ETA 0.4 s  loss 0.8123
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace strata {

class Progress {
public:
    using Clock = std::chrono::steady_clock;

    Progress(std::string label, std::size_t total, std::string unit)
        : label_(std::move(label)), unit_(std::move(unit)), total_(total), start_(Clock::now()), last_draw_(start_) {}

    void advance(std::size_t count) { done_ += count; }
    std::size_t done() const { return done_; }
    double seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }
    double rate() const {
        const double elapsed = seconds();
        return elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
    }

    // True at most once per min_interval seconds (and always once the work is complete).
    bool should_draw(double min_interval = 0.1) {
        const auto now = Clock::now();
        if (done_ < total_ && std::chrono::duration<double>(now - last_draw_).count() < min_interval) return false;
        last_draw_ = now;
        return true;
    }

    std::string line(const std::string& extra = {}) const {
        constexpr int width = 20;
        const double fraction = total_ ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
        const int filled = static_cast<int>(fraction * width + 0.5);
        std::string bar;
        for (int i = 0; i < width; ++i) bar += i < filled ? "\u2588" : "\u2591";
        const double speed = rate();
        const double eta = speed > 0 ? static_cast<double>(total_ - done_) / speed : 0.0;
        char numbers[160];
        std::snprintf(numbers, sizeof numbers, " %3.0f%%  %zu/%zu  %.0f %s/s  ETA %.1f s", 100.0 * fraction, done_,
                      total_, speed, unit_.c_str(), eta);
        std::string text = label_ + " " + bar + numbers;
        if (!extra.empty()) text += "  " + extra;
        return text;
    }

private:
    std::string label_, unit_;
    std::size_t total_;
    std::size_t done_ = 0;
    Clock::time_point start_, last_draw_;
};

}  // namespace strata
