// strata/io/safetensors.hpp — reading and writing the safetensors format.
//
// Format (https://github.com/huggingface/safetensors):
//   bytes [0, 8)       N, the header length, as a little-endian u64
//   bytes [8, 8 + N)   a JSON object (UTF-8), padded at the end with spaces:
//                        {"__metadata__": {"key": "value", ...},            (optional)
//                         "name": {"dtype": "F32", "shape": [2, 3],
//                                  "data_offsets": [begin, end]}, ...}
//   bytes [8 + N, end) the data buffer: each tensor's elements, row-major, little-endian;
//                      data_offsets are relative to the start of this buffer.
// Supported dtypes: F32, F64, I32, I64. Metadata values are strings.
//
// Writing (write_safetensors): tensors are laid out contiguously in the order given; the
// header lists "__metadata__" first (omitted when there is none), then the tensors in that
// order, and is padded with spaces to a multiple of 8 bytes, as the reference
// implementation does. All inputs are validated before anything touches the disk. The write
// is atomic: the bytes go to "PATH.tmp.<pid>.<random>" in the same directory, which is
// written (every write checked), fsync'ed, closed and then renamed onto PATH; on any failure
// the temporary file is removed and strata::Error names PATH. PATH therefore holds either
// its previous content or the complete new file, never a partial one. (Uses POSIX open,
// write, fsync and close: std::ofstream cannot fsync.)
//
// Reading (SafetensorsFile::read / parse) validates the whole file up front: length field,
// header size (at most max_header_bytes), JSON syntax, entry fields and types, dtypes,
// non-negative dimensions, byte size == element count * dtype size, and that the tensors
// tile the data buffer exactly (sorted by offset: no gap, no overlap, nothing left over,
// nothing past the end). Every failure throws strata::Error with a one-line message that
// starts with the file name. A hostile file cannot crash the reader or make it allocate
// more than a small multiple of the file's own size.
// Tensor data is copied out with memcpy, so the buffer needs no particular alignment.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "strata/core/error.hpp"
#include "strata/io/json.hpp"

namespace strata::io {

static_assert(std::endian::native == std::endian::little,
              "strata::io safetensors support assumes a little-endian host");

enum class DType { f32, f64, i32, i64 };

// "F32", "F64", "I32", "I64", as spelled in the header.
constexpr std::string_view dtype_name(DType dtype) noexcept {
    switch (dtype) {
        case DType::f32: return "F32";
        case DType::f64: return "F64";
        case DType::i32: return "I32";
        case DType::i64: return "I64";
    }
    return "?";
}

constexpr std::size_t dtype_size(DType dtype) noexcept {
    switch (dtype) {
        case DType::f32: return 4;
        case DType::f64: return 8;
        case DType::i32: return 4;
        case DType::i64: return 8;
    }
    return 0;
}

// The DType whose elements are T (float, double, std::int32_t, std::int64_t).
template <class T>
inline constexpr DType dtype_of = [] {
    if constexpr (std::is_same_v<T, float>) {
        return DType::f32;
    } else if constexpr (std::is_same_v<T, double>) {
        return DType::f64;
    } else if constexpr (std::is_same_v<T, std::int32_t>) {
        return DType::i32;
    } else {
        static_assert(std::is_same_v<T, std::int64_t>,
                      "safetensors element type must be float, double, int32_t or int64_t");
        return DType::i64;
    }
}();

// A tensor to write: a non-owning view of row-major, little-endian element bytes that must
// stay valid during the write_safetensors call.
struct TensorToWrite {
    std::string name;
    std::vector<std::int64_t> shape;
    DType dtype;
    std::span<const std::byte> data;  // exactly product(shape) * dtype_size(dtype) bytes
};

// Convenience: a TensorToWrite viewing the elements of values (a vector, array or span of
// float, double, int32_t or int64_t), which must outlive the write. Temporaries that own
// their elements are rejected at compile time.
template <std::ranges::contiguous_range Range>
requires std::ranges::borrowed_range<Range> TensorToWrite
tensor_to_write(std::string name, std::vector<std::int64_t> shape, Range&& values) {
    using Element = std::ranges::range_value_t<Range>;
    const std::span<const Element> elements(std::ranges::data(values), std::ranges::size(values));
    return TensorToWrite{std::move(name), std::move(shape), dtype_of<Element>,
                         std::as_bytes(elements)};
}

using SafetensorsMetadata = std::vector<std::pair<std::string, std::string>>;

// What the header says about one tensor. data_begin/data_end are offsets in the data buffer.
struct TensorInfo {
    std::string name;
    DType dtype;
    std::vector<std::int64_t> shape;
    std::size_t data_begin;
    std::size_t data_end;

