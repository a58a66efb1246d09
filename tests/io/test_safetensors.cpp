// Tests for strata/io/safetensors.hpp.
#include <doctest/doctest.h>

#include <array>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <sys/resource.h>

#include "strata/io/json.hpp"
#include "strata/io/safetensors.hpp"

namespace io = strata::io;
namespace fs = std::filesystem;

namespace {

// A fresh directory under the system temporary directory, removed with its contents.
class TemporaryDirectory {
public:
    TemporaryDirectory() {
        std::random_device random_source;
        path_ = fs::temp_directory_path() /
                ("strata_test_safetensors_" + std::to_string(random_source()) + "_" +
                 std::to_string(random_source()));
        fs::create_directory(path_);
    }
    TemporaryDirectory(const TemporaryDirectory&) = delete;
    TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
    ~TemporaryDirectory() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    const fs::path& path() const { return path_; }
    fs::path operator/(const std::string& name) const { return path_ / name; }

    std::vector<std::string> entries() const {
        std::vector<std::string> names;
        for (const auto& entry : fs::directory_iterator(path_)) {
            names.push_back(entry.path().filename().string());
        }
        std::ranges::sort(names);
        return names;
    }

private:
    fs::path path_;
};

std::vector<std::byte> read_bytes(const fs::path& path) {
    std::ifstream stream(path, std::ios::binary);
    REQUIRE(stream.is_open());
    std::vector<char> characters((std::istreambuf_iterator<char>(stream)),
                                 std::istreambuf_iterator<char>());
    std::vector<std::byte> bytes(characters.size());
    if (!bytes.empty()) std::memcpy(bytes.data(), characters.data(), characters.size());
    return bytes;
}

void write_bytes(const fs::path& path, std::span<const std::byte> bytes) {
    std::ofstream stream(path, std::ios::binary | std::ios::trunc);
    stream.write(reinterpret_cast<const char*>(bytes.data()),
                 static_cast<std::streamsize>(bytes.size()));
    REQUIRE(stream.good());
}

std::string as_text(std::span<const std::byte> bytes) {
    return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

std::uint64_t read_u64_le(std::span<const std::byte> bytes) {
    std::uint64_t value = 0;
    for (int index = 7; index >= 0; --index) {
        value = (value << 8) | std::to_integer<std::uint64_t>(bytes[index]);
    }
    return value;
}

void write_u64_le(std::span<std::byte> bytes, std::uint64_t value) {
    for (int index = 0; index < 8; ++index) {
        bytes[index] = static_cast<std::byte>(value >> (8 * index));
    }
}

// A safetensors file from a header (padded to a multiple of 8 bytes) and a data buffer.
std::vector<std::byte> make_file(std::string header, std::size_t data_size) {
    header.append((8 - header.size() % 8) % 8, ' ');
    std::vector<std::byte> bytes(8 + header.size() + data_size, std::byte{0x11});
    write_u64_le(bytes, header.size());
    std::memcpy(bytes.data() + 8, header.data(), header.size());
    return bytes;
}

// The message of the strata::Error thrown when reading bytes saved as `name` in directory.
std::string read_error(const TemporaryDirectory& directory, std::span<const std::byte> bytes,
                       const std::string& name = "corrupt.safetensors") {
    const fs::path path = directory / name;
    write_bytes(path, bytes);
    try {
        io::SafetensorsFile::read(path);
    } catch (const strata::Error& error) {
        const std::string message = error.what();
        CHECK_MESSAGE(message.find(path.string()) != std::string::npos, message);
        CHECK_MESSAGE(message.find('\n') == std::string::npos, message);
        return message;
    }
    FAIL("reading the corrupt file did not throw");
    return {};
}

void check_read_error(const TemporaryDirectory& directory, std::span<const std::byte> bytes,
                      const std::string& telling_word) {
    const std::string message = read_error(directory, bytes);
    CHECK_MESSAGE(message.find(telling_word) != std::string::npos,
                  "expected '" << telling_word << "' in: " << message);
}

const std::vector<float> weight_values{1.0f, -2.5f, 3.25f, 0.0f, 1e-7f, 65504.0f};
const std::vector<float> bias_values{0.5f, -0.5f, 0.125f};
const std::vector<double> scale_values{0.1, 1.0 / 3.0};
const std::vector<std::int32_t> count_values{-7, 0, 2147483647};
const std::vector<std::int64_t> index_values{-1, 9007199254740993};
const std::vector<float> no_values{};

std::vector<io::TensorToWrite> sample_tensors() {
    return {io::tensor_to_write("layer.weight", {2, 3}, weight_values),
            io::tensor_to_write("layer.bias", {3}, bias_values),
            io::tensor_to_write("scale", {2, 1}, scale_values),
            io::tensor_to_write("counts", {3}, count_values),
            io::tensor_to_write("indices", {2}, index_values),
            io::tensor_to_write("empty", {0, 4}, no_values)};
}

const io::SafetensorsMetadata sample_metadata{{"format", "pt"},
                                              {"step", "1200"},
                                              {"note",
                                               "gr\xC3\xBC\xC3\x9F"
                                               "e \"quoted\"\n"}};

}  // namespace

TEST_CASE("safetensors: write then read round-trips values, shapes, metadata and order") {
    TemporaryDirectory directory;
    const fs::path path = directory / "model.safetensors";
    io::write_safetensors(path, sample_tensors(), sample_metadata);
    CHECK(directory.entries() == std::vector<std::string>{"model.safetensors"});

    const io::SafetensorsFile file = io::SafetensorsFile::read(path);
    CHECK(file.source_name() == path.string());
    CHECK(file.names() == std::vector<std::string>{"layer.weight", "layer.bias", "scale", "counts",
                                                   "indices", "empty"});
    CHECK(file.metadata() == sample_metadata);
    REQUIRE(file.metadata_value("step") != nullptr);
    CHECK(*file.metadata_value("step") == "1200");
    CHECK(file.metadata_value("missing") == nullptr);
    CHECK(file.contains("scale"));
    CHECK_FALSE(file.contains("scal"));

    const std::array<std::int64_t, 2> weight_shape{2, 3};
    CHECK(file.read_f32("layer.weight", weight_shape) == weight_values);
    CHECK(file.read_f32("layer.bias", {3}) == bias_values);
    CHECK(file.read_f64("scale") == scale_values);
    CHECK(file.read_i32("counts") == count_values);
    CHECK(file.read_i64("indices") == index_values);
    CHECK(file.read_f32("empty", {0, 4}).empty());

    const io::TensorInfo& scale = file.info("scale");
    CHECK(scale.dtype == io::DType::f64);
    CHECK(scale.shape == std::vector<std::int64_t>{2, 1});
    CHECK(scale.element_count() == 2);
    CHECK(file.bytes("layer.bias").size() == 12);

    std::array<float, 6> destination{};
    file.copy_f32("layer.weight", weight_shape, destination);
    CHECK(std::ranges::equal(destination, weight_values));
    std::array<float, 5> too_small{};
    CHECK_THROWS_WITH_AS(file.copy_f32("layer.weight", weight_shape, too_small),
                         doctest::Contains("destination holds 5"), strata::Error);

    // Overwriting replaces the file and leaves nothing else behind.
    io::write_safetensors_f32(path, {{"only", {3}, bias_values}});
    const io::SafetensorsFile rewritten = io::SafetensorsFile::read(path);
    CHECK(rewritten.names() == std::vector<std::string>{"only"});
    CHECK(rewritten.metadata().empty());
    CHECK(rewritten.read_f32("only", {3}) == bias_values);
    CHECK(directory.entries() == std::vector<std::string>{"model.safetensors"});
}

TEST_CASE("safetensors: the file layout is exactly the format") {
    TemporaryDirectory directory;
    const fs::path path = directory / "layout.safetensors";
    io::write_safetensors(path, sample_tensors(), sample_metadata);
    const std::vector<std::byte> bytes = read_bytes(path);
    REQUIRE(bytes.size() >= 8);

    const std::uint64_t header_length = read_u64_le(bytes);
    CHECK(header_length % 8 == 0);
    REQUIRE(8 + header_length <= bytes.size());
    const std::string header_text = as_text(std::span(bytes).subspan(8, header_length));
    const std::size_t json_end = header_text.find_last_not_of(' ') + 1;
    CHECK(header_length - json_end < 8);  // only the padding follows the JSON
    CHECK(header_text.substr(0, json_end) ==
          R"({"__metadata__":{"format":"pt","step":"1200","note":"gr)"
          "\xC3\xBC\xC3\x9F"
          R"(e \"quoted\"\n"},)"
          R"("layer.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
          R"("layer.bias":{"dtype":"F32","shape":[3],"data_offsets":[24,36]},)"
          R"("scale":{"dtype":"F64","shape":[2,1],"data_offsets":[36,52]},)"
          R"("counts":{"dtype":"I32","shape":[3],"data_offsets":[52,64]},)"
          R"("indices":{"dtype":"I64","shape":[2],"data_offsets":[64,80]},)"
          R"("empty":{"dtype":"F32","shape":[0,4],"data_offsets":[80,80]}})");

    const io::Json header = io::Json::parse(header_text);
    CHECK(header["layer.bias"]["data_offsets"].as_array()[0].as_int() == 24);

    // The data buffer is the tensors' raw little-endian bytes, back to back.
    std::vector<std::byte> expected_data;
    for (const io::TensorToWrite& tensor : sample_tensors()) {
        expected_data.insert(expected_data.end(), tensor.data.begin(), tensor.data.end());
    }
    CHECK(expected_data.size() == 80);
    CHECK(bytes.size() == 8 + header_length + expected_data.size());
    CHECK(std::ranges::equal(std::span(bytes).subspan(8 + header_length), expected_data));
    // Spot-check the little-endian encoding: -2.5f is 0xC0200000.
    const std::size_t second_weight = 8 + header_length + 4;
    CHECK(bytes[second_weight + 0] == std::byte{0x00});
    CHECK(bytes[second_weight + 2] == std::byte{0x20});
    CHECK(bytes[second_weight + 3] == std::byte{0xC0});

    // No metadata: the "__metadata__" entry is omitted; no tensors: the header is "{}".
    io::write_safetensors(path, {}, {});
    const std::vector<std::byte> empty = read_bytes(path);
    CHECK(empty.size() == 16);
    CHECK(read_u64_le(empty) == 8);
    CHECK(as_text(std::span(empty).subspan(8)) == "{}      ");
    CHECK(io::SafetensorsFile::read(path).names().empty());
}

