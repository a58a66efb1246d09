// tests/support/gradient_check.hpp — the one gradient checker every layer must pass.
//
// For a StandaloneLayer in double precision, with the loss L = Σ out ⊙ R for a random
// upstream gradient R, it compares backward's gradients with central finite differences
// (step 1e-6) for every parameter and every input element, and also checks the protocol:
//  * d_in is OVERWRITTEN: it is pre-filled with NaN, so an element backward forgets to
//    write shows up as NaN;
//  * parameter gradients ACCUMULATE: they are pre-filled with 1.5, and backward must add
//    to that, not replace it.
#pragma once

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "strata/strata.hpp"

namespace strata::testing {

struct GradientCheckReport {
    double max_parameter_error = 0.0;  // max |analytic - numeric| / max(1, |numeric|)
    double max_input_error = 0.0;
    std::size_t parameters_checked = 0;
    std::size_t inputs_checked = 0;
    bool input_gradient_written = true;    // no NaN left in d_in
    bool parameter_gradient_accumulates = true;
    std::string worst;                     // where the largest error was
};

// make_context() must return the same context each call (reseed any Rng inside it), so
// that stochastic layers draw the same mask for every evaluation.
template <class Standalone>
GradientCheckReport check_gradients(Standalone& standalone, std::vector<double> input,
                                    const std::function<Context()>& make_context, std::uint64_t seed = 11,
                                    bool check_input = true) {
    using L = typename Standalone::LayerType;
    using InShape = typename L::InputShape;
    using OutShape = typename L::OutputShape;
    static_assert(std::is_same_v<typename L::Scalar, double>, "check gradients in double precision");
    auto& layer = standalone.layer();
    const Context probe = make_context();
    const std::size_t batch = probe.batch;
    std::vector<double> output(batch * OutShape::size), upstream(batch * OutShape::size);
    Rng rng(seed);
    for (auto& value : upstream) value = rng.normal();

    auto loss_at = [&]() {
        const Context ctx = make_context();
        layer.forward(ctx, {input.data(), batch}, {output.data(), batch});
        double total = 0.0;
        for (std::size_t i = 0; i < output.size(); ++i) total += output[i] * upstream[i];
        return total;
    };

    GradientCheckReport report;
    // Analytic gradients, with the protocol probes.
    const std::size_t count = standalone.parameter_count();
    double* gradients = standalone.gradients();
    for (std::size_t i = 0; i < count; ++i) gradients[i] = 1.5;
    std::vector<double> d_input(batch * InShape::size, std::numeric_limits<double>::quiet_NaN());
    {
        const Context ctx = make_context();
        layer.forward(ctx, {input.data(), batch}, {output.data(), batch});
        layer.backward(ctx, {input.data(), batch}, {output.data(), batch}, {upstream.data(), batch},
                       check_input ? TensorView<double, InShape, Cpu>{d_input.data(), batch}
                                   : TensorView<double, InShape, Cpu>{});
    }
    std::vector<double> analytic(gradients, gradients + count);
    for (auto& value : analytic) value -= 1.5;

    const double step = 1e-6;
    auto relative = [](double a, double n) { return std::abs(a - n) / std::max(1.0, std::abs(n)); };
    double* values = standalone.parameters();
    for (std::size_t i = 0; i < count; ++i) {
        const double saved = values[i];
        values[i] = saved + step;
        const double plus = loss_at();
        values[i] = saved - step;
        const double minus = loss_at();
        values[i] = saved;
        const double numeric = (plus - minus) / (2 * step);
        const double error = relative(analytic[i], numeric);
        if (std::isnan(analytic[i])) report.parameter_gradient_accumulates = false;
        if (error > report.max_parameter_error || std::isnan(error)) {
            report.max_parameter_error = std::isnan(error) ? 1e300 : error;
            report.worst = "parameter " + std::to_string(i) + ": analytic " + std::to_string(analytic[i]) +
                           ", numeric " + std::to_string(numeric);
        }
        ++report.parameters_checked;
    }
    if (check_input) {
        for (std::size_t i = 0; i < input.size(); ++i) {
            if (std::isnan(d_input[i])) {
                report.input_gradient_written = false;
                continue;
            }
            const double saved = input[i];
            input[i] = saved + step;
            const double plus = loss_at();
            input[i] = saved - step;
            const double minus = loss_at();
            input[i] = saved;
            const double numeric = (plus - minus) / (2 * step);
            const double error = relative(d_input[i], numeric);
            if (error > report.max_input_error) {
                report.max_input_error = error;
                report.worst = "input " + std::to_string(i) + ": analytic " + std::to_string(d_input[i]) +
                               ", numeric " + std::to_string(numeric);
            }
            ++report.inputs_checked;
        }
    }
    return report;
}

inline std::vector<double> random_values(std::size_t count, std::uint64_t seed, double scale = 1.0) {
    Rng rng(seed);
    std::vector<double> values(count);
    for (auto& value : values) value = scale * rng.normal();
    return values;
}

}  // namespace strata::testing
