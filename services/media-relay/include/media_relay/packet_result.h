#pragma once

#include <cstdint>

namespace cc::relay {

// Why bytes off the wire were refused. Packet-path parsers report these instead of cc::Error so
// that a flood of garbage costs no allocation.
enum class PacketError : std::uint8_t {
  kTooShort,            // fewer bytes than the fixed header
  kBadVersion,          // RTP version is not 2
  kTruncatedCsrc,       // the CSRC count points past the end
  kTruncatedExtension,  // the header extension points past the end
  kBadPadding,          // padding count is 0 or longer than the payload
};

const char* ToString(PacketError error) noexcept;

// A parsed packet view or the reason it was refused. Never allocates; T must be cheap to copy.
template <typename T>
class [[nodiscard]] PacketResult {
 public:
  constexpr PacketResult(T value) noexcept : value_(value), ok_(true) {}  // NOLINT: implicit
  constexpr PacketResult(PacketError error) noexcept : error_(error) {}   // NOLINT: implicit

  constexpr bool ok() const noexcept { return ok_; }
  constexpr explicit operator bool() const noexcept { return ok_; }
  // Only meaningful when ok().
  constexpr const T& value() const noexcept { return value_; }
  constexpr const T& operator*() const noexcept { return value_; }
  constexpr const T* operator->() const noexcept { return &value_; }
  // Only meaningful when !ok().
  constexpr PacketError error() const noexcept { return error_; }

 private:
  T value_{};
  PacketError error_{};
  bool ok_ = false;
};

}  // namespace cc::relay