    std::size_t element_count() const noexcept {
        return (data_end - data_begin) / dtype_size(dtype);
    }
};

namespace detail {

inline std::string format_shape(std::span<const std::int64_t> shape) {
    std::string text = "[";
    for (std::size_t axis = 0; axis < shape.size(); ++axis) {
        if (axis != 0) text += ',';
        text += std::to_string(shape[axis]);
    }
    return text + "]";
}

// Number of elements of shape, or nothing when a dimension is negative or the count
// overflows int64.
inline std::optional<std::int64_t> element_count(std::span<const std::int64_t> shape) noexcept {
    if (std::ranges::any_of(shape, [](std::int64_t dimension) { return dimension < 0; })) return {};
    if (std::ranges::find(shape, 0) != shape.end()) return 0;
    std::int64_t count = 1;
    for (const std::int64_t dimension : shape) {
        if (count > std::numeric_limits<std::int64_t>::max() / dimension) return {};
        count *= dimension;
    }
    return count;
}

// Bytes for count elements of dtype, or nothing on overflow of std::size_t.
inline std::optional<std::size_t> byte_count(std::int64_t count, DType dtype) noexcept {
    const auto unsigned_count = static_cast<std::uint64_t>(count);
    if (unsigned_count > std::numeric_limits<std::size_t>::max() / dtype_size(dtype)) return {};
    return static_cast<std::size_t>(unsigned_count) * dtype_size(dtype);
}

// An open file descriptor for a temporary file that is removed unless commit() succeeds.
class AtomicFileWriter {
public:
    explicit AtomicFileWriter(std::filesystem::path target) : target_(std::move(target)) {
        std::random_device random_source;
        for (int attempt = 0; attempt < 16 && descriptor_ < 0; ++attempt) {
            temporary_ = target_;
            temporary_ +=
                ".tmp." + std::to_string(::getpid()) + "." + std::to_string(random_source());
            descriptor_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
            if (descriptor_ < 0 && errno != EEXIST) break;
        }
        if (descriptor_ < 0) fail("cannot create temporary file " + temporary_.string(), errno);
    }
    AtomicFileWriter(const AtomicFileWriter&) = delete;
    AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
    ~AtomicFileWriter() {
        if (descriptor_ >= 0) ::close(descriptor_);
        if (!committed_) {
            std::error_code ignored;
            std::filesystem::remove(temporary_, ignored);
        }
    }

    void write(std::span<const std::byte> bytes) {
        while (!bytes.empty()) {
            const ::ssize_t written = ::write(descriptor_, bytes.data(), bytes.size());
            if (written < 0 && errno == EINTR) continue;
            if (written <= 0) fail("write failed", written == 0 ? EIO : errno);
            bytes = bytes.subspan(static_cast<std::size_t>(written));
        }
    }

    // fsync, close, rename onto the target, then (best effort) fsync the directory so the
    // rename itself is durable.
    void commit() {
        if (::fsync(descriptor_) != 0) fail("fsync failed", errno);
        const int descriptor = std::exchange(descriptor_, -1);
        if (::close(descriptor) != 0) fail("close failed", errno);
        std::error_code error;
        std::filesystem::rename(temporary_, target_, error);
        if (error) {
            throw Error("cannot write " + target_.string() + ": rename from " +
                        temporary_.string() + " failed: " + error.message());
        }
        committed_ = true;
        std::filesystem::path directory = target_.parent_path();
        if (directory.empty()) directory = ".";
        const int directory_descriptor =
            ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (directory_descriptor >= 0) {
            ::fsync(directory_descriptor);
            ::close(directory_descriptor);
        }
    }

private:
    // error_number is errno, captured by the caller before anything can change it.
    [[noreturn]] void fail(const std::string& what, int error_number) const {
        const std::error_code error(error_number, std::generic_category());
        throw Error("cannot write " + target_.string() + ": " + what + ": " + error.message());
    }