TEST_CASE("safetensors: reads a file written by Python") {
    const fs::path path =
        fs::path(STRATA_SOURCE_DIR) / "tests/fixtures/io/python_written.safetensors";
    const io::SafetensorsFile file = io::SafetensorsFile::read(path);
    // Values mirrored from tests/io/make_safetensors_fixture.py.
    CHECK(file.names() == std::vector<std::string>{"encoder.weight", "encoder.bias", "step"});
    CHECK(file.metadata() ==
          io::SafetensorsMetadata{{"format", "pt"},
                                  {"note", "written by make_safetensors_fixture.py"},
                                  {"unicode",
                                   "gr\xC3\xBC\xC3\x9F"
                                   "e \xE2\x9C\x93"}});
    CHECK(file.read_f32("encoder.weight", {2, 3}) ==
          std::vector<float>{0.5f, -1.25f, 3.0f, 0.0f, 1024.0f, -0.0078125f});
    CHECK(file.read_f32("encoder.bias", {3}) == std::vector<float>{1.0f, 2.0f, -3.5f});
    CHECK(file.info("step").shape.empty());
    CHECK(file.read_i64("step") == std::vector<std::int64_t>{123456789012});
}

TEST_CASE("safetensors: typed reads check dtype, shape and name") {
    TemporaryDirectory directory;
    const fs::path path = directory / "typed.safetensors";
    io::write_safetensors(path, sample_tensors(), {});
    const io::SafetensorsFile file = io::SafetensorsFile::read(path);
    const std::string name = path.string();

    const std::string wrong_shape =
        "tensor 'layer.weight' in " + name + " has shape [2,3], expected [3,2]";
    CHECK_THROWS_WITH_AS(file.read_f32("layer.weight", {3, 2}), wrong_shape.c_str(), strata::Error);
    CHECK_THROWS_WITH_AS(file.read_f32("layer.weight", {6}), doctest::Contains("expected [6]"),
                         strata::Error);
    const std::string wrong_dtype = "tensor 'scale' in " + name + " has dtype F64, expected F32";
    CHECK_THROWS_WITH_AS(file.read_f32("scale", {2, 1}), wrong_dtype.c_str(), strata::Error);
    CHECK_THROWS_WITH_AS(file.read_i64("counts"), doctest::Contains("has dtype I32, expected I64"),
                         strata::Error);
    const std::string missing =
        name +
        " has no tensor 'layer.wieght' (it has: layer.weight, layer.bias, scale, "
        "counts, indices, empty)";
    CHECK_THROWS_WITH_AS(file.read_f32("layer.wieght", {2, 3}), missing.c_str(), strata::Error);

    // The list of existing names is abbreviated.
    std::vector<io::TensorToWrite> many;
    for (int index = 0; index < 20; ++index) {
        // (std::string("t") += ...) rather than "t" + ...: g++ 12 at -O3 warns falsely
        // (-Wrestrict) on operator+(const char*, std::string&&).
        std::string tensor_name = "t";
        tensor_name += std::to_string(index);
        many.push_back(io::tensor_to_write(std::move(tensor_name), {1}, std::span(bias_values).first(1)));
    }
    io::write_safetensors(path, many, {});
    CHECK_THROWS_WITH_AS(
        io::SafetensorsFile::read(path).info("x"),
        doctest::Contains("(it has: t0, t1, t2, t3, t4, t5, t6, t7, ... (12 more))"),
        strata::Error);
}

