// Appends answers as JSON lines to a file of this test process, bounded per kind of answer, in lines and
// in bytes, so that recording costs a map lookup for almost every answer of a load test.
#include "support/answer_record.hpp"

#include <fcntl.h>
#include <strings.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "support/uuid_text.hpp"

namespace flashtix::test {

namespace json = boost::json;

namespace {

// A path's segments that name one of many resources are counted as one shape, so that answers about
// different ids share a kind. Other segments stay (a test that sends odd paths sends a handful of them).
std::string path_shape(std::string_view target) {
  constexpr std::size_t kMaxShownSegment = 64;
  const std::string_view path = target.substr(0, target.find('?'));
  std::string shape;
  std::size_t start = 0;
  while (start < path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    if (!segment.empty()) {
      const bool digits = segment.find_first_not_of("0123456789") == std::string_view::npos;
      shape += '/';
      shape += digits             ? std::string_view("{n}")
               : is_uuid(segment) ? std::string_view("{uuid}")
                                  : segment.substr(0, kMaxShownSegment);
    }
    start = end + 1;
  }
  return shape.empty() ? "/" : shape;
}

std::string header_of(const std::vector<std::pair<std::string, std::string>>& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && ::strncasecmp(key.data(), name.data(), name.size()) == 0) return value;
  }
  return {};
}

// The `code` of a problem document; "" for any other answer.
std::string problem_code(std::string_view content_type, std::string_view body) {
  if (content_type.substr(0, content_type.find(';')) != "application/problem+json") return {};
  boost::system::error_code ec;
  const json::value value = json::parse(body, ec);
  const json::object* object = ec ? nullptr : value.if_object();
  const json::value* code = object != nullptr ? object->if_contains("code") : nullptr;
  return code != nullptr && code->is_string() ? std::string(code->get_string()) : std::string();
}

class Recorder {
 public:
  explicit Recorder(const std::string& directory) {
    std::filesystem::create_directories(directory);
    path_ = directory + "/" + program_invocation_short_name + "-" + std::to_string(::getpid()) + ".jsonl";
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) throw std::runtime_error("cannot open " + path_ + " to record answers: " + std::strerror(errno));
  }
  ~Recorder() { ::close(fd_); }
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  void record(std::string_view method, std::string_view target, int status,
              const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body) {
    const std::string content_type = header_of(headers, "Content-Type");
    std::string kind = std::string(method) + " " + path_shape(target) + " " + std::to_string(status) + " " +
                       problem_code(content_type, body);
    const std::lock_guard lock(mutex_);
    if (stopped_) return;
    int& seen = kinds_[std::move(kind)];
    if (seen >= kMaxRecordsPerKind) return;
    ++seen;

    json::object line{{"test", program_invocation_short_name},
                      {"method", method},
                      {"target", target},
                      {"status", status},
                      {"content_type", content_type}};
    json::array fields;
    for (const auto& [name, value] : headers) fields.push_back(json::array{json::string(name), json::string(value)});
    line["headers"] = std::move(fields);
    if (body.size() <= kMaxRecordedBodyBytes) {
      line["body"] = body;
    } else {
      line["body_bytes"] = body.size();
    }
    std::string text = json::serialize(line) + "\n";
    if (records_ + 1 >= kMaxRecords || bytes_ + text.size() >= kMaxRecordBytes) {
      // The last line: the check says the recording is incomplete rather than pretending it is whole.
      stopped_ = true;
      text = json::serialize(json::object{{"recording_stopped", "past " + std::to_string(kMaxRecords) + " lines or " +
                                                                    std::to_string(kMaxRecordBytes) + " bytes"}}) +
             "\n";
    }
    write_all(text);
    ++records_;
    bytes_ += text.size();
  }

 private:
  void write_all(std::string_view text) {
    while (!text.empty()) {
      const ssize_t written = ::write(fd_, text.data(), text.size());
      if (written < 0 && errno == EINTR) continue;
      if (written <= 0) throw std::runtime_error("writing to " + path_ + " failed: " + std::strerror(errno));
      text.remove_prefix(static_cast<std::size_t>(written));
    }
  }

  std::string path_;
  int fd_ = -1;
  std::mutex mutex_;
  std::unordered_map<std::string, int> kinds_;
  std::size_t records_ = 0;
  std::size_t bytes_ = 0;
  bool stopped_ = false;
};

// Made at the first answer; none when $FLASHTIX_TEST_RECORD_DIR is unset or empty.
Recorder* recorder() {
  static const std::unique_ptr<Recorder> instance = []() -> std::unique_ptr<Recorder> {
    const char* directory = std::getenv("FLASHTIX_TEST_RECORD_DIR");
    if (directory == nullptr || *directory == '\0') return nullptr;
    return std::make_unique<Recorder>(directory);
  }();
  return instance.get();
}

}  // namespace

void record_answer(std::string_view method, std::string_view target, int status,
                   const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body) {
  if (Recorder* to = recorder()) to->record(method, target, status, headers, body);
}

}  // namespace flashtix::test
