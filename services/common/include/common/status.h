#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace cc {

// Error codes of the domain; they map one to one onto gRPC canonical codes at the boundary.
enum class ErrorCode {
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,
  kAborted,  // optimistic concurrency conflict: retry with fresh data
  kResourceExhausted,
  kUnavailable,  // a dependency (database, bus) is down
  kDeadlineExceeded,
  kInternal,
  kPermissionDenied,  // the caller's role (or the person it names) may not do this
};

const char* ToString(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;
};

inline Error InvalidArgument(std::string m) {
  return {ErrorCode::kInvalidArgument, std::move(m)};
}
inline Error NotFound(std::string m) {
  return {ErrorCode::kNotFound, std::move(m)};
}
inline Error AlreadyExists(std::string m) {
  return {ErrorCode::kAlreadyExists, std::move(m)};
}
inline Error FailedPrecondition(std::string m) {
  return {ErrorCode::kFailedPrecondition, std::move(m)};
}
inline Error Aborted(std::string m) {
  return {ErrorCode::kAborted, std::move(m)};
}
inline Error Unavailable(std::string m) {
  return {ErrorCode::kUnavailable, std::move(m)};
}
inline Error PermissionDenied(std::string m) {
  return {ErrorCode::kPermissionDenied, std::move(m)};
}
inline Error Internal(std::string m) {
  return {ErrorCode::kInternal, std::move(m)};
}

// A value or an error; the return type of every fallible domain and repository call.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<Error>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Ok {};
using Status = Result<Ok>;
inline Status OkStatus() {
  return Ok{};
}

}  // namespace cc

// Propagates the error of a Result-returning expression; binds the value otherwise.
#define CC_CONCAT_INNER(a, b) a##b
#define CC_CONCAT(a, b) CC_CONCAT_INNER(a, b)
#define CC_ASSIGN_OR_RETURN(lhs, expr) \
  CC_ASSIGN_OR_RETURN_IMPL(CC_CONCAT(_res_, __LINE__), lhs, expr)
#define CC_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.error();             \
  lhs = std::move(tmp).value()
#define CC_RETURN_IF_ERROR(expr)       \
  do {                                 \
    auto _st = (expr);                 \
    if (!_st.ok()) return _st.error(); \
  } while (0)
