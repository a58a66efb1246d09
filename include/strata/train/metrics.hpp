// strata/train/metrics.hpp — classification metrics from a confusion matrix.
//
// ConfusionMatrix<Classes>: counts[truth][predicted]. accuracy() is the diagonal over the
// total; macro_f1() the unweighted mean over classes of F1 = 2·P·R / (P + R), with a class
// that is never predicted nor present counting F1 = 0 (scikit-learn's zero_division=0).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace strata {

template <std::size_t Classes>
struct ConfusionMatrix {
    std::array<std::array<std::size_t, Classes>, Classes> counts{};

    void add(std::int32_t truth, std::int32_t predicted) {
        ++counts[static_cast<std::size_t>(truth)][static_cast<std::size_t>(predicted)];
    }
    std::size_t total() const {
        std::size_t sum = 0;
        for (const auto& row : counts)
            for (std::size_t value : row) sum += value;
        return sum;
    }
    double accuracy() const {
        std::size_t correct = 0;
        for (std::size_t c = 0; c < Classes; ++c) correct += counts[c][c];
        const std::size_t all = total();
        return all ? static_cast<double>(correct) / static_cast<double>(all) : 0.0;
    }
    double f1(std::size_t c) const {
        std::size_t predicted = 0, actual = 0;
        for (std::size_t k = 0; k < Classes; ++k) {
            predicted += counts[k][c];
            actual += counts[c][k];
        }
        const double true_positive = static_cast<double>(counts[c][c]);
        const double denominator = static_cast<double>(predicted + actual);
        return denominator > 0 ? 2.0 * true_positive / denominator : 0.0;
    }
    double macro_f1() const {
        double sum = 0;
        for (std::size_t c = 0; c < Classes; ++c) sum += f1(c);
        return sum / static_cast<double>(Classes);
    }
};

// The index of the largest of `count` scores (the first, on ties).
template <class T>
std::int32_t argmax(const T* scores, std::size_t count) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < count; ++i)
        if (scores[i] > scores[best]) best = i;
    return static_cast<std::int32_t>(best);
}

}  // namespace strata
