// tests/support/fixtures.hpp — comparing against the PyTorch fixtures.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace strata::testing {

// max |ours - reference| / max |reference|: the error relative to the tensor's scale, so
// that entries near zero do not dominate. A NaN anywhere counts as an infinite error.
template <class T>
double relative_error(const T* ours, const std::vector<double>& reference) {
    double worst = 0.0, scale = 0.0;
    for (std::size_t i = 0; i < reference.size(); ++i) {
        const double difference = std::abs(static_cast<double>(ours[i]) - reference[i]);
        worst = std::isnan(difference) ? std::numeric_limits<double>::infinity() : std::max(worst, difference);
        scale = std::max(scale, std::abs(reference[i]));
    }
    return worst / std::max(scale, 1e-12);
}

template <class T>
double relative_error(const std::vector<T>& ours, const std::vector<double>& reference) {
    if (ours.size() != reference.size()) return std::numeric_limits<double>::infinity();
    return relative_error(ours.data(), reference);
}

}  // namespace strata::testing
