// Stacking Linear<4, 8> → ReLU → Linear<16, 3>: the third layer (index 2) expects inputs
// ending in 16 but receives Shape<8>. The diagnostic must name the index and both shapes.
// expect: LAYER_INPUT_SHAPE_MISMATCH
// expect: LayerInputMismatch<2
// expect: LastExtent<16[^0-9]
// expect: Shape<8[^0-9]
#include <strata/strata.hpp>

#ifdef STRATA_FAILTEST_BROKEN
constexpr std::size_t hidden_in = 16;
#else
constexpr std::size_t hidden_in = 8;
#endif

using Net = strata::Sequential<strata::Cpu, float, strata::Linear<4, 8>, strata::ReLU, strata::Linear<hidden_in, 3>>;

int main() {
    Net net(2);
    return static_cast<int>(net.parameter_count() == 0);
}
