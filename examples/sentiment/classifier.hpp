// examples/sentiment/classifier.hpp — the CNN → GRU → attention sentiment classifier of
// SEED_MODEL.md as one Sequential type, with its vocabulary, configuration and checkpoint.
//
// The model reads like the spec's table:
//   1 Embedding(V, 128), padding id 0         "embedding.weight"
//   2 Conv1d(128→128, k 3, pad 1) + ReLU       "conv.weight", "conv.bias"
//   3 GRU(128→128), packed over valid steps    "gru.weight_ih_l0", ...
//   4 multi-head self-attention, 4 heads       "attn.in_proj_weight", ...
//   5 mean over the valid positions
//   6 dropout 0.3 (training only)
//   7 Linear(128→3) → logits                    "fc.weight", "fc.bias"
// Checkpoints are the spec's safetensors file: these names and PyTorch's layouts, with
// __metadata__ {"config": JSON, "vocab": JSON array of tokens in id order}.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <strata/io/checkpoint.hpp>
#include <strata/io/json.hpp>
#include <strata/layers/attention.hpp>
#include <strata/layers/conv1d.hpp>
#include <strata/layers/embedding.hpp>
#include <strata/layers/gru.hpp>
#include <strata/layers/pooling.hpp>
#include <strata/strata.hpp>
#include <strata/text/dataset.hpp>
#include <strata/text/vocabulary.hpp>

