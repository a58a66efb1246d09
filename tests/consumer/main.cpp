// Builds a small model from the installed headers and checks one training step lowers the loss.
#include <strata/strata.hpp>

#include <cstdio>
#include <vector>

int main() {
    using Net = strata::Sequential<strata::Cpu, float, strata::Linear<4, 8>, strata::ReLU, strata::Linear<8, 2>>;
    Net net(4);
    net.reset_parameters(7);
    std::vector<float> inputs{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    std::vector<std::int32_t> labels{0, 1, 0, 1};
    strata::SoftmaxCrossEntropy<float, strata::Cpu, 2> loss(4);
    strata::Adam<Net> adam(net, {.learning_rate = 0.05});
    const auto ctx = strata::Context::dense(4);
    double first = 0, last = 0;
    for (int step = 0; step < 20; ++step) {
        const double value = loss(net.forward(ctx, {inputs.data(), 4}), labels, net.output_gradient());
        if (step == 0) first = value;
        last = value;
        net.zero_grad();
        net.backward(ctx);
        adam.step();
    }
    if (!(last < first)) {
        std::printf("loss did not fall: %f -> %f\n", first, last);
        return 1;
    }
    std::printf("consumer ok: loss %.4f -> %.4f\n", first, last);
    return 0;
}