TEST_CASE("safetensors: invalid tensors are rejected before anything is written") {
    TemporaryDirectory directory;
    const fs::path path = directory / "existing.safetensors";
    io::write_safetensors(path, sample_tensors(), sample_metadata);
    const std::vector<std::byte> original = read_bytes(path);

    const auto check_rejected = [&](const std::vector<io::TensorToWrite>& tensors,
                                    const io::SafetensorsMetadata& metadata,
                                    const std::string& telling_word) {
        try {
            io::write_safetensors(path, tensors, metadata);
            FAIL("write_safetensors accepted invalid input");
        } catch (const strata::Error& error) {
            const std::string message = error.what();
            CHECK_MESSAGE(message.find(path.string()) != std::string::npos, message);
            CHECK_MESSAGE(message.find(telling_word) != std::string::npos, message);
        }
        CHECK(read_bytes(path) == original);
        CHECK(directory.entries() == std::vector<std::string>{"existing.safetensors"});
    };
    const auto bias = [&](std::string name, std::vector<std::int64_t> shape) {
        return io::tensor_to_write(std::move(name), std::move(shape), bias_values);
    };
    check_rejected({bias("a", {3}), bias("a", {3})}, {}, "repeated");
    check_rejected({bias("", {3})}, {}, "name");
    check_rejected({bias("__metadata__", {3})}, {}, "name");
    check_rejected({bias("bad\xFF", {3})}, {}, "UTF-8");
    check_rejected({bias("a", {2, 2})}, {}, "needs 16 bytes of data, got 12");
    check_rejected({bias("a", {-3})}, {}, "invalid shape [-3]");
    check_rejected({bias("a", {1LL << 40, 1LL << 40})}, {}, "invalid shape");
    check_rejected({bias("a", {3})}, {{"k", "1"}, {"k", "2"}}, "repeated");
    check_rejected({bias("a", {3})}, {{"k", "\xC0"}}, "UTF-8");
}

