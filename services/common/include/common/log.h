#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

// Structured logs: one JSON object per line on stderr, e.g.
//   {"ts":"2026-11-25T12:00:00.123Z","level":"info","service":"agent-registry",
//    "instance":"ar-1","msg":"agent created","agent_id":"alice"}
// Thread-safe; a line is written with one write(2).
namespace cc::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

struct Field {
  using Value = std::variant<std::string_view, std::int64_t, double, bool>;
  std::string_view key;
  Value value;
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v ? v : "")) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  template <typename I>
  requires std::is_integral_v<I> Field(std::string_view k, I v)
      : key(k), value(static_cast<std::int64_t>(v)) {}
};

// Call once at startup; before that, logs go out with service "unknown" at info level.
void Configure(std::string service, std::string instance, Level min_level, bool json = true);
bool ParseLevel(std::string_view text, Level* out);
bool Enabled(Level level);

void Write(Level level, std::string_view msg, std::initializer_list<Field> fields = {});
inline void Debug(std::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kDebug, msg, f);
}
inline void Info(std::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kInfo, msg, f);
}
inline void Warn(std::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kWarn, msg, f);
}
inline void Error(std::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kError, msg, f);
}

// Formats one line (without writing it); exposed for tests.
std::string Format(Level level, std::string_view msg, std::initializer_list<Field> fields);
// JSON string escaping, shared with other JSON writers.
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace cc::log