    std::filesystem::path target_;
    std::filesystem::path temporary_;
    int descriptor_ = -1;
    bool committed_ = false;
};

}  // namespace detail

// Writes tensors and metadata to path atomically (see the contract at the top). Throws
// strata::Error naming path (and the tensor, if one is at fault) when a name is empty,
// repeated, "__metadata__" or not UTF-8, a dimension is negative, data has the wrong size,
// a metadata key is repeated or not UTF-8, or the file cannot be written.
inline void write_safetensors(const std::filesystem::path& path,
                              const std::vector<TensorToWrite>& tensors,
                              const SafetensorsMetadata& metadata = {}) {
    const auto fail = [&](const std::string& what) {
        throw Error("cannot write " + path.string() + ": " + what);
    };
    Json header = Json::object();
    if (!metadata.empty()) {
        Json metadata_object = Json::object();
        for (const auto& [key, value] : metadata) {
            if (!is_valid_utf8(key) || !is_valid_utf8(value)) {
                fail("metadata key " + json_escape(key) + " or its value is not valid UTF-8");
            }
            if (metadata_object.contains(key)) {
                fail("metadata key " + json_escape(key) + " repeated");
            }
            metadata_object.set(key, value);
        }
        header.set("__metadata__", std::move(metadata_object));
    }
    std::size_t data_size = 0;
    for (const TensorToWrite& tensor : tensors) {
        const auto fail_tensor = [&](const std::string& what) {
            fail("tensor " + json_escape(tensor.name) + ": " + what);
        };
        if (tensor.name.empty() || tensor.name == "__metadata__" || !is_valid_utf8(tensor.name)) {
            fail_tensor("the name must be non-empty valid UTF-8 other than \"__metadata__\"");
        }
        if (header.contains(tensor.name)) fail_tensor("name repeated");
        const auto count = detail::element_count(tensor.shape);
        const auto bytes = count ? detail::byte_count(*count, tensor.dtype) : std::nullopt;
        if (!bytes) fail_tensor("invalid shape " + detail::format_shape(tensor.shape));
        if (tensor.data.size() != *bytes) {
            fail_tensor("shape " + detail::format_shape(tensor.shape) + " " +
                        std::string(dtype_name(tensor.dtype)) + " needs " + std::to_string(*bytes) +
                        " bytes of data, got " + std::to_string(tensor.data.size()));
        }
        Json shape = Json::array();
        for (const std::int64_t dimension : tensor.shape) shape.push_back(dimension);
        Json offsets = Json::array();
        offsets.push_back(data_size).push_back(data_size + *bytes);
        Json entry = Json::object();
        entry.set("dtype", dtype_name(tensor.dtype))
            .set("shape", std::move(shape))
            .set("data_offsets", std::move(offsets));
        header.set(tensor.name, std::move(entry));
        data_size += *bytes;
    }
    std::string header_text = header.dump();
    header_text.append((8 - header_text.size() % 8) % 8, ' ');

    std::array<std::byte, 8> length_field;
    const std::uint64_t header_length = header_text.size();
    std::memcpy(length_field.data(), &header_length, sizeof header_length);

    detail::AtomicFileWriter writer(path);
    writer.write(length_field);
    writer.write(std::as_bytes(std::span(header_text)));
    for (const TensorToWrite& tensor : tensors) writer.write(tensor.data);
    writer.commit();
}

// Convenience for the common case: float tensors given as (name, shape, values).
struct FloatTensorToWrite {
    std::string name;
    std::vector<std::int64_t> shape;
    std::span<const float> values;
};

inline void write_safetensors_f32(const std::filesystem::path& path,
                                  const std::vector<FloatTensorToWrite>& tensors,
                                  const SafetensorsMetadata& metadata = {}) {
    std::vector<TensorToWrite> views;
    views.reserve(tensors.size());
    for (const FloatTensorToWrite& tensor : tensors) {
        views.push_back(tensor_to_write(tensor.name, tensor.shape, tensor.values));
    }
    write_safetensors(path, views, metadata);
}

// A validated safetensors file held in memory.
class SafetensorsFile {
public:
    static constexpr std::uint64_t max_header_bytes = 100'000'000;