TEST_CASE("safetensors: a failed write leaves no partial file and no temporary") {
    TemporaryDirectory directory;

    // Into a directory that does not exist: throws naming the path, creates nothing.
    const fs::path missing_directory = directory / "no_such_directory";
    const fs::path unreachable = missing_directory / "model.safetensors";
    const std::string unreachable_name = unreachable.string();
    CHECK_THROWS_WITH_AS(io::write_safetensors(unreachable, sample_tensors(), {}),
                         doctest::Contains(unreachable_name.c_str()), strata::Error);
    CHECK_FALSE(fs::exists(missing_directory));
    CHECK(directory.entries().empty());

    // A write that fails midway (the file size limit stands in for a full disk): the
    // existing file is untouched and the temporary is removed.
    const fs::path path = directory / "model.safetensors";
    io::write_safetensors_f32(path, {{"small", {3}, bias_values}});
    const std::vector<std::byte> original = read_bytes(path);

    const std::vector<float> large(4096, 1.0f);
    rlimit saved_limit{};
    REQUIRE(getrlimit(RLIMIT_FSIZE, &saved_limit) == 0);
    const auto saved_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit small_limit = saved_limit;
    small_limit.rlim_cur = 1000;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &small_limit) == 0);
    std::string message;
    try {
        io::write_safetensors_f32(path, {{"large", {4096}, large}});
    } catch (const strata::Error& error) {
        message = error.what();
    }
    REQUIRE(setrlimit(RLIMIT_FSIZE, &saved_limit) == 0);
    std::signal(SIGXFSZ, saved_handler);

    CHECK(message.find(path.string()) != std::string::npos);
    CHECK(message.find("write failed") != std::string::npos);
    CHECK(read_bytes(path) == original);
    CHECK(directory.entries() == std::vector<std::string>{"model.safetensors"});
}

