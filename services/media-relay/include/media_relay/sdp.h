#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "media_relay/g711.h"

namespace cc::relay {

// SDP (RFC 4566) as far as an audio relay cares, and the offer/answer rules (RFC 3264) it
// applies. Parsing is Sofia-SIP's; everything here is plain values, safe to copy across threads.

enum class Direction : std::uint8_t { kSendRecv, kSendOnly, kRecvOnly, kInactive };

std::string_view ToString(Direction direction);
// What an answer says for an offered direction: sendonly <-> recvonly, the others unchanged.
Direction AnswerDirection(Direction offered);

struct Connection {
  std::string address_type = "IP4";  // "IP4" or "IP6"
  std::string address;

  // 0.0.0.0 or ::, the RFC 2543 way of putting a call on hold.
  bool is_unspecified() const;
  friend bool operator==(const Connection&, const Connection&) = default;
};

struct Origin {
  std::string username = "-";
  std::uint64_t session_id = 0;
  std::uint64_t session_version = 0;
  Connection address;

  friend bool operator==(const Origin&, const Origin&) = default;
};

struct RtpMap {
  std::string encoding;  // as written, e.g. "PCMU", "telephone-event"
  std::uint32_t clock_rate = 0;
  std::uint32_t channels = 1;

  friend bool operator==(const RtpMap&, const RtpMap&) = default;
};

struct MediaDescription {
  std::string type = "audio";  // "audio", "video", "image", ...
  std::uint16_t port = 0;      // 0: rejected or disabled stream
  std::string proto = "RTP/AVP";
  std::vector<std::uint8_t> payload_types;  // RTP media, in the offerer's order of preference
  std::vector<std::string> formats;         // non-RTP media (e.g. "t38"); empty for RTP
  std::map<std::uint8_t, RtpMap> rtpmaps;   // static types too, even without an a=rtpmap line
  std::map<std::uint8_t, std::string> fmtps;
  std::optional<std::uint32_t> ptime;          // milliseconds
  Direction direction = Direction::kSendRecv;  // effective: a=<dir> here, else session level
  std::optional<Connection> connection;        // media-level c=
  std::optional<std::uint16_t> rtcp_port;      // a=rtcp

  bool is_rtp() const;  // RTP/AVP, RTP/SAVP, ...
  bool is_audio() const { return type == "audio"; }
  friend bool operator==(const MediaDescription&, const MediaDescription&) = default;
};

struct SessionDescription {
  Origin origin;
  std::string session_name = "-";
  std::optional<Connection> connection;  // session-level c=
  std::optional<Direction> direction;    // session-level a=<dir>
  std::vector<MediaDescription> media;
  // Attribute lines left out as unusable (a malformed a=rtpmap, ...), each with why.
  std::vector<std::string> ignored;

  // The media-level c= of `m` if it has one, else the session's (nullptr if neither).
  const Connection* connection_for(const MediaDescription& m) const;
  friend bool operator==(const SessionDescription&, const SessionDescription&) = default;
};

// Parses with Sofia-SIP's SDP parser. Malformed or unusable SDP (no o=, no c= for a live stream,
// port or payload type out of range, a broken m= line, ...) is INVALID_ARGUMENT with a message
// naming the problem. A malformed a=rtpmap/fmtp/ptime/rtcp line is left out and named in
// `ignored`: the codecs that parse are still usable (a payload type whose a=rtpmap was left
// out is an unknown one), and Negotiate refuses only when nothing usable remains.
Result<SessionDescription> ParseSdp(std::string_view text);

// v/o/s/c/t/a/m lines with CRLF endings. Media-level a=<direction> is always written.
std::string WriteSdp(const SessionDescription& sdp);

// The relay's side of an offer/answer exchange.
struct LocalMedia {
  std::string address;  // where the relay receives this leg's RTP
  std::string address_type = "IP4";
  std::uint16_t port = 0;
  std::uint64_t session_id = 0;
  std::uint64_t session_version = 0;
  std::string username = "-";
  std::string session_name = "cc-media-relay";
};

inline constexpr std::uint8_t kRelayTelephoneEventPayloadType = 101;

// The relay's offer (towards agents): PCMU, PCMA, telephone-event/8000 as 101, ptime 20,
// sendrecv.
SessionDescription BuildOffer(const LocalMedia& local);

// What an answer to a remote offer settled on.
struct NegotiatedAudio {
  std::size_t media_index = 0;  // the offered m= line the relay accepted
  G711Law law = G711Law::kMuLaw;
  std::uint8_t payload_type = 0;
  std::optional<std::uint8_t> telephone_event_payload_type;
  Connection remote;  // where to send RTP
  std::uint16_t remote_rtp_port = 0;
  std::uint16_t remote_rtcp_port = 0;  // a=rtcp, else RTP + 1
  Direction remote_direction = Direction::kSendRecv;
  bool remote_hold = false;  // sendonly/inactive or c=0.0.0.0: the remote end does not listen
  std::optional<std::uint32_t> remote_ptime;
};

struct Negotiation {
  SessionDescription answer;
  NegotiatedAudio audio;
};

// Answers `offer`: the first audio RTP/AVP stream that offers PCMU or PCMA is accepted with
// whichever of the two the offer lists first, plus telephone-event/8000 if offered (same payload
// type); every other m= line is answered with port 0. INVALID_ARGUMENT "no common codec" when
// no stream qualifies.
Result<Negotiation> Negotiate(const SessionDescription& offer, const LocalMedia& local);

}  // namespace cc::relay
