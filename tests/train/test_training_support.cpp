// Metrics, batching, weight averaging, progress text and checkpoints.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "strata/io/checkpoint.hpp"
#include "strata/strata.hpp"

using namespace strata;

TEST_CASE("Confusion matrix: accuracy and macro-F1 by hand") {
    ConfusionMatrix<3> confusion;
    // truth 0: 2 right, 1 as class 1; truth 1: 1 right; truth 2: 1 as class 0.
    confusion.add(0, 0);
    confusion.add(0, 0);
    confusion.add(0, 1);
    confusion.add(1, 1);
    confusion.add(2, 0);
    CHECK(confusion.total() == 5);
    CHECK(confusion.accuracy() == doctest::Approx(3.0 / 5.0));
    // F1_0 = 2·2/(3 predicted + 3 actual) = 2/3; F1_1 = 2·1/(2 + 1) = 2/3; F1_2 = 0.
    CHECK(confusion.f1(0) == doctest::Approx(2.0 / 3.0));
    CHECK(confusion.f1(1) == doctest::Approx(2.0 / 3.0));
    CHECK(confusion.f1(2) == 0.0);
    CHECK(confusion.macro_f1() == doctest::Approx(4.0 / 9.0));
    const float scores[] = {0.1f, 0.7f, 0.7f};
    CHECK(argmax(scores, 3) == 1);  // ties go to the first
}

TEST_CASE("SequenceBatches: every text once per epoch, shuffled from the seed, bucketed by length") {
    text::EncodedTexts texts;
    texts.max_length = 4;
    const std::size_t count = 50;
    for (std::size_t i = 0; i < count; ++i) {
        const auto length = static_cast<std::int32_t>(1 + i % 4);
        texts.lengths.push_back(length);
        for (std::size_t t = 0; t < 4; ++t) texts.ids.push_back(t < static_cast<std::size_t>(length) ? static_cast<std::int32_t>(i) : 0);
    }
    std::vector<std::int32_t> labels(count);
    for (std::size_t i = 0; i < count; ++i) labels[i] = static_cast<std::int32_t>(i);

    auto epoch = [&](std::uint64_t seed, std::size_t bucket) {
        SequenceBatches batches(texts, labels, 8);
        Rng rng(seed);
        batches.shuffle(rng, bucket);
        std::vector<std::int32_t> seen;
        CHECK(batches.batch_count() == 7);
        for (std::size_t b = 0; b < batches.batch_count(); ++b) {
            const std::size_t size = batches.gather(b);
            CHECK(size == (b < 6 ? 8 : 2));
            for (std::size_t i = 0; i < size; ++i) {
                const std::int32_t label = batches.labels()[i];
                CHECK(batches.ids()[i * 4] == label);  // ids and labels travel together
                CHECK(batches.lengths()[i] == texts.lengths[static_cast<std::size_t>(label)]);
                seen.push_back(label);
            }
            if (bucket)  // within a bucket, longest first
                CHECK(std::is_sorted(batches.lengths().begin(), batches.lengths().end(), std::greater<>()));
        }
        return seen;
    };
    const auto first = epoch(1, 0), again = epoch(1, 0), other = epoch(2, 0);
    CHECK(first == again);
    CHECK(first != other);
    CHECK(std::set<std::int32_t>(first.begin(), first.end()).size() == count);
    const auto bucketed = epoch(1, 8);
    CHECK(std::set<std::int32_t>(bucketed.begin(), bucketed.end()).size() == count);
}