TEST_CASE("safetensors: every truncation of a valid file is reported") {
    TemporaryDirectory directory;
    const fs::path path = directory / "valid.safetensors";
    io::write_safetensors(path, sample_tensors(), sample_metadata);
    const std::vector<std::byte> bytes = read_bytes(path);
    for (std::size_t length = 0; length < bytes.size(); ++length) {
        CAPTURE(length);
        check_read_error(directory, std::span(bytes).first(length), "truncated");
    }
}

TEST_CASE("safetensors: corrupt headers are reported with the file name and the problem") {
    TemporaryDirectory directory;
    const fs::path path = directory / "valid.safetensors";
    io::write_safetensors(path, sample_tensors(), sample_metadata);
    const std::vector<std::byte> valid = read_bytes(path);
    const std::uint64_t header_length = read_u64_le(valid);

    SUBCASE("header length") {
        std::vector<std::byte> bytes = valid;
        write_u64_le(bytes, 1ULL << 63);
        check_read_error(directory, bytes, "absurd");
        write_u64_le(bytes, io::SafetensorsFile::max_header_bytes + 1);
        check_read_error(directory, bytes, "absurd");
        write_u64_le(bytes, valid.size() - 7);
        check_read_error(directory, bytes, "truncated");
        write_u64_le(bytes, header_length - 16);  // cuts the JSON
        check_read_error(directory, bytes, "not valid JSON");
        write_u64_le(bytes, header_length - 1);  // drops one padding space: a byte too many in data
        check_read_error(directory, bytes, "trailing bytes");
        write_u64_le(bytes, header_length + 8);  // swallows data into the header
        check_read_error(directory, bytes, "not valid JSON");
    }
    SUBCASE("JSON syntax, with the file offset") {
        std::vector<std::byte> bytes = valid;
        bytes[8 + 1] = std::byte{'x'};  // {x__metadata__"...
        const std::string message = read_error(directory, bytes);
        CHECK(message.find("not valid JSON") != std::string::npos);
        CHECK(message.find("at file byte 9") != std::string::npos);
        check_read_error(directory, make_file("{\"a\":{},}", 0), "not valid JSON");
        check_read_error(directory, make_file("\xFF", 0), "not valid JSON");
        check_read_error(directory, make_file("", 0), "not valid JSON");
        check_read_error(directory, make_file(std::string(1000, '['), 0), "nesting");
    }
    SUBCASE("header structure") {
        const auto entry = [](const std::string& fields) {
            return make_file("{\"t\":{" + fields + "}}", 8);
        };
        check_read_error(directory, make_file("[]", 0), "not an object");
        check_read_error(directory, make_file("{\"t\":[]}", 0), "not an object");
        check_read_error(directory, make_file("{\"a\":1,\"a\":2}", 0), "duplicate");
        check_read_error(directory, entry(R"("shape":[2],"data_offsets":[0,8])"), "dtype");
        check_read_error(directory, entry(R"("dtype":7,"shape":[2],"data_offsets":[0,8])"),
                         "dtype");
        check_read_error(directory, entry(R"("dtype":"F32","data_offsets":[0,8])"), "shape");
        check_read_error(directory, entry(R"("dtype":"F32","shape":2,"data_offsets":[0,8])"),
                         "shape");
        check_read_error(directory, entry(R"("dtype":"F32","shape":[2])"), "data_offsets");
        check_read_error(directory, entry(R"("dtype":"F32","shape":[2],"data_offsets":[0])"),
                         "data_offsets");
        check_read_error(directory, entry(R"("dtype":"F32","shape":[2],"data_offsets":[0,8,9])"),
                         "data_offsets");
        check_read_error(directory, entry(R"("dtype":"F32","shape":[2],"data_offsets":[0,"8"])"),
                         "data_offsets");
        check_read_error(directory,
                         entry(R"("dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1)"),
                         "unknown field");
        check_read_error(directory, entry(R"("dtype":"F16","shape":[4],"data_offsets":[0,8])"),
                         "unsupported dtype \"F16\"");
        check_read_error(directory, entry(R"("dtype":"f32","shape":[2],"data_offsets":[0,8])"),
                         "dtype");
        check_read_error(directory, entry(R"("dtype":"F32","shape":[-2],"data_offsets":[0,8])"),
                         "non-negative");
        check_read_error(directory, entry(R"("dtype":"F32","shape":[2.0],"data_offsets":[0,8])"),
                         "non-negative integer");
        check_read_error(directory, entry(R"("dtype":"F32","shape":[3],"data_offsets":[0,8])"),
                         "does not match");
        check_read_error(directory, entry(R"("dtype":"F64","shape":[2],"data_offsets":[0,8])"),
                         "does not match");
        check_read_error(
            directory,
            entry(R"("dtype":"F32","shape":[9223372036854775807,2],"data_offsets":[0,8])"),
            "does not match");
        check_read_error(directory, entry(R"("dtype":"F32","shape":[2],"data_offsets":[8,0])"),
                         "end before they begin");
        check_read_error(directory, entry(R"("dtype":"F32","shape":[2],"data_offsets":[8,16])"),
                         "out of the data buffer");
        check_read_error(directory, entry(R"("dtype":"F32","shape":[2],"data_offsets":[-8,0])"),
                         "data_offsets");
        check_read_error(directory, entry(R"("dtype":"F32","shape":[1],"data_offsets":[4,8])"),
                         "gap");
        check_read_error(directory, entry(R"("dtype":"F32","shape":[1],"data_offsets":[0,4])"),
                         "trailing bytes");
        check_read_error(directory,
                         make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                   R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                   8),
                         "overlap");
        check_read_error(directory, make_file(R"({"__metadata__":[]})", 0), "__metadata__");
        check_read_error(directory, make_file(R"({"__metadata__":{"k":1}})", 0), "__metadata__");
        check_read_error(directory, make_file("{}", 8), "trailing bytes");
    }
    SUBCASE("parse names the source it was given") {
        CHECK_THROWS_WITH_AS(io::SafetensorsFile::parse(make_file("[]", 0), "in-memory checkpoint"),
                             "in-memory checkpoint: header JSON is not an object", strata::Error);
        CHECK_THROWS_WITH_AS(io::SafetensorsFile::parse({}, "empty buffer"),
                             doctest::Contains("empty buffer: too short"), strata::Error);
    }
    SUBCASE("a missing file") {
        CHECK_THROWS_WITH_AS(io::SafetensorsFile::read(directory / "absent.safetensors"),
                             doctest::Contains("absent.safetensors"), strata::Error);
    }
}