    // Reads and validates the whole file; errors name path.
    static SafetensorsFile read(const std::filesystem::path& path) {
        const std::string file = path.string();
        std::error_code error;
        const std::uintmax_t size = std::filesystem::file_size(path, error);
        if (error) throw Error("cannot read " + file + ": " + error.message());
        std::ifstream stream(path, std::ios::binary);
        if (!stream.is_open()) throw Error("cannot open " + file + " for reading");
        std::vector<std::byte> bytes(static_cast<std::size_t>(size));
        stream.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
        if (stream.gcount() != static_cast<std::streamsize>(size)) {
            throw Error("cannot read " + file + ": got " + std::to_string(stream.gcount()) +
                        " of " + std::to_string(size) + " bytes");
        }
        return parse(std::move(bytes), file);
    }

    // Validates bytes as a safetensors file; errors name source_name.
    static SafetensorsFile parse(std::vector<std::byte> bytes, std::string source_name) {
        SafetensorsFile file;
        file.bytes_ = std::move(bytes);
        file.source_name_ = std::move(source_name);
        file.validate();
        return file;
    }

    const std::string& source_name() const noexcept { return source_name_; }

    const SafetensorsMetadata& metadata() const noexcept { return metadata_; }
    const std::string* metadata_value(std::string_view key) const noexcept {
        for (const auto& [existing_key, value] : metadata_) {
            if (existing_key == key) return &value;
        }
        return nullptr;
    }

    // Tensor names in header order.
    std::vector<std::string> names() const {
        std::vector<std::string> result;
        result.reserve(tensors_.size());
        for (const TensorInfo& tensor : tensors_) result.push_back(tensor.name);
        return result;
    }
    const std::vector<TensorInfo>& tensors() const noexcept { return tensors_; }
    bool contains(std::string_view name) const { return index_.find(name) != index_.end(); }

    // Throws naming the file and the tensor, listing (some of) the names that exist.
    const TensorInfo& info(std::string_view name) const {
        const auto found = index_.find(name);
        if (found != index_.end()) return tensors_[found->second];
        constexpr std::size_t listed = 8;
        std::string existing;
        for (std::size_t position = 0; position < tensors_.size() && position < listed;
             ++position) {
            existing += (position == 0 ? "" : ", ") + tensors_[position].name;
        }
        if (tensors_.size() > listed) {
            existing += ", ... (" + std::to_string(tensors_.size() - listed) + " more)";
        }
        throw Error(source_name_ + " has no tensor '" + std::string(name) + "' (it has: " +
                    (tensors_.empty() ? std::string("no tensors") : existing) + ")");
    }

    // The raw little-endian element bytes of a tensor.
    std::span<const std::byte> bytes(std::string_view name) const {
        const TensorInfo& tensor = info(name);
        return std::span(bytes_).subspan(data_start_ + tensor.data_begin,
                                         tensor.data_end - tensor.data_begin);
    }

    // F32 tensor of exactly expected_shape. Throws, e.g., "tensor 'gru.weight_ih_l0' in
    // FILE has shape [384,64], expected [384,128]".
    std::vector<float> read_f32(std::string_view name,
                                std::span<const std::int64_t> expected_shape) const {
        const TensorInfo& tensor = checked_info(name, DType::f32, expected_shape);
        std::vector<float> values(tensor.element_count());
        copy_out(tensor, std::as_writable_bytes(std::span(values)));
        return values;
    }
    std::vector<float> read_f32(std::string_view name,
                                std::initializer_list<std::int64_t> expected_shape) const {
        return read_f32(name, std::span(expected_shape.begin(), expected_shape.size()));
    }

    // As read_f32, into destination, whose size must be the element count.
    void copy_f32(std::string_view name, std::span<const std::int64_t> expected_shape,
                  std::span<float> destination) const {
        const TensorInfo& tensor = checked_info(name, DType::f32, expected_shape);
        if (destination.size() != tensor.element_count()) {
            throw Error("tensor '" + tensor.name + "' in " + source_name_ + " has " +
                        std::to_string(tensor.element_count()) + " elements, destination holds " +
                        std::to_string(destination.size()));
        }
        copy_out(tensor, std::as_writable_bytes(destination));
    }

    // Typed reads of any shape (the shape is in info(name).shape); dtype must match exactly.
    std::vector<double> read_f64(std::string_view name) const { return read_any<double>(name); }
    std::vector<std::int32_t> read_i32(std::string_view name) const {
        return read_any<std::int32_t>(name);
    }
    std::vector<std::int64_t> read_i64(std::string_view name) const {
        return read_any<std::int64_t>(name);
    }

private:
    SafetensorsFile() = default;