namespace sentiment {

inline constexpr std::size_t max_length = 64;
inline constexpr std::size_t embedding_dim = 128;
inline constexpr std::size_t conv_channels = 128;
inline constexpr std::size_t conv_kernel = 3;
inline constexpr std::size_t gru_hidden = 128;
inline constexpr std::size_t attention_heads = 4;
inline constexpr std::size_t class_count = 3;
inline const std::vector<std::string> class_names{"negative", "neutral", "positive"};

template <class Backend, class Scalar = float>
using Network = strata::Sequential<Backend, Scalar,
    strata::Named<"embedding", strata::Embedding<max_length, embedding_dim>>,
    strata::Named<"conv", strata::Conv1D<embedding_dim, conv_channels, conv_kernel>>,
    strata::Named<"gru", strata::GRU<conv_channels, gru_hidden>>,
    strata::Named<"attn", strata::MultiHeadAttention<gru_hidden, attention_heads>>,
    strata::MeanPool,
    strata::Dropout,
    strata::Named<"fc", strata::Linear<gru_hidden, class_count>>>;

using Model = Network<strata::Cpu>;

struct Hyperparameters {
    double dropout = 0.3;
    double attention_dropout = 0.0;
};

inline std::unique_ptr<Model> make_model(std::size_t vocabulary_size, std::size_t batch_capacity,
                                         const Hyperparameters& hyper = {}) {
    strata::Named<"embedding", strata::Embedding<max_length, embedding_dim>> embedding;
    embedding.vocabulary_size = vocabulary_size;
    embedding.padding_id = 0;
    strata::Named<"conv", strata::Conv1D<embedding_dim, conv_channels, conv_kernel>> conv;
    conv.activation = strata::Activation::relu;
    strata::Named<"attn", strata::MultiHeadAttention<gru_hidden, attention_heads>> attention;
    attention.dropout = hyper.attention_dropout;
    return std::make_unique<Model>(batch_capacity, embedding, conv, strata::Named<"gru", strata::GRU<conv_channels, gru_hidden>>{},
                                   attention, strata::MeanPool{}, strata::Dropout{hyper.dropout},
                                   strata::Named<"fc", strata::Linear<gru_hidden, class_count>>{});
}

// The configuration JSON kept in a checkpoint's metadata.
inline strata::io::Json config_json(std::size_t vocabulary_size, const Hyperparameters& hyper,
                                    const strata::io::Json& training) {
    using strata::io::Json;
    Json classes = Json::array();
    for (const auto& name : class_names) classes.push_back(name);
    Json config = Json::object();
    config.set("format", "strata-sentiment");
    config.set("version", 1);
    config.set("classes", classes);
    config.set("max_length", max_length);
    config.set("embedding_dim", embedding_dim);
    config.set("conv_channels", conv_channels);
    config.set("conv_kernel", conv_kernel);
    config.set("gru_hidden", gru_hidden);
    config.set("attention_heads", attention_heads);
    config.set("dropout", hyper.dropout);
    config.set("vocab_size", vocabulary_size);
    if (!training.is_null()) config.set("training", training);
    return config;
}

inline strata::io::Json vocabulary_json(const strata::text::Vocabulary& vocabulary) {
    strata::io::Json tokens = strata::io::Json::array();
    for (const auto& token : vocabulary.tokens()) tokens.push_back(token);
    return tokens;
}

// A trained classifier: its vocabulary and its model, ready to predict.
struct Classifier {
    strata::text::Vocabulary vocabulary;
    std::unique_ptr<Model> model;
};

inline void save(const std::filesystem::path& path, Model& model, const strata::text::Vocabulary& vocabulary,
                 const Hyperparameters& hyper, const strata::io::Json& training) {
    strata::io::save_checkpoint(path, model,
                                {{"config", config_json(vocabulary.size(), hyper, training).dump()},
                                 {"vocab", vocabulary_json(vocabulary).dump()}});
}

// Reads a checkpoint, checks that its configuration is this program's model, and builds
// the classifier with room for batches of `batch_capacity` texts.
inline Classifier load(const std::filesystem::path& path, std::size_t batch_capacity) {
    using strata::io::Json;
    const auto file = strata::io::SafetensorsFile::read(path);
    const std::string source = file.source_name();
    const std::string* config_text = file.metadata_value("config");
    const std::string* vocab_text = file.metadata_value("vocab");
    strata::require(config_text && vocab_text, source,
                    ": not a sentiment checkpoint (its metadata lacks \"config\" or \"vocab\")");
    Json config, vocab;
    try {
        config = Json::parse(*config_text);
        vocab = Json::parse(*vocab_text);
    } catch (const strata::Error& error) {
        throw strata::Error(source + ": metadata is not valid JSON: " + error.what());
    }
    strata::require(config.is_object() && vocab.is_array(), source,
                    ": metadata \"config\" must be a JSON object and \"vocab\" a JSON array");
    auto expect = [&](const char* key, std::size_t value) {
        const Json* found = config.find(key);
        strata::require(found && found->is_integer() && found->as_int() == static_cast<std::int64_t>(value), source,
                        ": config \"", key, "\" must be ", value, " for this program's model");
    };
    expect("max_length", max_length);
    expect("embedding_dim", embedding_dim);
    expect("conv_channels", conv_channels);
    expect("conv_kernel", conv_kernel);
    expect("gru_hidden", gru_hidden);
    expect("attention_heads", attention_heads);
    if (const Json* classes = config.find("classes")) {
        bool same = classes->is_array() && classes->size() == class_names.size();
        for (std::size_t c = 0; same && c < class_names.size(); ++c)
            same = classes->as_array()[c].is_string() && classes->as_array()[c].as_string() == class_names[c];
        strata::require(same, source, ": config \"classes\" must be [\"negative\", \"neutral\", \"positive\"]");
    }
    std::vector<std::string> tokens;
    for (const Json& token : vocab.as_array()) {
        strata::require(token.is_string(), source, ": metadata \"vocab\" must hold only strings");
        tokens.push_back(token.as_string());
    }
    Classifier classifier;
    try {
        classifier.vocabulary = strata::text::Vocabulary::from_tokens(std::move(tokens));
    } catch (const strata::Error& error) {
        throw strata::Error(source + ": bad vocabulary: " + error.what());
    }
    if (const Json* size = config.find("vocab_size"))
        strata::require(size->is_integer() && size->as_int() == static_cast<std::int64_t>(classifier.vocabulary.size()),
                        source, ": config \"vocab_size\" disagrees with the vocabulary's ",
                        classifier.vocabulary.size(), " tokens");
    const auto& embedding = file.info("embedding.weight");
    strata::require(embedding.shape.size() == 2 && embedding.shape[0] == static_cast<std::int64_t>(classifier.vocabulary.size()),
                    source, ": tensor 'embedding.weight' has ", embedding.shape.empty() ? 0 : embedding.shape[0],
                    " rows but the vocabulary has ", classifier.vocabulary.size(), " tokens");
    Hyperparameters hyper;
    if (const Json* dropout = config.find("dropout"); dropout && dropout->is_number()) hyper.dropout = dropout->as_number();
    classifier.model = make_model(classifier.vocabulary.size(), batch_capacity, hyper);
    strata::io::load_checkpoint(file, *classifier.model);
    return classifier;
}

// Class probabilities for encoded texts, in batches of the model's capacity.
inline std::vector<float> predict_probabilities(Model& model, const strata::text::EncodedTexts& encoded) {
    std::vector<float> probabilities(encoded.size() * class_count);
    const std::size_t capacity = model.batch_capacity();
    for (std::size_t start = 0; start < encoded.size(); start += capacity) {
        const std::size_t batch = std::min(capacity, encoded.size() - start);
        const auto ctx = strata::Context::sequences({encoded.lengths.data() + start, batch}, max_length);
        const auto logits = model.forward(ctx, {encoded.row(start), batch});
        for (std::size_t b = 0; b < batch; ++b) {
            const float* z = logits.sample(b);
            const float top = *std::max_element(z, z + class_count);
            double sum = 0;
            float* p = probabilities.data() + (start + b) * class_count;
            for (std::size_t c = 0; c < class_count; ++c) sum += p[c] = std::exp(z[c] - top);
            for (std::size_t c = 0; c < class_count; ++c) p[c] = static_cast<float>(p[c] / sum);
        }
    }
    return probabilities;
}

}  // namespace sentiment
