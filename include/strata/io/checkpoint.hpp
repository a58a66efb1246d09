// strata/io/checkpoint.hpp — a model's parameters to and from a safetensors file.
//
// save_checkpoint writes every parameter the model's for_each_parameter walk yields, under
// its state_dict name and PyTorch shape, as little-endian float32, with the given
// metadata; the write is atomic (a temporary file renamed into place), so a crash or a
// full disk never leaves a half-written checkpoint at `path`.
//
// load_checkpoint fills every parameter from a file and checks, before changing anything,
// that each one is present, float32 and of the model's shape, and that the file holds no
// tensor the model does not have; errors name the file and the tensor.
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "strata/core/layer.hpp"
#include "strata/io/safetensors.hpp"

namespace strata::io {

template <class Model>
void save_checkpoint(const std::filesystem::path& path, Model& model, const SafetensorsMetadata& metadata) {
    using T = typename Model::Scalar;
    using B = typename Model::Backend;
    std::vector<std::vector<float>> host_values;
    std::vector<FloatTensorToWrite> tensors;
    model.for_each_parameter([&](const ParameterRef<T>& parameter) {
        std::vector<T> values(parameter.size());
        B::copy_to_host(parameter.value, values.size(), values.data());
        host_values.emplace_back(values.begin(), values.end());
        tensors.push_back({std::string(parameter.name), {parameter.shape.begin(), parameter.shape.end()}, {}});
    });
    for (std::size_t i = 0; i < tensors.size(); ++i) tensors[i].values = host_values[i];
    write_safetensors_f32(path, tensors, metadata);
}

template <class Model>
void load_checkpoint(const SafetensorsFile& file, Model& model) {
    using T = typename Model::Scalar;
    using B = typename Model::Backend;
    std::set<std::string, std::less<>> expected;
    // Validate everything first, so a bad file leaves the model untouched.
    model.for_each_parameter([&](const ParameterRef<T>& parameter) {
        expected.emplace(parameter.name);
        const TensorInfo& info = file.info(parameter.name);
        require(info.dtype == DType::f32, file.source_name(), ": tensor '", parameter.name, "' is ",
                dtype_name(info.dtype), ", expected F32");
        const bool same_shape = std::equal(info.shape.begin(), info.shape.end(), parameter.shape.begin(),
                                           parameter.shape.end());
        if (!same_shape) {
            auto show = [](auto const& dims) {
                std::string text = "[";
                for (std::size_t i = 0; i < dims.size(); ++i) text += (i ? ", " : "") + std::to_string(dims[i]);
                return text + "]";
            };
            throw Error(file.source_name() + ": tensor '" + std::string(parameter.name) + "' has shape " +
                        show(info.shape) + ", the model expects " + show(parameter.shape));
        }
    });
    for (const TensorInfo& info : file.tensors())
        require(expected.contains(info.name), file.source_name(), ": unexpected tensor '", info.name,
                "' (the model has no parameter of that name)");
    model.for_each_parameter([&](const ParameterRef<T>& parameter) {
        std::vector<float> values(parameter.size());
        file.copy_f32(parameter.name, parameter.shape, values);
        std::vector<T> converted(values.begin(), values.end());
        B::copy_from_host(converted.data(), converted.size(), parameter.value);
    });
}

}  // namespace strata::io