TEST_CASE("safetensors: unaligned data and tensors listed out of offset order are fine") {
    // A header length of 8k + 3 puts the data buffer at an odd file offset, so every element
    // is unaligned; the reference writer never does this, but the format allows it.
    std::string header = R"({"b":{"dtype":"F64","shape":[1],"data_offsets":[4,12]},)"
                         R"("a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})";
    while (header.size() % 8 != 3) header += ' ';
    std::vector<std::byte> bytes(8 + header.size() + 12);
    write_u64_le(bytes, header.size());
    std::memcpy(bytes.data() + 8, header.data(), header.size());
    const std::int32_t a = -123;
    const double b = 2.75;
    std::memcpy(bytes.data() + 8 + header.size(), &a, 4);
    std::memcpy(bytes.data() + 8 + header.size() + 4, &b, 8);
    const io::SafetensorsFile file = io::SafetensorsFile::parse(bytes, "unaligned");
    CHECK(file.names() == std::vector<std::string>{"b", "a"});
    CHECK(file.read_i32("a") == std::vector<std::int32_t>{-123});
    CHECK(file.read_f64("b") == std::vector<double>{2.75});
}

TEST_CASE("safetensors: random corruption never crashes the reader") {
    TemporaryDirectory directory;
    const fs::path path = directory / "valid.safetensors";
    io::write_safetensors(path, sample_tensors(), sample_metadata);
    const std::vector<std::byte> valid = read_bytes(path);
    std::mt19937 random(12345);
    int rejected = 0;
    for (int trial = 0; trial < 3000; ++trial) {
        std::vector<std::byte> bytes = valid;
        const int flips = 1 + static_cast<int>(random() % 4);
        for (int flip = 0; flip < flips; ++flip) {
            // Mostly hit the length field and the header, where the structure is.
            const std::size_t limit =
                (random() % 4 == 0) ? bytes.size() : std::min<std::size_t>(bytes.size(), 64);
            bytes[random() % limit] = static_cast<std::byte>(random());
        }
        try {
            const io::SafetensorsFile file = io::SafetensorsFile::parse(bytes, "fuzzed");
            for (const io::TensorInfo& tensor : file.tensors()) {
                CHECK(file.bytes(tensor.name).size() == tensor.data_end - tensor.data_begin);
            }
        } catch (const strata::Error& error) {
            ++rejected;
            CHECK(std::string(error.what()).starts_with("fuzzed"));
        }
    }
    CHECK(rejected > 0);
}