    [[noreturn]] void fail(const std::string& what) const {
        throw Error(source_name_ + ": " + what);
    }

    const TensorInfo& checked_info(std::string_view name, DType dtype,
                                   std::span<const std::int64_t> expected_shape) const {
        const TensorInfo& tensor = info(name);
        check_dtype(tensor, dtype);
        if (!std::ranges::equal(tensor.shape, expected_shape)) {
            throw Error("tensor '" + tensor.name + "' in " + source_name_ + " has shape " +
                        detail::format_shape(tensor.shape) + ", expected " +
                        detail::format_shape(expected_shape));
        }
        return tensor;
    }

    void check_dtype(const TensorInfo& tensor, DType dtype) const {
        if (tensor.dtype != dtype) {
            throw Error("tensor '" + tensor.name + "' in " + source_name_ + " has dtype " +
                        std::string(dtype_name(tensor.dtype)) + ", expected " +
                        std::string(dtype_name(dtype)));
        }
    }

    template <class T>
    std::vector<T> read_any(std::string_view name) const {
        const TensorInfo& tensor = info(name);
        check_dtype(tensor, dtype_of<T>);
        std::vector<T> values(tensor.element_count());
        copy_out(tensor, std::as_writable_bytes(std::span(values)));
        return values;
    }

    void copy_out(const TensorInfo& tensor, std::span<std::byte> destination) const {
        if (!destination.empty()) {
            std::memcpy(destination.data(), bytes_.data() + data_start_ + tensor.data_begin,
                        destination.size());
        }
    }

    static std::optional<DType> parse_dtype(std::string_view name) noexcept {
        for (const DType dtype : {DType::f32, DType::f64, DType::i32, DType::i64}) {
            if (dtype_name(dtype) == name) return dtype;
        }
        return {};
    }

    void validate() {
        if (bytes_.size() < 8) {
            fail("too short for a safetensors file (" + std::to_string(bytes_.size()) +
                 " bytes; truncated before the 8-byte header length)");
        }
        std::uint64_t header_length = 0;
        std::memcpy(&header_length, bytes_.data(), sizeof header_length);
        if (header_length > max_header_bytes) {
            fail("header length " + std::to_string(header_length) + " is absurd (limit " +
                 std::to_string(max_header_bytes) + " bytes); not a safetensors file?");
        }
        if (header_length > bytes_.size() - 8) {
            fail("truncated: header length " + std::to_string(header_length) + " but only " +
                 std::to_string(bytes_.size() - 8) + " bytes follow the length field");
        }
        data_start_ = 8 + static_cast<std::size_t>(header_length);
        const std::string_view header_text(reinterpret_cast<const char*>(bytes_.data() + 8),
                                           static_cast<std::size_t>(header_length));
        Json header;
        try {
            header = Json::parse(header_text);
        } catch (const JsonParseError& error) {
            fail("header is not valid JSON: " + error.reason() + " at file byte " +
                 std::to_string(8 + error.offset()));
        }
        if (!header.is_object()) fail("header JSON is not an object");

        for (const Json::Member& member : header.as_object()) {
            if (member.key == "__metadata__") {
                read_metadata(member.value);
            } else {
                tensors_.push_back(read_tensor_entry(member.key, member.value));
            }
        }
        check_offsets();
        for (std::size_t position = 0; position < tensors_.size(); ++position) {
            index_.emplace(tensors_[position].name, position);
        }
    }

    void read_metadata(const Json& value) {
        if (!value.is_object()) fail("header \"__metadata__\" is not an object");
        for (const Json::Member& entry : value.as_object()) {
            if (!entry.value.is_string()) {
                fail("header \"__metadata__\" value for key " + json_escape(entry.key) +
                     " is not a string");
            }
            metadata_.emplace_back(entry.key, entry.value.as_string());
        }
    }

