// A small MLP learns to sort 2-D points of three interleaved spirals, printing its loss as
// it falls. Usage: mlp_example [--epochs N] [--seed N] [--threads N]
#include <strata/strata.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numbers>
#include <string>
#include <vector>

namespace {

constexpr std::size_t points_per_class = 200;
constexpr std::size_t classes = 3;
constexpr std::size_t batch_size = 32;

using Net = strata::Sequential<strata::Cpu, float, strata::Linear<2, 64>, strata::Tanh, strata::Linear<64, 64>,
                               strata::ReLU, strata::Linear<64, classes>>;

long parse_count(const char* option, const char* text, long minimum, long maximum) {
    char* end = nullptr;
    const long value = std::strtol(text, &end, 10);
    if (end == text || *end != '\0' || value < minimum || value > maximum)
        throw strata::Error(std::string(option) + ": expected a whole number in [" + std::to_string(minimum) +
                            ", " + std::to_string(maximum) + "], got '" + text + "'");
    return value;
}

int run(int argc, char** argv) {
    long epochs = 60, seed = 1, threads = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string option = argv[i];
        if (option == "--help" || option == "-h") {
            std::printf("usage: mlp_example [--epochs N] [--seed N] [--threads N]\n");
            return 0;
        }
        if (i + 1 >= argc) throw strata::Error(option + ": missing value (see --help)");
        if (option == "--epochs") epochs = parse_count("--epochs", argv[++i], 1, 100000);
        else if (option == "--seed") seed = parse_count("--seed", argv[++i], 0, 1L << 62);
        else if (option == "--threads") threads = parse_count("--threads", argv[++i], 1, 256);
        else throw strata::Error("unknown option '" + option + "' (see --help)");
    }
    strata::Cpu::set_num_threads(static_cast<int>(threads));

    // Three interleaved spirals with a little noise.
    strata::Rng rng(static_cast<std::uint64_t>(seed));
    std::vector<float> points;
    std::vector<std::int32_t> labels;
    for (std::size_t c = 0; c < classes; ++c)
        for (std::size_t i = 0; i < points_per_class; ++i) {
            const double radius = static_cast<double>(i) / points_per_class;
            const double angle = 4.0 * radius + 2.0 * std::numbers::pi * static_cast<double>(c) / classes +
                                 0.15 * rng.normal();
            points.push_back(static_cast<float>(radius * std::sin(angle)));
            points.push_back(static_cast<float>(radius * std::cos(angle)));
            labels.push_back(static_cast<std::int32_t>(c));
        }
    const std::size_t count = labels.size();

    Net net(batch_size);
    net.reset_parameters(static_cast<std::uint64_t>(seed));
    strata::Adam<Net> adam(net, {.learning_rate = 0.01});
    strata::SoftmaxCrossEntropy<float, strata::Cpu, classes> loss(batch_size);
    std::vector<std::size_t> order(count);
    for (std::size_t i = 0; i < count; ++i) order[i] = i;
    std::vector<float> batch_points(batch_size * 2);
    std::vector<std::int32_t> batch_labels(batch_size);

    for (long epoch = 1; epoch <= epochs; ++epoch) {
        rng.shuffle(order);
        double total = 0;
        std::size_t correct = 0;
        for (std::size_t start = 0; start < count; start += batch_size) {
            const std::size_t batch = std::min(batch_size, count - start);
            for (std::size_t b = 0; b < batch; ++b) {
                batch_points[2 * b] = points[2 * order[start + b]];
                batch_points[2 * b + 1] = points[2 * order[start + b] + 1];
                batch_labels[b] = labels[order[start + b]];
            }
            const auto ctx = strata::Context::dense(batch);
            const auto logits = net.forward(ctx, {batch_points.data(), batch});
            total += loss(logits, {batch_labels.data(), batch}, net.output_gradient()) * static_cast<double>(batch);
            for (std::size_t b = 0; b < batch; ++b) {
                const float* row = logits.sample(b);
                const auto predicted = static_cast<std::int32_t>(std::max_element(row, row + classes) - row);
                correct += predicted == batch_labels[b];
            }
            net.zero_grad();
            net.backward(ctx);
            adam.step();
        }
        if (epoch == 1 || epoch % 10 == 0 || epoch == epochs)
            std::printf("epoch %3ld  loss %.4f  accuracy %.3f\n", epoch, total / static_cast<double>(count),
                        static_cast<double>(correct) / static_cast<double>(count));
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "mlp_example: %s\n", error.what());
        return 2;
    }
}
