// SGD, Adam, AdamW and gradient clipping equal PyTorch 1.13's on the same numbers.
// Fixture: tests/fixtures/train/optimizers.safetensors, made by make_optimizer_fixtures.py.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "strata/io/safetensors.hpp"
#include "strata/strata.hpp"

using namespace strata;

namespace {

using Net = Sequential<Cpu, float, Linear<5, 3>>;

const io::SafetensorsFile& fixture() {
    static const io::SafetensorsFile file =
        io::SafetensorsFile::read(STRATA_SOURCE_DIR "/tests/fixtures/train/optimizers.safetensors");
    return file;
}

// Copies "<prefix>.weight" / "<prefix>.bias" from the fixture into a flat arena.
void load(const std::string& prefix, float* destination) {
    const auto weight = fixture().read_f32(prefix + ".weight", {3, 5});
    const auto bias = fixture().read_f32(prefix + ".bias", {3});
    std::copy(weight.begin(), weight.end(), destination);
    std::copy(bias.begin(), bias.end(), destination + weight.size());
}

// max |ours - reference| / max |reference|: float32 rounding gives ~1e-7; a wrong update
// (a missing bias correction, decay applied the wrong way) gives 1e-3 or more.
double max_relative_difference(const float* ours, const std::vector<float>& reference) {
    double worst = 0, scale = 0;
    for (std::size_t i = 0; i < reference.size(); ++i) {
        worst = std::max(worst, std::abs(static_cast<double>(ours[i]) - reference[i]));
        scale = std::max(scale, std::abs(static_cast<double>(reference[i])));
    }
    return worst / scale;
}

template <class Optimizer>
void run_case(const std::string& name, Net& net, Optimizer& optimizer) {
    load(name + ".p0", net.parameters());
    std::vector<float> expected(net.parameter_count());
    for (int step = 1; step <= 3; ++step) {
        load(name + ".g" + std::to_string(step), net.gradients());
        optimizer.step();
        load(name + ".p" + std::to_string(step), expected.data());
        INFO(name, " step ", step);
        CHECK(max_relative_difference(net.parameters(), expected) < 1e-6);
    }
}

}  // namespace

TEST_CASE("SGD equals torch.optim.SGD") {
    Net net(1);
    SUBCASE("plain") {
        Sgd<Net> sgd(net, {.learning_rate = 0.1});
        run_case("sgd", net, sgd);
    }
    SUBCASE("momentum, dampening, weight decay") {
        Sgd<Net> sgd(net, {.learning_rate = 0.1, .momentum = 0.9, .dampening = 0.1, .weight_decay = 0.01});
        run_case("sgd_momentum", net, sgd);
    }
    SUBCASE("Nesterov") {
        Sgd<Net> sgd(net, {.learning_rate = 0.05, .momentum = 0.8, .weight_decay = 0.02, .nesterov = true});
        run_case("sgd_nesterov", net, sgd);
    }
}

TEST_CASE("Adam and AdamW equal torch.optim.Adam and AdamW") {
    Net net(1);
    SUBCASE("Adam") {
        Adam<Net> adam(net, {.learning_rate = 0.01});
        run_case("adam", net, adam);
    }
    SUBCASE("Adam with L2 weight decay") {
        Adam<Net> adam(net, {.learning_rate = 0.01, .weight_decay = 0.1});
        run_case("adam_l2", net, adam);
    }
    SUBCASE("AdamW") {
        auto adamw = make_adamw(net, {.learning_rate = 0.01, .weight_decay = 0.1});
        run_case("adamw", net, adamw);
    }
}

TEST_CASE("clip_gradient_norm equals torch.nn.utils.clip_grad_norm_") {
    Net net(1);
    load("clip.g1", net.gradients());
    const double norm = clip_gradient_norm(net, 0.5);
    CHECK(norm == doctest::Approx(fixture().read_f32("clip.norm", {1})[0]).epsilon(1e-6));
    std::vector<float> expected(net.parameter_count());
    load("clip.clipped", expected.data());
    CHECK(max_relative_difference(net.gradients(), expected) < 1e-6);
    // Below the bound nothing changes.
    std::vector<float> before(net.gradients(), net.gradients() + net.parameter_count());
    clip_gradient_norm(net, 1e6);
    CHECK(std::equal(before.begin(), before.end(), net.gradients()));
}

TEST_CASE("Optimizers reject nonsense options") {
    Net net(1);
    CHECK_THROWS_AS(Sgd<Net>(net, {.learning_rate = -1}), Error);
    CHECK_THROWS_AS(Sgd<Net>(net, {.learning_rate = 0.1, .nesterov = true}), Error);
    CHECK_THROWS_AS(Adam<Net>(net, {.beta1 = 1.0}), Error);
    CHECK_THROWS_AS(clip_gradient_norm(net, 0.0), Error);
}