    TensorInfo read_tensor_entry(const std::string& name, const Json& entry) const {
        const std::string where = "header entry for tensor " + json_escape(name);
        if (!entry.is_object()) fail(where + " is not an object");
        for (const Json::Member& field : entry.as_object()) {
            if (field.key != "dtype" && field.key != "shape" && field.key != "data_offsets") {
                fail(where + " has unknown field " + json_escape(field.key));
            }
        }
        const Json* dtype_field = entry.find("dtype");
        const Json* shape_field = entry.find("shape");
        const Json* offsets_field = entry.find("data_offsets");
        if (dtype_field == nullptr || !dtype_field->is_string()) {
            fail(where + ": missing or non-string \"dtype\"");
        }
        if (shape_field == nullptr || !shape_field->is_array()) {
            fail(where + ": missing or non-array \"shape\"");
        }
        if (offsets_field == nullptr || !offsets_field->is_array() || offsets_field->size() != 2) {
            fail(where + ": missing \"data_offsets\" or not an array [begin, end]");
        }
        TensorInfo tensor{name, DType::f32, {}, 0, 0};
        const auto dtype = parse_dtype(dtype_field->as_string());
        if (!dtype) {
            fail(where + ": unsupported dtype " + json_escape(dtype_field->as_string()) +
                 " (supported: F32, F64, I32, I64)");
        }
        tensor.dtype = *dtype;
        for (const Json& dimension : shape_field->as_array()) {
            if (!dimension.is_integer() || dimension.as_int() < 0) {
                fail(where + ": shape " + shape_field->dump() +
                     " has a dimension that is not a non-negative integer");
            }
            tensor.shape.push_back(dimension.as_int());
        }
        std::array<std::uint64_t, 2> offsets{};
        for (std::size_t position = 0; position < 2; ++position) {
            const Json& offset = offsets_field->as_array()[position];
            if (!offset.is_integer() || offset.as_int() < 0) {
                fail(where + ": data_offsets " + offsets_field->dump() +
                     " are not non-negative integers");
            }
            offsets[position] = static_cast<std::uint64_t>(offset.as_int());
        }
        const std::size_t data_size = bytes_.size() - data_start_;
        if (offsets[0] > offsets[1]) {
            fail(where + ": data_offsets " + offsets_field->dump() + " end before they begin");
        }
        if (offsets[1] > data_size) {
            fail(where + ": data_offsets " + offsets_field->dump() + " out of the data buffer of " +
                 std::to_string(data_size) + " bytes (truncated file?)");
        }
        tensor.data_begin = static_cast<std::size_t>(offsets[0]);
        tensor.data_end = static_cast<std::size_t>(offsets[1]);
        const auto count = detail::element_count(tensor.shape);
        const auto bytes = count ? detail::byte_count(*count, tensor.dtype) : std::nullopt;
        if (!bytes || *bytes != tensor.data_end - tensor.data_begin) {
            fail(where + ": shape " + detail::format_shape(tensor.shape) + " " +
                 std::string(dtype_name(tensor.dtype)) + " does not match the byte size " +
                 std::to_string(tensor.data_end - tensor.data_begin) + " of data_offsets " +
                 offsets_field->dump());
        }
        return tensor;
    }

    // The tensors, sorted by offset, must tile the data buffer exactly.
    void check_offsets() const {
        std::vector<const TensorInfo*> by_offset;
        by_offset.reserve(tensors_.size());
        for (const TensorInfo& tensor : tensors_) by_offset.push_back(&tensor);
        std::ranges::sort(by_offset, [](const TensorInfo* left, const TensorInfo* right) {
            return std::pair(left->data_begin, left->data_end) <
                   std::pair(right->data_begin, right->data_end);
        });
        std::size_t covered = 0;
        for (const TensorInfo* tensor : by_offset) {
            if (tensor->data_begin != covered) {
                fail("data_offsets of tensor " + json_escape(tensor->name) + " start at " +
                     std::to_string(tensor->data_begin) + ", expected " + std::to_string(covered) +
                     (tensor->data_begin < covered ? " (overlap)" : " (gap)"));
            }
            covered = tensor->data_end;
        }
        const std::size_t data_size = bytes_.size() - data_start_;
        if (covered != data_size) {
            fail("data_offsets cover " + std::to_string(covered) +
                 " bytes but the data buffer has " + std::to_string(data_size) +
                 " (trailing bytes)");
        }
    }

    std::vector<std::byte> bytes_;
    std::string source_name_;
    std::size_t data_start_ = 0;
    SafetensorsMetadata metadata_;
    std::vector<TensorInfo> tensors_;                        // header order
    std::map<std::string, std::size_t, std::less<>> index_;  // name -> position in tensors_
};

}  // namespace strata::io
