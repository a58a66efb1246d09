// The whole classifier (examples/sentiment/classifier.hpp): forward, loss and every
// parameter gradient equal PyTorch 1.13's on the same weights and batch; a checkpoint
// round trip gives identical probabilities; a checkpoint written by PyTorch predicts
// PyTorch's probabilities.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "sentiment/classifier.hpp"
#include "support/fixtures.hpp"

using namespace strata;

namespace {

std::vector<double> as_doubles(const float* values, std::size_t count) { return {values, values + count}; }

}  // namespace

TEST_CASE("The classifier equals PyTorch's: logits, loss and every gradient") {
    const auto fixture = io::SafetensorsFile::read(STRATA_SOURCE_DIR "/tests/fixtures/layers/classifier.safetensors");
    const auto ids = fixture.read_i32("ids");
    const auto lengths = fixture.read_i32("lengths");
    const auto labels = fixture.read_i32("labels");
    const std::size_t batch = lengths.size();
    const std::size_t fixture_time = ids.size() / batch;
    const std::size_t vocabulary = static_cast<std::size_t>(fixture.info("embedding.weight").shape[0]);

    auto model = sentiment::make_model(vocabulary, batch);
    std::size_t loaded = 0;
    model->for_each_parameter([&](const ParameterRef<float>& parameter) {
        fixture.copy_f32(parameter.name, parameter.shape, {parameter.value, parameter.size()});
        ++loaded;
    });
    CHECK(loaded == 13);

    // The fixture's texts are T = 7 wide; the model's are T_max = 64: pad with zeros.
    std::vector<std::int32_t> padded(batch * sentiment::max_length, 0);
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t t = 0; t < fixture_time; ++t) padded[b * sentiment::max_length + t] = ids[b * fixture_time + t];

    const auto ctx = Context::sequences(lengths, sentiment::max_length);
    const auto logits = model->forward(ctx, {padded.data(), batch});
    const auto reference_logits = fixture.read_f64("logits");
    CHECK(strata::testing::relative_error(as_doubles(logits.data, batch * 3), reference_logits) < 1e-5);

    SoftmaxCrossEntropy<float, Cpu, 3> loss(batch);
    const double value = loss(logits, labels, model->output_gradient());
    CHECK(value == doctest::Approx(fixture.read_f64("loss")[0]).epsilon(1e-5));

    model->zero_grad();
    model->backward(ctx);
    model->for_each_parameter([&](const ParameterRef<float>& parameter) {
        const auto reference = fixture.read_f32("grad." + std::string(parameter.name), parameter.shape);
        const std::vector<double> expected(reference.begin(), reference.end());
        INFO(parameter.name);
        CHECK(strata::testing::relative_error(as_doubles(parameter.gradient, parameter.size()), expected) < 1e-4);
    });
}

TEST_CASE("A checkpoint round trip gives identical probabilities") {
    const std::vector<std::vector<std::string>> corpus{
        {"i", "love", "it", "!"}, {"i", "hate", "it"}, {"love", "love", "hate"}, {"it", "is", "ok"}};
    const auto vocabulary = text::Vocabulary::build(corpus, 1);
    auto model = sentiment::make_model(vocabulary.size(), 8);
    model->reset_parameters(5);
    const auto path = std::filesystem::temp_directory_path() / "strata_roundtrip.safetensors";
    sentiment::save(path, *model, vocabulary, {}, io::Json());

    const std::vector<std::string> texts{"I love it!", "i hate it", "", "unknown words only", "ok"};
    const auto before = sentiment::predict_probabilities(*model, text::encode_texts(vocabulary, texts, 64));
    auto loaded = sentiment::load(path, 8);
    CHECK(loaded.vocabulary.tokens() == vocabulary.tokens());
    const auto after = sentiment::predict_probabilities(*loaded.model, text::encode_texts(loaded.vocabulary, texts, 64));
    CHECK(before == after);  // bit for bit
    // Another batch capacity splits the texts into other batches (other GEMM shapes, so
    // other rounding), but the function is the same.
    auto other = sentiment::load(path, 3);
    const auto regrouped = sentiment::predict_probabilities(*other.model, text::encode_texts(other.vocabulary, texts, 64));
    for (std::size_t i = 0; i < before.size(); ++i) CHECK(regrouped[i] == doctest::Approx(before[i]).epsilon(1e-6));
    std::filesystem::remove(path);
}

TEST_CASE("A checkpoint written by PyTorch predicts PyTorch's probabilities") {
    const std::string folder = STRATA_SOURCE_DIR "/tests/fixtures/interop/";
    auto classifier = sentiment::load(folder + "torch_checkpoint.safetensors", 16);
    std::ifstream lines(folder + "torch_probabilities.jsonl");
    REQUIRE(lines.good());
    std::vector<std::string> texts;
    std::vector<std::vector<double>> expected;
    for (std::string line; std::getline(lines, line);) {
        if (line.empty()) continue;
        const auto json = io::Json::parse(line);
        texts.push_back(json["text"].as_string());
        std::vector<double> probabilities;
        for (const auto& p : json["probabilities"].as_array()) probabilities.push_back(p.as_number());
        expected.push_back(probabilities);
    }
    REQUIRE(texts.size() >= 20);
    const auto probabilities =
        sentiment::predict_probabilities(*classifier.model, text::encode_texts(classifier.vocabulary, texts, 64));
    double worst = 0;
    for (std::size_t i = 0; i < texts.size(); ++i)
        for (std::size_t c = 0; c < 3; ++c)
            worst = std::max(worst, std::abs(static_cast<double>(probabilities[i * 3 + c]) - expected[i][c]));
    CHECK(worst <= 1e-5);
}