TEST_CASE("ParameterAverage follows the parameters with the warmed-up decay and swaps") {
    using Net = Sequential<Cpu, double, Linear<1, 1, false>>;
    Net net(1);
    net.parameters()[0] = 0.0;
    ParameterAverage<Net> average(net, 0.9);
    net.parameters()[0] = 1.0;
    average.update();  // decay min(0.9, 1/10) = 0.1: shadow = 0.1·0 + 0.9·1
    CHECK(average.averaged()[0] == doctest::Approx(0.9));
    net.parameters()[0] = 2.0;
    average.update();  // decay min(0.9, 2/11)
    const double decay = 2.0 / 11.0;
    CHECK(average.averaged()[0] == doctest::Approx(decay * 0.9 + (1 - decay) * 2.0));
    const double averaged = average.averaged()[0];
    average.swap();
    CHECK(net.parameters()[0] == averaged);
    CHECK(average.averaged()[0] == 2.0);
    CHECK_THROWS_AS(ParameterAverage<Net>(net, 1.0), Error);
}

TEST_CASE("Progress formats counts, rate and the bar") {
    Progress progress("epoch 1/5", 200, "tweets");
    progress.advance(100);
    const std::string line = progress.line("loss 0.5");
    CHECK(line.find("epoch 1/5") == 0);
    CHECK(line.find(" 50%") != std::string::npos);
    CHECK(line.find("100/200") != std::string::npos);
    CHECK(line.find("tweets/s") != std::string::npos);
    CHECK(line.find("loss 0.5") != std::string::npos);
}

TEST_CASE("Checkpoints: round trip, and every mismatch named") {
    using Net = Sequential<Cpu, float, Named<"fc", Linear<3, 2>>>;
    using Other = Sequential<Cpu, float, Named<"fc", Linear<4, 2>>>;
    using Renamed = Sequential<Cpu, float, Named<"head", Linear<3, 2>>>;
    const auto folder = std::filesystem::temp_directory_path();
    const auto path = folder / "strata_checkpoint_test.safetensors";
    Net net(1);
    net.reset_parameters(3);
    io::save_checkpoint(path, net, {{"note", "test"}});
    Net loaded(1);
    io::load_checkpoint(io::SafetensorsFile::read(path), loaded);
    CHECK(std::equal(net.parameters(), net.parameters() + net.parameter_count(), loaded.parameters()));

    Other other(1);
    const std::vector<float> before(other.parameters(), other.parameters() + other.parameter_count());
    CHECK_THROWS_WITH_AS(io::load_checkpoint(io::SafetensorsFile::read(path), other),
                         doctest::Contains("tensor 'fc.weight' has shape [2, 3], the model expects [2, 4]"), Error);
    CHECK(std::equal(before.begin(), before.end(), other.parameters()));  // untouched
    Renamed renamed(1);
    CHECK_THROWS_WITH_AS(io::load_checkpoint(io::SafetensorsFile::read(path), renamed),
                         doctest::Contains("no tensor 'head.weight'"), Error);
    using Smaller = Sequential<Cpu, float, Named<"fc", Linear<3, 2, false>>>;
    Smaller smaller(1);
    CHECK_THROWS_WITH_AS(io::load_checkpoint(io::SafetensorsFile::read(path), smaller),
                         doctest::Contains("unexpected tensor 'fc.bias'"), Error);
    std::filesystem::remove(path);
}

TEST_CASE("read_labelled_csv maps labels and names the line of an unknown one") {
    const auto path = std::filesystem::temp_directory_path() / "strata_labelled.csv";
    {
        std::ofstream file(path);
        file << "textID,text,sentiment\na,\"good, really\",positive\nb,meh,neutral\nc,hm,bored\n";
    }
    const std::vector<std::string> classes{"negative", "neutral", "positive"};
    CHECK_THROWS_WITH_AS(text::read_labelled_csv(path, classes),
                         doctest::Contains("strata_labelled.csv:4: unknown label 'bored'"), Error);
    {
        std::ofstream file(path);
        file << "textID,text,sentiment\na,\"good, really\",positive\nb,meh,neutral\n";
    }
    const auto data = text::read_labelled_csv(path, classes);
    CHECK(data.texts == std::vector<std::string>{"good, really", "meh"});
    CHECK(data.labels == std::vector<std::int32_t>{2, 1});
    std::filesystem::remove(path);
}
