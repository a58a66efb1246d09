// strata/backend/cpu/recurrent_ops.hpp — the CPU backend's operations for the fused recurrent-cell (GRU) updates.
#pragma once

#include <cstddef>
#include <cstdint>

#include "strata/backend/cpu/gemm.hpp"

namespace strata {

struct CpuRecurrentOps {};

}  // namespace strata
