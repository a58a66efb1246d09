// Stacking Linear<8, 16> → GRU<32, 24>: the GRU (index 1) expects sequences of 32 features
// but receives Shape<10, 16>. The diagnostic must name the index and both shapes.
// expect: LAYER_INPUT_SHAPE_MISMATCH
// expect: LayerInputMismatch<1
// expect: LastExtent<32[^0-9]
// expect: Shape<10, 16[^0-9]
#include <strata/layers/gru.hpp>
#include <strata/strata.hpp>

#ifdef STRATA_FAILTEST_BROKEN
constexpr std::size_t gru_in = 32;
#else
constexpr std::size_t gru_in = 16;
#endif

using Net = strata::Sequential<strata::Cpu, float, strata::Input<10, 8>, strata::Linear<8, 16>,
                               strata::GRU<gru_in, 24>, strata::Linear<24, 3>>;

int main() {
    Net net(2);
    return static_cast<int>(net.parameter_count() == 0);
}
